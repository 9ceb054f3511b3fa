import { readdirSync, readFileSync } from 'node:fs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuditTrail } from '../audit/audit-trail.js';
import { CLIENTS, type ClientIndex } from '../clients/client-registry.js';
import { ConfigError } from '../config/config-error.js';
import { LiveConfig } from '../config/live-config.js';
import { RUN_MODE, type RunMode } from '../config/run-mode.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { DemoIdp } from '../demo-idp/demo-idp.js';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { endpointUrl, TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js';
import { InvalidRequest, NotFound, TemporarilyUnavailable } from '../oauth/oauth-error.js';
import { formParamsOf, type TokenRequestParams } from '../oauth/request-params.js';
import { TokenTypes } from '../oauth/token-types.js';
import { describeDemoClients, type DemoClient } from './demo-clients.js';
import { PageTraces, type AuditLine } from './page-traces.js';
import { PEER_CORS_PATHS, peerCorsHeaders, PREFLIGHT_HEADERS } from './peer-cors.js';
import { PlaygroundExplain } from './playground-explain.js';
import { peerOrigin, PLAYGROUND_PATH } from './playground-settings.js';

/** The header a page sends with its token requests to see their audit line afterwards (page-traces.ts). */
export const PAGE_REF_HEADER = 'x-playground-ref';

const WEB_DIR = new URL('./web/', import.meta.url);
const ASSET_NAME = /^[a-z][a-z0-9-]*\.(js|css)$/;
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
const DEMO_SUBJECT = /^[A-Za-z0-9._@:-]{1,64}$/;

/**
 * `/playground` and its helpers (docs/playground.md), on the route table like every other endpoint.
 * The page itself calls the real token endpoint; these routes only serve the page, mint demo tokens
 * (development only), and show a page the audit line and the explanation of its own requests.
 */
@Injectable()
export class PlaygroundRoutes implements RouteProvider {
  private readonly logger = new Logger('Playground');
  private readonly traces = new PageTraces();
  private readonly peer: string | undefined;
  private readonly development: boolean;
  private demoIdp: Promise<DemoIdp> | undefined;
  /** The demo clients as described for the configuration in force (described again after a reload). */
  private demoClients: { readonly of: ClientIndex; readonly described: Promise<DemoClient[]> } | undefined;

  constructor(
    @Inject(SERVER_CONFIG) private readonly server: ServerConfig,
    @Inject(RUN_MODE) private readonly mode: RunMode,
    private readonly live: LiveConfig,
    private readonly explainer: PlaygroundExplain,
    audit: AuditTrail,
  ) {
    this.peer = peerOrigin(server);
    this.development = mode === 'development';
    audit.listen((line) => this.traces.record(line));
  }

