import 'reflect-metadata';
import { IsString, Matches } from 'class-validator';
import {
  IsFlag,
  IsIntInRange,
  IsMappingOf,
  IsNameList,
  IsNonEmptyString,
  IsOmittable,
  IsScopeList,
} from '../config/config-validators.js';

/** What a subject matching a rule may obtain, before the client's own policy narrows it further. */
export class PolicyGrantsConfig {
  /** Targets (`audience` / `resource` values) a matching subject may obtain tokens for. */
  @IsNameList({ notEmpty: true })
  audiences!: string[];

  /** Scopes a matching subject may obtain; [] grants none. */
  @IsScopeList()
  scopes!: string[];

  /** Longest lifetime of an issued token, seconds (the client's token_ttl and the subject's exp still apply). */
  @IsOmittable()
  @IsIntInRange(1)
  max_ttl?: number;

  /** Whether an `act` chain in a matching token is believed; default the anchor's trusted_for_chains. */
  @IsFlag()
  trust_chains?: boolean;

  /** CEL string expression forming the issued `sub`; default the token's own subject. */
  @IsOmittable()
  @IsNonEmptyString()
  subject?: string;
}

/** What every rule of a `rules:` list has (an anchor's or a vault connection's): a name and a condition. */
export class RuleConfig {
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  name!: string;

  /** CEL boolean expression over the subject view (the subject token, the client, the actors). */
  @IsNonEmptyString()
  condition!: string;
}

/** One rule of an anchor's `rules:`; the first rule whose condition is true decides. */
export class PolicyRuleConfig extends RuleConfig {
  @IsMappingOf(() => PolicyGrantsConfig)
  grants!: PolicyGrantsConfig;
}
