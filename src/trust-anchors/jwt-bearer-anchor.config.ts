import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';
import { JTI_POLICIES, type JtiPolicy } from '../id-jag/id-jag-anchor.config.js';
import { SCOPE_TOKEN } from '../oauth/scope.js';

/**
 * A trust anchor's `jwt_bearer:` section: this issuer's JWTs (other than ID-JAGs) are accepted as RFC 7523
 * authorization grants, like an Ory Hydra trust relationship. Without the section, they are refused.
 */
export class JwtBearerAnchorConfig {
  /** Accepted `sub` values, as `glob()` patterns of the policy language: `repo:acme/**` (docs/policy.md). */
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsString({ each: true })
  @MinLength(1, { each: true })
  subjects!: string[];

  /** Scopes an assertion from this issuer may lead to (further bounded by the client's `scopes`). */
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @Matches(SCOPE_TOKEN, { each: true, message: 'each value must be an RFC 6749 scope-token' })
  scopes: string[] = [];

  /** Oldest accepted `iat`, and furthest accepted `exp` from now, seconds. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  max_age = 300;

  /** RFC 7523 §3 (jti): `single_use` (default; `jti` then required) or `reusable` until `exp`. */
  @IsOptional()
  @IsIn(JTI_POLICIES)
  jti: JtiPolicy = 'single_use';
}
