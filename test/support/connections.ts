/**
 * A token vault connection file to GitHub (discovery none, the secret from GITHUB_CLIENT_SECRET) for our
 * client `client`, connected through `connectClient`, one rule granting `client` the `repo` scope;
 * `fields` replace top-level fields.
 */
export function githubConnection(
  client: string,
  connectClient: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    audiences: ['https://api.github.com'],
    provider: {
      issuer: 'https://github.com',
      discovery: 'none',
      authorization_endpoint: 'https://github.com/login/oauth/authorize',
      token_endpoint: 'https://github.com/login/oauth/access_token',
    },
    client_id: 'Iv1.actbridge',
    client_secret_env: 'GITHUB_CLIENT_SECRET',
    scopes: ['repo'],
    clients: [client],
    connect: { clients: [connectClient], redirect_uris: ['https://app.example/connected'] },
    rules: [{ name: client, condition: `client_id == "${client}"`, scopes: ['repo'] }],
    ...fields,
  };
}
