import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { endpointUrl, TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { XmlRejected } from '../saml/saml-xml.js';
import { storeUnavailable } from '../stores/replay-guard.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { KeysUnavailableError } from '../trust-anchors/remote-jwks.js';
import type { SamlTrustAnchor } from '../trust-anchors/trust-anchor.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import {
  checkAssertion,
  checkDestination,
  openEnvelope,
  readAssertion,
  SamlRejected,
} from '../saml/saml2-assertion.js';
import { verifySamlSignature } from '../saml/saml2-signature.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import { tokenParameter, tokenRejected, tokenUnverifiable } from '../oauth/token-rejection.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { clock } from '../common/clock.js';

/**
 * `urn:ietf:params:oauth:token-type:saml2` (RFC 8693 §3), also the `assertion` of the RFC 7522
 * saml2-bearer grant: a base64url SAML 2.0 Assertion, or a samlp:Response carrying exactly one, from a
 * `kind: saml` trust anchor. Steps: decode; parse strictly (no DOCTYPE, no comments); pick the anchor
 * by the Assertion's Issuer; verify the signature with the anchor's certificates only;
 * check RFC 7522 §3 on the verified XML alone; consume the assertion ID (single use until it expires).
 * The subject is the NameID, in the IdP's namespace.
 */
@Injectable()
export class Saml2Validator implements SubjectTokenValidator {
  readonly tokenType = TokenTypes.saml2;
  private readonly tokenEndpoint: string;
  /** Names of actbridge an AudienceRestriction may carry (rfc7523bis: SP entity ID, issuer, token endpoint). */
  private readonly audiences: readonly string[];

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    private readonly anchors: TrustAnchorRegistry,
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
  ) {
    const { issuer, samlSpEntityId } = server;
    const spEntityId = samlSpEntityId ?? issuer;
    this.tokenEndpoint = endpointUrl(issuer, TOKEN_ENDPOINT_PATH);
    this.audiences = [...new Set([spEntityId, issuer, this.tokenEndpoint])];
  }

  validate(token: string, context: ValidationContext): Promise<ValidatedToken> {
    return rejecting(context, () => this.validateSaml(token, context));
  }

  private async validateSaml(token: string, context: ValidationContext): Promise<ValidatedToken> {
    const envelope = openEnvelope(token);
    const anchor = this.anchors.findSaml(envelope.issuer);
    if (!anchor) {
      throw new SamlRejected(
        'issuer is not trusted',
        `SAML issuer ${JSON.stringify(envelope.issuer.slice(0, 200))} is not trusted`,
      );
    }
    let certificates: readonly string[];
    try {
      certificates = await anchor.certificates();
    } catch (error) {
      if (error instanceof KeysUnavailableError) {
        throw tokenUnverifiable(
          context.role,
          `cannot be verified: ${error.description}`,
          `cannot be verified: ${error.message}`,
        );
      }
      throw error;
    }
    const verified = await verifySamlSignature(envelope, anchor, certificates);
    // An SSO assertion the client received (context.samlServiceProvider) is addressed to the client's
    // SP, not to actbridge; actbridge still issues on its basis, so a ProxyRestriction must allow it.
    const sp = context.samlServiceProvider;
    if (envelope.responseSigned) checkDestination(envelope.response!, this.tokenEndpoint, sp?.acsUrls);

    // From here on, only the Assertion the signature covered is read (no signature-wrapping confusion).
    const facts = readAssertion(verified);
    const verdict = checkAssertion(facts, {
      now: clock.seconds(),
      clockSkew: anchor.clockSkew,
      issuer: anchor.entityId,
      audiences: sp ? [sp.entityId] : this.audiences,
      recipient: this.tokenEndpoint,
      ...(sp && { acsUrls: sp.acsUrls }),
      maxLifetime: anchor.maxAssertionLifetime,
    });
    // SAML Core §2.5.1.6: the audiences tokens issued on this assertion's basis may have (checkAssertion
    // allows at most one ProxyRestriction).
    const proxyAudiences = facts.conditions?.proxyRestrictions[0]?.audiences ?? [];
    const spend = () => this.consumeOnce(anchor, facts.id, verdict.replayUntil, context);
    if (!context.deferSingleUse) await spend();
    const attributes = renamed(facts.attributes, anchor);

    return {
      tokenType: this.tokenType,
      principal: { sub: facts.nameId.value, iss: anchor.entityId },
      anchor,
      claims: flatten(attributes),
      nameId: facts.nameId,
      attributes,
      ...(facts.authn && { authn: facts.authn }),
      ...(proxyAudiences.length > 0 && { proxyAudiences }),
      // An identity assertion carries no authorization of its own: the client's policy bounds the scope.
      scope: undefined,
      expiresAt: verdict.expiresAt,
      act: undefined,
      mayAct: undefined,
      ...(context.deferSingleUse && { spend: () => rejecting(context, spend) }),
    };
  }

  /** RFC 7522 §3 item 6: single use of the assertion ID until it expires; fail closed without the store. */
  private async consumeOnce(
    anchor: SamlTrustAnchor,
    id: string,
    until: number,
    context: ValidationContext,
  ): Promise<void> {
    const key = `saml2:${createHash('sha256').update(`${anchor.entityId}\n${id}`).digest('base64url')}`;
    let fresh: boolean;
    try {
      fresh = await this.replay.consume(key, until);
    } catch (error) {
      throw storeUnavailable(
        `cannot verify single use of the ${tokenParameter(context.role)} right now; retry later`,
        error,
      );
    }
    if (!fresh) throw new SamlRejected('has already been used (assertion ID replay)');
  }
}

/**
 * Attributes keyed by the anchor's claim names (`saml.attributes` renames), the others by their Name. The
 * IdP's value for one attribute must never be read as another's: an unrenamed attribute whose Name is a
 * claim name the anchor gives another attribute refuses the assertion, rather than guessing which is meant.
 */
function renamed(
  attributes: Readonly<Record<string, readonly string[]>>,
  anchor: SamlTrustAnchor,
): Record<string, readonly string[]> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, values]) => {
      const claim = anchor.attributeRenames.get(name);
      if (claim !== undefined) return [claim, values];
      const owner = anchor.attributeClaims.get(name);
      if (owner !== undefined) {
        throw new SamlRejected(
          `has an Attribute named ${name}, a claim name its trust anchor reserves for another attribute (saml.attributes)`,
          `Attribute Name ${JSON.stringify(name)} is the claim name saml.attributes gives ${JSON.stringify(owner)}`,
        );
      }
      return [name, values];
    }),
  );
}

/** Attributes as claims: one value → string, several → array. */
function flatten(attributes: Readonly<Record<string, readonly string[]>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, values]) => [name, values.length === 1 ? values[0] : [...values]]),
  );
}

/** Runs a step of SAML validation, its refusals as the role's token error (tokenRejected). */
async function rejecting<T>(context: ValidationContext, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof SamlRejected || error instanceof XmlRejected) {
      throw tokenRejected(context.role, error.message, error.detail);
    }
    throw error;
  }
}
