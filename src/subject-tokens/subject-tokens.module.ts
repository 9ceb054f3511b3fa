import { Module } from '@nestjs/common';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { VerifiedSignatures } from '../jose/verified-signatures.js';
import { METRICS, type Metrics } from '../observability/metrics.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { AccessTokenValidator } from './access-token.validator.js';
import { IdTokenValidator } from './id-token.validator.js';
import { JwtTokenVerifier } from './jwt-token-verifier.js';
import { JwtValidator } from './jwt.validator.js';
import { OpaqueAccessTokenValidator } from './opaque-access-token.js';
import { RevocationList } from './revocation-check.js';
import { Saml1Validator } from './saml1.validator.js';
import { Saml2Validator } from './saml2.validator.js';
import { SUBJECT_TOKEN_VALIDATORS, type SubjectTokenValidator } from './subject-token-validator.js';
import { SubjectTokenValidators } from './subject-token-validators.js';

/** The token types actbridge accepts as subject or actor tokens: one line per format. */
const VALIDATORS = [JwtValidator, AccessTokenValidator, IdTokenValidator, Saml2Validator, Saml1Validator];

@Module({
  imports: [TrustAnchorsModule],
  providers: [
    {
      provide: VerifiedSignatures,
      inject: [SERVER_CONFIG, { token: METRICS, optional: true }],
      useFactory: (server: ServerConfig, metrics?: Metrics) =>
        new VerifiedSignatures(server.verifiedTokenCache, metrics && ((hit) => metrics.verifiedTokenLookup(hit))),
    },
    JwtTokenVerifier,
    OpaqueAccessTokenValidator,
    ...VALIDATORS,
    {
      provide: SUBJECT_TOKEN_VALIDATORS,
      inject: VALIDATORS,
      useFactory: (...validators: SubjectTokenValidator[]) => validators,
    },
    SubjectTokenValidators,
    RevocationList,
  ],
  exports: [SubjectTokenValidators, JwtTokenVerifier, RevocationList],
})
export class SubjectTokensModule {}
