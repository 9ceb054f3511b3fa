/** A client entry of clients.yaml that authenticates with client_secret_basic; `fields` adds the rest. */
export function basicClient(
  client_id: string,
  client_secret: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return { client_id, token_endpoint_auth_method: 'client_secret_basic', client_secret, ...fields };
}