  routes(): HttpRoute[] {
    const { page, assets } = loadWebFiles();
    const pageHeaders = this.pageHeaders();
    const json = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };
    const route = (method: 'GET' | 'POST', path: string, handle: HttpRoute['handle']): HttpRoute => ({
      name: 'playground',
      method,
      path: `${PLAYGROUND_PATH}${path}`,
      headers: json,
      handle,
    });
    const routes: HttpRoute[] = [
      {
        name: 'playground',
        method: 'GET',
        path: PLAYGROUND_PATH,
        headers: pageHeaders,
        handle: (_request, reply) => reply.type('text/html; charset=utf-8').send(page),
      },
      // Relative links resolve against /playground, never /playground/.
      {
        name: 'playground',
        method: 'GET',
        path: `${PLAYGROUND_PATH}/`,
        handle: (_request, reply) => reply.code(308).header('location', '../playground').send(),
      },
      ...[...assets].map(([name, body]): HttpRoute => ({
        name: 'playground',
        method: 'GET',
        path: `${PLAYGROUND_PATH}/${name}`,
        headers: { ...SECURITY_HEADERS, 'cache-control': 'no-cache' },
        handle: (_request, reply) => reply.type(CONTENT_TYPES[name.split('.').pop()!]!).send(body),
      })),
      route('GET', '/settings', () => this.settings()),
      route('POST', '/audit', (request) => this.auditLine(formParamsOf(request))),
      route('POST', '/explain', (request) => this.explain(formParamsOf(request))),
    ];
    if (this.development) {
      // The demo IdP's key is public: its tokens and the published demo secrets exist only under start-dev.
      routes.push(route('GET', '/demo', () => this.demo()));
      routes.push(route('POST', '/demo-token', (request) => this.demoToken(formParamsOf(request))));
    }
    if (this.peer !== undefined) routes.push(this.preflight(this.peer));
    return routes;
  }

  hooks(fastify: FastifyInstance): void {
    this.bindPageRequests(fastify);
    if (this.peer !== undefined) this.allowPeer(fastify, this.peer);
    const url = endpointUrl(this.server.issuer, PLAYGROUND_PATH);
    if (this.development) {
      this.logger.log(`playground at ${url}`);
    } else {
      this.logger.warn(
        `PLAYGROUND=on in production: ${url} is served ` +
          '(no demo tokens; explain and audit views only for requests made from the page, without operator detail); ' +
          'turn it off unless you need it',
      );
    }
  }

  /** Token requests carrying a page reference: their audit line is kept for that page. */
  private bindPageRequests(fastify: FastifyInstance): void {
    // Callback hooks, doing nothing for any other request.
    fastify.addHook('onRequest', (request, _reply, done) => {
      const ref = request.headers[PAGE_REF_HEADER];
      if (typeof ref === 'string' && pathOf(request) === TOKEN_ENDPOINT_PATH) this.traces.bind(String(request.id), ref);
      done();
    });
    fastify.addHook('onResponse', (request, _reply, done) => {
      if (request.headers[PAGE_REF_HEADER] !== undefined) this.traces.release(String(request.id));
      done();
    });
  }

  /** CORS for the paired playground's origin only, on the few paths it needs (peer-cors.ts). */
  private allowPeer(fastify: FastifyInstance, peer: string): void {
    fastify.addHook('onSend', async (request, reply, payload) => {
      const path = pathOf(request);
      if (!PEER_CORS_PATHS.includes(path)) return payload;
      void reply.header('vary', 'Origin');
      const headers = peerCorsHeaders(request.headers.origin, path, peer);
      if (headers) void reply.headers(headers);
      return payload;
    });
  }

  /** Fetch §4.8: the peer's POST with Authorization, DPoP and the page reference is preflighted. */
  private preflight(peer: string): HttpRoute {
    return {
      name: 'token',
      method: 'OPTIONS',
      path: TOKEN_ENDPOINT_PATH,
      audited: true,
      handle: (request, reply) => {
        // Anyone else gets what an unserved method at the token endpoint gets.
        if (peerCorsHeaders(request.headers.origin, TOKEN_ENDPOINT_PATH, peer) === undefined) {
          throw new InvalidRequest('the token endpoint accepts POST only', { status: 405, headers: { allow: 'POST' } });
        }
        return reply.code(204).headers(PREFLIGHT_HEADERS).send();
      },
    };
  }

  private settings(): Record<string, unknown> {
    const { server } = this;
    return {
      mode: this.mode,
      issuer: server.issuer,
      token_endpoint: endpointUrl(server.issuer, TOKEN_ENDPOINT_PATH),
      max_chain_depth: server.maxChainDepth,
      peer: server.playgroundPeer ?? null,
      demo: this.development,
    };
  }

  /** The audit line of the page's own request, by the reference only that page knows. */
  private auditLine(params: TokenRequestParams): { line: AuditLine } {
    const line = this.lineOf(params);
    if (this.development) return { line };
    // Production: the operator's reason (upstream URLs, network errors) stays in the operator's log.
    const { reason: _reason, ...shown } = line;
    return { line: shown };
  }

  /**
   * `npm run explain` for a request the page made: only with its reference, only as the client that
   * request authenticated (no second way to test a client secret), only for token exchange.
   */
  private async explain(params: TokenRequestParams): Promise<unknown> {
    const line = this.lineOf(params);
    if (line.grant_type !== TOKEN_EXCHANGE_GRANT) {
      throw new InvalidRequest('explain covers token exchange requests');
    }
    if (params.single('requested_token_type') === TokenTypes.idJag) {
      throw new InvalidRequest('explain covers token exchange for access tokens, not ID-JAG requests');
    }
    if (line.client_authenticated !== true || typeof line.client_id !== 'string') {
      throw new InvalidRequest('explain needs a request whose client authenticated; this one was refused before');
    }
    // A target naming a token-vault connection is decided by the connection's rules, which explain (trust
    // anchors' policy) does not evaluate: it would report a refusal the token endpoint never gave.
    if (typeof line.connection === 'string') {
      throw new InvalidRequest(
        `explain covers trust-anchor policy, not token-vault exchanges: this request was decided by the rules of connection ${line.connection}; its audit line says which rule and why`,
      );
    }
    const subjectToken = params.single('subject_token');
    const subjectTokenType = params.single('subject_token_type');
    if (subjectToken === undefined || subjectTokenType === undefined) {
      throw new InvalidRequest('subject_token and subject_token_type are required');
    }
    const actorToken = params.single('actor_token');
    const actorTokenType = params.single('actor_token_type');
    const requestedTokenType = params.single('requested_token_type');
    const scope = params.single('scope');
    // Every parameter the token endpoint reads, so what it refuses (an actor_token without its type, an
    // unsupported requested_token_type) is explained as refused, not dropped and reported as issued.
    return this.explainer.explain({
      client_id: line.client_id,
      subject: { token: subjectToken, tokenType: subjectTokenType },
      ...(actorToken === undefined && actorTokenType === undefined
        ? {}
        : { actor: { token: actorToken, tokenType: actorTokenType } }),
      ...(requestedTokenType === undefined ? {} : { requested_token_type: requestedTokenType }),
      audience: params.multi('audience'),
      resource: params.multi('resource'),
      ...(scope === undefined ? {} : { scope }),
    });
  }

  private lineOf(params: TokenRequestParams): AuditLine {
    const ref = params.single('ref');
    const line = PageTraces.isRef(ref) ? this.traces.lineOf(ref) : undefined;
    if (!line) {
      throw new NotFound('no audit line for this reference (unknown, expired, or made at another instance)');
    }
    return line;
  }

  private async demo(): Promise<unknown> {
    const clients = this.live.generation.get(CLIENTS);
    if (this.demoClients?.of !== clients) {
      this.demoClients = { of: clients, described: describeDemoClients(clients.clients) };
    }
    return {
      clients: await this.demoClients.described,
      subjects: { user: 'alice', agent: 'agent-1' },
    };
  }

  private async demoToken(params: TokenRequestParams): Promise<{ token: string; token_type: string }> {
    const kind = params.single('kind');
    const sub = params.single('sub');
    if (sub !== undefined && !DEMO_SUBJECT.test(sub)) {
      throw new InvalidRequest('sub must be 1-64 letters, digits or ._@:-');
    }
    const idp = await this.loadDemoIdp();
    switch (kind) {
      case 'user':
        return { token: await idp.userToken(sub), token_type: TokenTypes.accessToken };
      case 'agent':
        return { token: await idp.agentToken(sub), token_type: TokenTypes.jwt };
      case 'id_token': {
        const clientId = params.single('client_id');
        if (clientId !== undefined && !DEMO_SUBJECT.test(clientId)) throw new InvalidRequest('malformed client_id');
        return { token: await idp.idToken(sub, clientId), token_type: TokenTypes.idToken };
      }
      default:
        throw new InvalidRequest('kind must be user, agent or id_token');
    }
  }

  private loadDemoIdp(): Promise<DemoIdp> {
    this.demoIdp ??= DemoIdp.load().catch((error: unknown) => {
      this.demoIdp = undefined;
      throw new TemporarilyUnavailable('the demo IdP key is not available here', {
        detail: `examples/demo-idp: ${(error as Error).message}`,
      });
    });
    return this.demoIdp;
  }

  private pageHeaders(): Record<string, string> {
    const connect = ["'self'", ...(this.peer === undefined ? [] : [this.peer])].join(' ');
    return {
      ...SECURITY_HEADERS,
      'cache-control': 'no-store',
      // No inline script or style, no third party: everything the page runs is served from here.
      'content-security-policy':
        `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; ` +
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
      'x-frame-options': 'DENY',
    };
  }
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The route the request matched: `/oauth/%74oken` is the token endpoint here as for its handler. */
function pathOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? '';
}

/** The page and its scripts and styles, read once: served from memory, and a missing file stops startup. */
function loadWebFiles(): { page: string; assets: Map<string, string> } {
  try {
    const assets = new Map<string, string>();
    for (const name of readdirSync(WEB_DIR)) {
      if (ASSET_NAME.test(name)) assets.set(name, readFileSync(new URL(name, WEB_DIR), 'utf8'));
    }
    return { page: readFileSync(new URL('index.html', WEB_DIR), 'utf8'), assets };
  } catch (error) {
    throw new ConfigError(
      `${WEB_DIR.pathname}: the playground's files cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); rebuild, or set PLAYGROUND=off`,
    );
  }
}
