/**
 * `actbridge/verify`: verify actbridge access tokens at a resource server. See README "Resource servers".
 * The Nest guard is in `actbridge/verify/nest`, so Fastify-only users do not load Nest.
 */
export {
  ActbridgeVerifier,
  createActbridgeVerifier,
  type Actor,
  type ActbridgeVerifierOptions,
  type DpopEvidence,
  type ProofReplayCache,
  type VerifiedAccessToken,
  type VerifyOptions,
} from './actbridge-verifier.js';
export {
  AccessTokenError,
  authenticateChallenge,
  type AccessTokenErrorCode,
  type ChallengeOptions,
} from './access-token-error.js';
export { actbridgeHook } from './fastify.js';
export { type RevocationListOptions } from './revocation-list.js';
export {
  checkResourceRequest,
  type GuardOutcome,
  type RequestLike,
  type ResourceGuardOptions,
} from './resource-request.js';
export { DPOP_SIGNING_ALGORITHMS } from '../dpop/dpop-proof.js';
