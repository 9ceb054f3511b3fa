/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** RFC 6749 §3.3 `scope`: scope-tokens separated by single spaces. */
export const SCOPE_LIST = new RegExp(`^${SCOPE_TOKEN.source.slice(1, -1)}( ${SCOPE_TOKEN.source.slice(1, -1)})*$`);
