import { Injectable } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { presentedValue, type AuditRecord } from '../audit/audit-record.js';
import type { ClientAuthMethod, ClientConfig } from '../clients/client.config.js';
import { ClientRegistry } from '../clients/client-registry.js';
import { InvalidClient, InvalidRequest } from '../oauth/oauth-error.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import { ClientSecretVerifier, unmatchableSecretHash } from '../clients/client-secret.js';
import { CLIENT_ASSERTION_TYPE_JWT, PrivateKeyJwtVerifier } from './private-key-jwt.js';

/** Said for every credential failure, so a caller cannot tell an unknown client from a wrong secret. */
const AUTH_FAILED = 'client authentication failed';

interface PresentedCredentials {
  readonly method: ClientAuthMethod;
  readonly clientId: string;
  readonly secret?: string;
  readonly assertion?: string;
}

/**
 * Client authentication at the token endpoint (RFC 6749 §2.3): client_secret_basic, client_secret_post
 * or private_key_jwt, exactly one per request, and only the method the client registered.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly secrets = new ClientSecretVerifier();
  /** What a secret presented for no such client (or another method) is checked against; see refuse(). */
  private readonly unmatchable = unmatchableSecretHash();

  constructor(
    private readonly registry: ClientRegistry,
    private readonly privateKeyJwt: PrivateKeyJwtVerifier,
  ) {}

  async authenticate(
    params: TokenRequestParams,
    authorization: string | undefined,
    audit: AuditRecord,
  ): Promise<ClientConfig> {
    const presented = this.presented(params, authorization);
    // Unauthenticated until checked: audited in part, so an unknown id of 100 kB is not a 100 kB line.
    audit.client_id = presentedValue(presented.clientId);

    const client = this.registry.find(presented.clientId);
    if (!client) return this.refuse(presented, 'unknown client');
    if (client.token_endpoint_auth_method !== presented.method) {
      return this.refuse(
        presented,
        `client is registered for ${client.token_endpoint_auth_method}, used ${presented.method}`,
      );
    }
    if (presented.method === 'private_key_jwt') {
      await this.privateKeyJwt.verify(client, presented.assertion!);
    } else {
      const ok = await this.secrets.verify(client.client_id, presented.secret!, {
        plaintext: client.client_secret,
        hash: client.client_secret_hash,
      });
      if (!ok) throw new InvalidClient(AUTH_FAILED, { detail: 'wrong client secret' });
    }
    audit.client_id = client.client_id;
    audit.client_authenticated = true;
    return client;
  }

  /**
   * Refuses credentials that name no client of their method. A presented secret is first checked, in
   * vain, as a wrong secret would be (scrypt): answered at once, the refusal would tell by its time which
   * client_ids exist, which the one description (AUTH_FAILED) is there to hide.
   */
  private async refuse(presented: PresentedCredentials, detail: string): Promise<never> {
    if (presented.secret !== undefined) {
      await this.secrets.verify(presented.clientId, presented.secret, { hash: this.unmatchable });
    }
    throw new InvalidClient(AUTH_FAILED, { detail });
  }

  /** Works out which single method the request used and which client it claims to be. */
  private presented(params: TokenRequestParams, authorization: string | undefined): PresentedCredentials {
    const bodyClientId = params.single('client_id');
    const bodySecret = params.single('client_secret');
    const assertion = params.single('client_assertion');
    const assertionType = params.single('client_assertion_type');
    const basic = authorization === undefined ? undefined : parseBasic(authorization);

    const used = [
      basic && 'Authorization header',
      bodySecret && 'client_secret',
      assertion && 'client_assertion',
    ].filter(Boolean);
    if (used.length > 1) {
      throw new InvalidRequest(`use exactly one client authentication method (got ${used.join(' and ')})`);
    }

    let credentials: PresentedCredentials;
    if (basic) {
      credentials = { method: 'client_secret_basic', clientId: basic.clientId, secret: basic.secret };
    } else if (bodySecret) {
      if (!bodyClientId) throw new InvalidRequest('client_id is required with client_secret');
      credentials = { method: 'client_secret_post', clientId: bodyClientId, secret: bodySecret };
    } else if (assertion) {
      if (assertionType !== CLIENT_ASSERTION_TYPE_JWT) {
        throw new InvalidClient(
          assertionType === undefined
            ? 'client_assertion_type is required with client_assertion'
            : `unsupported client_assertion_type; use ${CLIENT_ASSERTION_TYPE_JWT}`,
        );
      }
      credentials = { method: 'private_key_jwt', clientId: assertionClientId(assertion, bodyClientId), assertion };
    } else {
      throw new InvalidClient('client authentication required', { detail: 'no client credentials presented' });
    }
    // RFC 7521 §4.2 and RFC 6749 §2.3.1: a client_id alongside the credentials must name the same client.
    if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
      throw new InvalidClient('client_id does not match the authenticated client');
    }
    return credentials;
  }
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(client_id) ":" urlencode(secret))`. */
function parseBasic(authorization: string): { clientId: string; secret: string } {
  const match = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(authorization);
  if (!match) {
    throw new InvalidClient(
      /^basic\b/i.test(authorization) ? 'malformed Basic credentials' : 'unsupported Authorization scheme; use Basic',
    );
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new InvalidClient('malformed Basic credentials');
  try {
    const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    if (!clientId || !secret) throw new InvalidClient('malformed Basic credentials');
    return { clientId, secret };
  } catch (error) {
    if (error instanceof InvalidClient) throw error;
    throw new InvalidClient('malformed Basic credentials');
  }
}

/** The client an assertion claims to come from: its `iss` (= `sub`), read before verification to find keys. */
function assertionClientId(assertion: string, bodyClientId: string | undefined): string {
  let iss: unknown;
  try {
    iss = decodeJwt(assertion).iss;
  } catch {
    throw new InvalidClient('client_assertion is not a well-formed JWT');
  }
  if (typeof iss === 'string' && iss.length > 0) return iss;
  if (bodyClientId) return bodyClientId;
  throw new InvalidClient('client_assertion has no iss claim');
}
