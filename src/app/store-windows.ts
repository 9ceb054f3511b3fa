import type { RetentionWindow, StoreWindows } from '../stores/single-use-window.js';
import type { StsConfig } from './sts-config.js';

/**
 * The windows of this configuration, from the checks that consume single-use identifiers: each bounds
 * how far ahead an accepted identifier may expire and keeps it until that expiry plus the clock skew.
 *  - private_key_jwt: exp <= now + CLIENT_ASSERTION_MAX_LIFETIME + skew, kept until exp + skew;
 *  - DPoP (RFC 9449 §11.1): iat <= now + skew, kept until iat + DPOP_PROOF_MAX_AGE + 2 skew;
 *  - SAML (RFC 7522 §3 item 6): NotOnOrAfter <= now + max_assertion_lifetime + skew, kept until + skew;
 *  - single-use jwt-bearer assertions and ID-JAGs: exp <= now + max_age + skew, kept until exp + skew.
 * Revocations last as long as the tokens actbridge issues (MAX_TOKEN_TTL) plus the skew they are
 * accepted with. One second more for Redis's whole-second expiry.
 */
export function storeWindows(config: StsConfig): StoreWindows {
  const { server } = config;
  const skew = server.clockSkew;
  const candidates: RetentionWindow[] = [
    {
      seconds: server.clientAssertionMaxLifetime + 2 * skew,
      basis: `client assertions (CLIENT_ASSERTION_MAX_LIFETIME ${server.clientAssertionMaxLifetime} s + 2 × CLOCK_SKEW)`,
    },
    {
      seconds: server.dpopProofMaxAge + 3 * skew,
      basis: `DPoP proofs (DPOP_PROOF_MAX_AGE ${server.dpopProofMaxAge} s + 3 × CLOCK_SKEW)`,
    },
  ];
  for (const { name, config: anchor } of config.anchors) {
    const anchorSkew = anchor.clock_skew ?? skew;
    if (anchor.kind === 'saml' && anchor.saml) {
      const lifetime = anchor.saml.max_assertion_lifetime;
      candidates.push({
        seconds: lifetime + 2 * anchorSkew,
        basis: `SAML assertions of anchor ${name} (max_assertion_lifetime ${lifetime} s + 2 × clock skew)`,
      });
    }
    for (const [section, label] of [
      [anchor.jwt_bearer, 'jwt_bearer'],
      [anchor.id_jag, 'id_jag'],
    ] as const) {
      if (section?.jti !== 'single_use') continue;
      candidates.push({
        seconds: section.max_age + 2 * anchorSkew,
        basis: `single-use ${label} assertions of anchor ${name} (max_age ${section.max_age} s + 2 × clock skew)`,
      });
    }
  }
  const longest = candidates.reduce((a, b) => (b.seconds > a.seconds ? b : a));
  return {
    replay: { seconds: longest.seconds + 1, basis: longest.basis },
    revocation: {
      seconds: server.maxTokenTtl + skew + 1,
      basis: `issued tokens (MAX_TOKEN_TTL ${server.maxTokenTtl} s + CLOCK_SKEW)`,
    },
  };
}
