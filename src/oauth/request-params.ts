import { InvalidRequest } from './oauth-error.js';

/** Parameters that RFC 8693 / RFC 8707 allow to repeat; every other one must appear at most once. */
const REPEATABLE = new Set(['audience', 'resource']);

/**
 * The parameters of a token request, as parsed from the form body with repetitions preserved.
 * `single()` is the only way to read a single-valued parameter, so a repeated one can never slip
 * through as an array (RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than
 * once"). Empty values count as omitted (RFC 6749 §3.1).
 */
export class TokenRequestParams {
  private constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  static fromFormBody(body: string): TokenRequestParams {
    const values = new Map<string, string[]>();
    for (const [name, value] of formPairs(body)) {
      if (value === '') continue;
      const list = values.get(name);
      if (list) list.push(value);
      else values.set(name, [value]);
    }
    return new TokenRequestParams(values);
  }

  /** Parameters given by name (empty values dropped as from a form): the policy tools' requests. */
  static from(values: Readonly<Record<string, readonly string[]>>): TokenRequestParams {
    return new TokenRequestParams(
      new Map(
        Object.entries(values)
          .map(([name, list]) => [name, list.filter((v) => v !== '')] as const)
          .filter(([, list]) => list.length > 0),
      ),
    );
  }

  single(name: string): string | undefined {
    const list = this.values.get(name);
    if (!list) return undefined;
    if (list.length > 1 && !REPEATABLE.has(name)) throw new InvalidRequest(`parameter ${name} is repeated`);
    return list[0];
  }

  multi(name: string): string[] {
    return [...(this.values.get(name) ?? [])];
  }
}

/**
 * The name-value pairs of an `application/x-www-form-urlencoded` body, exactly as `URLSearchParams`
 * gives them (the WHATWG URL Standard's parser: split on `&`, skip empty sequences, split at the first
 * `=`, `+` is a space, percent-decode, UTF-8 decode with replacement). Faster on the bodies a token
 * endpoint gets: a component with neither `%` nor `+` (a JWT, a base64url SAML assertion) is taken as
 * is, where the standard parser walks it character by character; a component that has them goes through
 * `decodeURIComponent`, and where that refuses (a stray `%`, bytes that are not UTF-8) through
 * `URLSearchParams` itself, whose lenient rules then apply. `form-pairs.spec.ts` checks the equivalence.
 */
export function formPairs(body: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const sequence of body.split('&')) {
    if (sequence === '') continue;
    const eq = sequence.indexOf('=');
    pairs.push(
      eq === -1 ? [formDecode(sequence), ''] : [formDecode(sequence.slice(0, eq)), formDecode(sequence.slice(eq + 1))],
    );
  }
  return pairs;
}

const ESCAPED = /[%+]/;

function formDecode(component: string): string {
  if (!ESCAPED.test(component)) return component;
  try {
    return decodeURIComponent(component.replaceAll('+', ' '));
  } catch {
    return new URLSearchParams(`a=${component}`).get('a')!;
  }
}

/**
 * The request's form parameters, as the one form parser (form-body.ts) left them on the body; any other
 * content type reaches here without them and is refused.
 */
export function formParamsOf(request: { readonly body: unknown }): TokenRequestParams {
  if (!(request.body instanceof TokenRequestParams)) {
    throw new InvalidRequest('the request body must be application/x-www-form-urlencoded');
  }
  return request.body;
}
