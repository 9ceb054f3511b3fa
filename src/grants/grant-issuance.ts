import { Inject, Injectable } from '@nestjs/common';
import { clock } from '../common/clock.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { DelegationPolicy, type DecisionInput, type DecisionRequest } from '../delegation/delegation-policy.js';
import type { TokenResponse } from '../oauth/token-response.js';
import type { LineageLink } from '../subject-tokens/revocation-check.js';
import { authenticationContext } from '../subject-tokens/authentication-context.js';
import { AccessTokenIssuer } from './access-token-issuer.js';
import type { GrantContext } from './grant-handler.js';

/**
 * How every grant that issues an access token ends, once it has validated what was presented: the
 * delegation core decides what the client may get, and the access token says exactly that.
 */
@Injectable()
export class GrantIssuance {
  private readonly server: Pick<ServerConfig, 'clockSkew'>;

  constructor(
    private readonly policy: DelegationPolicy,
    private readonly issuer: AccessTokenIssuer,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    this.server = server;
  }

  /**
   * `lineage`: the presented tokens' places (subject first); `issuedTokenType` only for RFC 8693
   * responses; `beforeMint`: what must happen only once the grant is decided and just before the token
   * is minted (spending a single-use assertion, so a refused request does not use it up).
   */
  async issue(
    input: DecisionInput,
    { audit, dpop }: GrantContext,
    lineage: readonly LineageLink[],
    issuedTokenType?: string,
    beforeMint?: () => Promise<void>,
  ): Promise<TokenResponse> {
    const grant = {
      ...this.policy.decide(input, audit),
      authentication: authenticationContext(input.subject, clock.seconds() + this.server.clockSkew),
    };
    await beforeMint?.();
    return this.issuer.issue(grant, { clientId: input.client.client_id, audit, dpop, issuedTokenType, lineage });
  }
}

/** What a request with RFC 8693 targets asks for (`audience`, RFC 8707 `resource`, `scope`), as the delegation core reads it. */
export function decisionRequest(request: {
  readonly audience: readonly string[];
  readonly resource: readonly string[];
  readonly requestedScope: readonly string[] | undefined;
}): DecisionRequest {
  return { audiences: request.audience, resources: request.resource, scope: request.requestedScope };
}
