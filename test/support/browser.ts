/**
 * A minimal browser for end-to-end flows over real HTTP: a cookie jar (host and path matched, Max-Age and
 * Expires honoured), redirects followed one by one, and HTML forms submitted with their hidden fields.
 * Enough for oidc-provider's development login and consent pages; no scripts, no CSS.
 */

interface Cookie {
  readonly host: string;
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

export interface Page {
  readonly url: URL;
  readonly status: number;
  readonly html: string;
}

export interface NavigateOptions {
  /** A redirect to a URL for which this is true is not followed: that URL is returned as the page. */
  readonly stopAt?: (url: URL) => boolean;
}

export class TestBrowser {
  private cookies: Cookie[] = [];
  /** Every URL requested, in order. */
  readonly visited: URL[] = [];

  /** GETs `url` and follows redirects. */
  navigate(url: string | URL, options: NavigateOptions = {}): Promise<Page> {
    return this.request(new URL(url), { method: 'GET' }, options);
  }

  /** Submits the page's only (or `index`-th) form with its hidden fields plus `fields`. */
  submit(page: Page, fields: Record<string, string>, options: NavigateOptions = {}, index = 0): Promise<Page> {
    const forms = [...page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
    const form = forms[index];
    if (!form) throw new Error(`no form #${index} on ${page.url.href}: ${page.html.slice(0, 300)}`);
    const action = attribute(form[1]!, 'action') ?? page.url.href;
    const method = (attribute(form[1]!, 'method') ?? 'get').toUpperCase();
    const body = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1]!, 'name');
      if (name && attribute(input[1]!, 'type') === 'hidden') body.set(name, attribute(input[1]!, 'value') ?? '');
    }
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    const target = new URL(action, page.url);
    if (method === 'GET') {
      target.search = body.toString();
      return this.request(target, { method: 'GET' }, options);
    }
    return this.request(
      target,
      { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      options,
    );
  }

  private async request(
    start: URL,
    init: { method: string; body?: string; headers?: Record<string, string> },
    { stopAt }: NavigateOptions,
  ): Promise<Page> {
    let url = start;
    let current = init;
    for (let hop = 0; hop < 20; hop++) {
      this.visited.push(url);
      const response = await fetch(url, {
        method: current.method,
        redirect: 'manual',
        headers: { ...current.headers, ...this.cookieHeader(url) },
        ...(current.body === undefined ? {} : { body: current.body }),
      });
      this.store(url, response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.arrayBuffer();
        const next = new URL(location, url);
        if (stopAt?.(next)) return { url: next, status: response.status, html: '' };
        url = next;
        // RFC 9110 §15.4: after a 303 (and, as browsers do, a 302 from a POST) the next request is a GET.
        current = { method: 'GET' };
        continue;
      }
      return { url, status: response.status, html: await response.text() };
    }
    throw new Error(`too many redirects from ${start.href}`);
  }

  private cookieHeader(url: URL): Record<string, string> {
    const matching = this.cookies.filter(
      (c) =>
        c.host === url.host &&
        (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
    );
    return matching.length === 0 ? {} : { cookie: matching.map((c) => `${c.name}=${c.value}`).join('; ') };
  }

  private store(url: URL, headers: string[]): void {
    for (const header of headers) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const attrs = new Map(
        attributes.map((a) => {
          const i = a.indexOf('=');
          return i === -1 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
        }),
      );
      const path = attrs.get('path') || defaultPath(url);
      const maxAge = attrs.get('max-age');
      const expires = attrs.get('expires');
      const expired =
        (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now());
      this.cookies = this.cookies.filter((c) => !(c.host === url.host && c.name === name && c.path === path));
      if (!expired) this.cookies.push({ host: url.host, name, value, path });
    }
  }
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!match) return undefined;
  return decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** RFC 6265 §5.1.4: the request path up to its last slash. */
function defaultPath(url: URL): string {
  const last = url.pathname.lastIndexOf('/');
  return last <= 0 ? '/' : url.pathname.slice(0, last);
}
