/** RFC 6749 §5.1 / RFC 8693 §2.2.1 success response. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  /** RFC 6749 §5.1 RECOMMENDED: absent only for an upstream token whose provider gave no lifetime (token vault). */
  readonly expires_in?: number;
  readonly issued_token_type?: string;
  readonly scope?: string;
}
