import { IsIn, IsInt, Max, Min } from 'class-validator';
import { IsOmittable } from '../config/config-validators.js';
import { ID_JAG_PROFILES, type IdJagProfile } from './mcp-profile.js';

export const JTI_POLICIES = ['reusable', 'single_use'] as const;
export type JtiPolicy = (typeof JTI_POLICIES)[number];

/**
 * A trust anchor's `id_jag:` section: this issuer is an IdP whose ID-JAGs actbridge redeems at the
 * jwt-bearer grant (resource authorization server role). Without the section, its ID-JAGs are refused.
 */
export class IdJagAnchorConfig {
  /**
   * `mcp`: this IdP's ID-JAGs are MCP Enterprise-Managed Authorization grants (docs/mcp-ema.md): each
   * must name exactly one `resource`, the MCP server, which becomes the access token's audience.
   */
  @IsOmittable()
  @IsIn(ID_JAG_PROFILES)
  profile?: IdJagProfile;

  /**
   * `reusable` (the draft's default, §4.4.4: the client re-presents the ID-JAG until `exp` to get a new
   * access token) or `single_use` (each `jti` redeemed once, across instances with REDIS_URL).
   */
  @IsOmittable()
  @IsIn(JTI_POLICIES)
  jti: JtiPolicy = 'reusable';

  /** Oldest accepted `iat`, and furthest accepted `exp` from now, seconds. */
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(86400)
  max_age = 300;
}
