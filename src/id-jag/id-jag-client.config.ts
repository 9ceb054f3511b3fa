import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsString, Matches, ValidateNested } from 'class-validator';
import {
  IsIntInRange,
  IsListOf,
  IsOmittable,
  IsScopeList,
  IsSecureUrl,
  IsUniqueList,
} from '../config/config-validators.js';
import { ID_JAG_PROFILES, type IdJagProfile } from './mcp-profile.js';
import { SamlServiceProviderConfig } from './saml-service-provider.config.js';

/**
 * One resource authorization server a client may obtain ID-JAGs for (the XAA policy an admin writes:
 * ID-JAG §4.3 "the IdP decides whether this client may act for this subject towards this
 * audience/resource/scope").
 */
export class IdJagTargetConfig {
  /** The resource AS's issuer identifier (RFC 8414): the `audience` the client sends, the ID-JAG's `aud`. */
  @IsSecureUrl()
  audience!: string;

  /** The client's client_id *at* that resource AS (ID-JAG §3.1 `client_id`; it may differ from ours). */
  @IsString()
  @Matches(/^[\x21-\x7e]{1,200}$/, { message: 'must be 1-200 printable ASCII characters without spaces' })
  client_id!: string;

  /** RFC 8707 resources (resource servers behind that AS) the client may name; empty: none may be named. */
  @IsOmittable()
  @IsUniqueList(
    IsSecureUrl({
      each: true,
      message: 'each value must be an https URL without user info or fragment (http only for loopback)',
    }),
    { max: 50 },
  )
  resources: string[] = [];

  /**
   * Scopes the client may obtain for that AS. Without a requested `scope`, all of them are granted; with
   * none listed, no ID-JAG is issued for it (one without `scope` would set no limit at that AS).
   */
  @IsOmittable()
  @IsScopeList()
  scopes: string[] = [];
}

/** A client's `id_jag:` section: present only for clients allowed to request ID-JAGs. */
export class IdJagClientConfig {
  /**
   * `mcp`: MCP Enterprise-Managed Authorization (docs/mcp-ema.md): every request names exactly one
   * `resource` (the MCP server) besides its `audience`.
   */
  @IsOmittable()
  @IsIn(ID_JAG_PROFILES)
  profile?: IdJagProfile;

  /** The client's SAML service provider, when its users sign in to it by SAML (their assertions are addressed to it); without it, a SAML subject is refused (ID-JAG §4.3.3). */
  @IsOmittable()
  @ValidateNested()
  @Type(() => SamlServiceProviderConfig)
  saml_sp?: SamlServiceProviderConfig;

  /** Lifetime of this client's ID-JAGs, seconds (default ID_JAG_TTL; never beyond the subject's `exp`). */
  @IsOmittable()
  @IsIntInRange(1)
  ttl?: number;

  @IsListOf(() => IdJagTargetConfig, { notEmpty: true })
  targets!: IdJagTargetConfig[];
}
