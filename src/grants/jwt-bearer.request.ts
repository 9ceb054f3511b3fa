import type { TokenRequestParams } from '../oauth/request-params.js';
import { AssertionRequestBase } from './assertion-grant.request.js';

/** The parameters of an RFC 7523 §2.1 request (plus RFC 8707 `resource`), and nothing else. */
export class JwtBearerRequest extends AssertionRequestBase {
  static from(params: TokenRequestParams): JwtBearerRequest {
    return AssertionRequestBase.read(new JwtBearerRequest(), params);
  }
}
