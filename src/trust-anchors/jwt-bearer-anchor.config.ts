import { IsIn } from 'class-validator';
import { JTI_POLICIES, type JtiPolicy } from '../id-jag/id-jag-anchor.config.js';
import { IsIntInRange, IsNameList, IsOmittable, IsScopeList } from '../config/config-validators.js';

/**
 * A trust anchor's `jwt_bearer:` section: this issuer's JWTs (other than ID-JAGs) are accepted as RFC 7523
 * authorization grants, like an Ory Hydra trust relationship. Without the section, they are refused.
 */
export class JwtBearerAnchorConfig {
  /** Accepted `sub` values, as `glob()` patterns of the policy language: `repo:acme/**` (docs/policy.md). */
  @IsNameList({ notEmpty: true })
  subjects!: string[];

  /** Scopes an assertion from this issuer may lead to (further bounded by the client's `scopes`). */
  @IsOmittable()
  @IsScopeList()
  scopes: string[] = [];

  /** Oldest accepted `iat`, and furthest accepted `exp` from now, seconds. */
  @IsOmittable()
  @IsIntInRange(1, 86400)
  max_age = 300;

  /** RFC 7523 §3 (jti): `single_use` (default; `jti` then required) or `reusable` until `exp`. */
  @IsOmittable()
  @IsIn(JTI_POLICIES)
  jti: JtiPolicy = 'single_use';
}
