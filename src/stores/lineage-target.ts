import { rootKey, subjectKey } from './lineage-keys.js';

/** What an operator names to revoke or inspect: a `jti` of actbridge's, or an upstream root or subject. */
export interface LineageTargetParams {
  readonly jti?: string;
  readonly rootIssuer?: string;
  readonly rootJti?: string;
  readonly sub?: string;
}

export interface LineageTarget {
  /** The key in the lineage graph. */
  readonly key: string;
  /** Set when the target is a token actbridge issued. */
  readonly jti?: string;
}

/** The lineage key named by exactly one of: `jti`; `root issuer` + `root jti`; `root issuer` + `sub`. A string: what is wrong. */
export function lineageTarget({ jti, rootIssuer, rootJti, sub }: LineageTargetParams): LineageTarget | string {
  const forms = [
    jti !== undefined,
    rootIssuer !== undefined && rootJti !== undefined,
    rootIssuer !== undefined && sub !== undefined,
  ];
  const extra = rootIssuer === undefined && (rootJti !== undefined || sub !== undefined);
  if (forms.filter(Boolean).length !== 1 || extra || (jti !== undefined && rootIssuer !== undefined)) {
    return 'name exactly one of: jti; root_issuer with root_jti; root_issuer with sub';
  }
  if ([jti, rootIssuer, rootJti, sub].some((value) => value === '')) return 'empty values are not accepted';
  if (jti !== undefined) return { key: jti, jti };
  return { key: rootJti !== undefined ? rootKey(rootIssuer!, rootJti) : subjectKey(rootIssuer!, sub!) };
}
