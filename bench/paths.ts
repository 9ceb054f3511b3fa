import { randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { generate } from 'selfsigned';
import { generateEs256Key, nowSeconds, signEs256, type Es256Key } from './jwt.js';
import { SamlAssertionPool } from './saml-pool.js';
import { samlAssertionSigner } from './saml-signer.js';
import { ROOT } from './servers.js';
import type { UpstreamIssuer } from './upstream.js';

/**
 * What every path can use: the upstream IdP, where actbridge and the minimal peer listen, and a way to
 * run real exchanges (paths whose subject token is itself the result of exchanges).
 */
export interface BenchEnv {
  readonly upstream: UpstreamIssuer;
  /** A second issuer: another trust domain whose ID-JAGs actbridge redeems (anchor with `id_jag: {}`). */
  readonly partner: UpstreamIssuer;
  /** actbridge's issuer; its token endpoint is `${issuer}/oauth/token`. */
  readonly actbridgeIssuer: string;
  readonly peerTokenEndpoint: string;
  /** The same actbridge configuration run with WORKERS = cores (same ISSUER, another port). */
  readonly workersOrigin: string;
  /** The same configuration served by the build BENCH_BASELINE names (same ISSUER, another port). */
  readonly baselineOrigin: string;
  /** POSTs a form to actbridge's token endpoint; throws unless 200. */
  exchange(form: Record<string, string>, headers?: Record<string, string>): Promise<{ access_token: string }>;
}

/** The requests of one path: a fixed URL and headers, a body per request. */
export interface RequestStream {
  readonly url: string;
  readonly headers: Record<string, string>;
  /** The next request body (called once per request, on the load generator's side). */
  next(): string;
  /** Called before each measured phase with how many requests it may send (e.g. to pre-sign assertions). */
  reserve?(count: number): void | Promise<void>;
  /** Releases what the stream holds (worker threads), after its last phase. */
  close?(): Promise<void>;
}

/** actbridge configuration a path needs; merged into the one instance every path runs against. */
export interface PathConfig {
  readonly clients?: Array<Record<string, unknown>>;
  /** Trust-anchor files: name → content. */
  readonly anchors?: Record<string, Record<string, unknown>>;
}

type ConfigEnv = Pick<BenchEnv, 'upstream' | 'partner' | 'actbridgeIssuer'>;

export interface BenchPath {
  readonly id: string;
  readonly title: string;
  /**
   * 'peer': the minimal peer; 'workers': actbridge with WORKERS = cores; 'baseline': the build named by
   * BENCH_BASELINE (another checkout's dist/main.js); else actbridge in one process.
   */
  readonly server: 'actbridge' | 'peer' | 'workers' | 'baseline';
  config?(env: ConfigEnv): PathConfig | Promise<PathConfig>;
  requests(env: BenchEnv): Promise<RequestStream>;
}

export const TT = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  saml2: 'urn:ietf:params:oauth:token-type:saml2',
  idJag: 'urn:ietf:params:oauth:token-type:id-jag',
} as const;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The resource every issued token is for. */
export const API = 'https://api.example/';

const form = (values: Record<string, string>): string => new URLSearchParams(values).toString();
const tokenEndpoint = (env: BenchEnv): string => `${env.actbridgeIssuer}/oauth/token`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Cycles through pre-built bodies, so no two consecutive requests carry the same token. */
function cycle(bodies: string[]): () => string {
  let i = 0;
  return () => bodies[i++ % bodies.length]!;
}

/** Requests to actbridge's token endpoint as `client`, sending `bodies` in turn. */
function cycling(env: BenchEnv, client: { readonly authorization: string }, bodies: string[]): RequestStream {
  return { url: tokenEndpoint(env), headers: { ...FORM, authorization: client.authorization }, next: cycle(bodies) };
}

/** A client_secret_basic client with a scrypt-hashed secret, as production config holds it. */
export function basicClient(clientId: string, extra: Record<string, unknown> = {}) {
  const secret = `${clientId}-secret-${randomUUID()}`;
  const salt = randomBytes(16);
  // The format of `npm run hash-secret` (README "Clients"), with its default parameters (ln=15, r=8, p=1).
  const hash = scryptSync(secret, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return {
    config: {
      client_id: clientId,
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret_hash: `$scrypt$ln=15,r=8,p=1$${salt.toString('base64url')}$${hash.toString('base64url')}`,
      audiences: [API],
      scopes: ['read', 'write'],
      ...extra,
    },
    authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
  };
}

const upstreamSubjects = (env: ConfigEnv, count: number, sub = 'alice') =>
  Array.from({ length: count }, () => env.upstream.mint({ sub, aud: env.actbridgeIssuer, scope: 'read write' }));

/** The JWT → JWT request, one body for both of its rows (each token new, tokens repeated): they differ in nothing else. */
const jwtJwtBody = (subject: string): string =>
  form({
    grant_type: TOKEN_EXCHANGE,
    subject_token: subject,
    subject_token_type: TT.accessToken,
    audience: API,
    scope: 'read',
  });

const jwtJwt = basicClient('jwt-jwt');
const jwtJwtRepeated = basicClient('jwt-jwt-repeated');
const withActor = basicClient('jwt-jwt-actor');
const chain = [
  basicClient('chain-1', { audiences: ['chain-2'] }),
  basicClient('chain-2', { audiences: ['chain-3'] }),
  basicClient('chain-3', { audiences: ['chain-bench'] }),
  basicClient('chain-bench'),
];
/** The resource authorization server (another trust domain) the ID-JAG path asks for. */
const RESOURCE_AS = 'https://as.resource.example';
const samlClient = basicClient('saml-jwt');
const idJagIssuer = basicClient('xaa-client', {
  audiences: [],
  id_jag: {
    targets: [{ audience: RESOURCE_AS, client_id: 'xaa-client-there', resources: [API], scopes: ['read', 'write'] }],
  },
});
const idJagRedeemer = basicClient('xaa-redeemer', { grant_types: [JWT_BEARER] });
/** The SAML IdP's entity ID. */
const SAML_IDP = 'https://idp.bench.example/saml';

/** Another path's requests, sent to another actbridge process serving the same configuration. */
function servedBy(
  base: string,
  id: string,
  title: string,
  server: 'workers' | 'baseline',
  origin: (env: BenchEnv) => string,
): BenchPath {
  return {
    id,
    title,
    server,
    async requests(env) {
      const single = await PATHS.find((p) => p.id === base)!.requests(env);
      return { ...single, url: `${origin(env)}/oauth/token` };
    },
  };
}

/**
 * The paths measured, in order. Adding a path is one entry: the actbridge configuration it needs and
 * the requests it sends. The minimal peer comes first: every actbridge path is compared with it.
 */
export const PATHS: readonly BenchPath[] = [
  {
    id: 'peer',
    title: 'minimal peer (Fastify + jose, bench/ only)',
    server: 'peer',
    async requests(env) {
      const bodies = upstreamSubjects(env, 64).map((subject) =>
        form({ grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: TT.accessToken, audience: API }),
      );
      return { url: env.peerTokenEndpoint, headers: FORM, next: cycle(bodies) };
    },
  },
  {
    id: 'jwt-jwt',
    title: 'JWT → JWT delegation (client_secret_basic)',
    server: 'actbridge',
    config: () => ({ clients: [jwtJwt.config] }),
    async requests(env) {
      // Each subject token presented once, so every exchange verifies its signature, as the minimal peer
      // does (jwt-jwt-repeated presents the same tokens again). Minted before each phase, not during it.
      let pool: string[] = [];
      return {
        url: tokenEndpoint(env),
        headers: { ...FORM, authorization: jwtJwt.authorization },
        reserve(count) {
          pool = upstreamSubjects(env, count);
        },
        next: () => jwtJwtBody(pool.pop() ?? upstreamSubjects(env, 1)[0]!),
      };
    },
  },
  {
    id: 'jwt-jwt-repeated',
    title: 'JWT → JWT, 64 subject tokens presented in turn (signatures remembered)',
    server: 'actbridge',
    config: () => ({ clients: [jwtJwtRepeated.config] }),
    async requests(env) {
      // A gateway or agent exchanging its users' tokens again and again: from the second time on, each
      // token's signature is remembered (VERIFIED_TOKEN_CACHE) and only its claims are checked.
      return cycling(env, jwtJwtRepeated, upstreamSubjects(env, 64).map(jwtJwtBody));
    },
  },
  servedBy(
    'jwt-jwt',
    'jwt-jwt-workers',
    'JWT → JWT, WORKERS = cores (REDIS_URL)',
    'workers',
    (env) => env.workersOrigin,
  ),
  servedBy(
    'jwt-jwt',
    'jwt-jwt-baseline',
    'JWT → JWT on the baseline build (BENCH_BASELINE)',
    'baseline',
    (env) => env.baselineOrigin,
  ),
  {
    id: 'jwt-jwt-actor',
    title: 'JWT → JWT with an actor token',
    server: 'actbridge',
    config: () => ({ clients: [withActor.config] }),
    async requests(env) {
      const actors = upstreamSubjects(env, 64, 'agent-7');
      const bodies = upstreamSubjects(env, 64).map((subject, i) =>
        form({
          grant_type: TOKEN_EXCHANGE,
          subject_token: subject,
          subject_token_type: TT.accessToken,
          actor_token: actors[i]!,
          actor_token_type: TT.accessToken,
          audience: API,
          scope: 'read',
        }),
      );
      return cycling(env, withActor, bodies);
    },
  },
  {
    id: 'chain-3',
    title: 'subject already three actors deep',
    server: 'actbridge',
    config: () => ({ clients: chain.map((c) => c.config) }),
    async requests(env) {
      // Built through real exchanges: chain-1 → chain-2 → chain-3, each presenting the previous token.
      const bodies: string[] = [];
      for (const subject of upstreamSubjects(env, 8)) {
        let token = subject;
        for (const [i, hop] of chain.slice(0, 3).entries()) {
          ({ access_token: token } = await env.exchange(
            {
              grant_type: TOKEN_EXCHANGE,
              subject_token: token,
              subject_token_type: TT.accessToken,
              audience: chain[i + 1]!.config.client_id,
              scope: 'read',
            },
            { authorization: hop.authorization },
          ));
        }
        bodies.push(
          form({ grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: TT.accessToken, audience: API }),
        );
      }
      return cycling(env, chain[3]!, bodies);
    },
  },
  {
    id: 'saml-jwt',
    title: 'SAML assertion → JWT',
    server: 'actbridge',
    async config() {
      const { certificate } = await samlKeyPair();
      return {
        clients: [samlClient.config],
        // The IdP's signing certificate inline, as `saml.certificates` allows (no metadata fetch).
        anchors: { 'saml-idp': { kind: 'saml', issuer: SAML_IDP, saml: { certificates: [certificate] } } },
      };
    },
    async requests(env) {
      const settings = {
        root: ROOT,
        entityId: SAML_IDP,
        ...(await samlKeyPair()),
        // The AudienceRestriction names actbridge's SAML entity ID (SAML_SP_ENTITY_ID, by default ISSUER).
        audience: env.actbridgeIssuer,
        recipient: tokenEndpoint(env),
        nameId: 'alice@example.com',
        lifetimeSec: 300,
      };
      // Every assertion ID is accepted once (actbridge remembers it): sign a fresh pool before each phase,
      // on every core (worker threads), never during one.
      const signer = new SamlAssertionPool(settings);
      const inline = samlAssertionSigner(settings);
      let pool: string[] = [];
      let shortfall = 0;
      const reportShortfall = () => {
        if (shortfall > 0)
          process.stdout.write(`  (SAML pool ran short: ${shortfall} assertions signed during the phase)\n`);
        shortfall = 0;
      };
      return {
        url: tokenEndpoint(env),
        headers: { ...FORM, authorization: samlClient.authorization },
        async reserve(count) {
          reportShortfall();
          pool = await signer.sign(count);
        },
        next() {
          let assertion = pool.pop();
          if (assertion === undefined) {
            // Still a fresh assertion, but signing here loads the harness during the phase: reported.
            shortfall += 1;
            assertion = Buffer.from(inline(), 'utf8').toString('base64url');
          }
          return form({
            grant_type: TOKEN_EXCHANGE,
            subject_token: assertion,
            subject_token_type: TT.saml2,
            audience: API,
            scope: 'read',
          });
        },
        close() {
          reportShortfall();
          return signer.close();
        },
      };
    },
  },
  servedBy(
    'saml-jwt',
    'saml-jwt-baseline',
    'SAML assertion → JWT on the baseline build (BENCH_BASELINE)',
    'baseline',
    (env) => env.baselineOrigin,
  ),
  {
    id: 'id-token-id-jag',
    title: 'id_token → ID-JAG (token exchange)',
    server: 'actbridge',
    config: () => ({ clients: [idJagIssuer.config] }),
    async requests(env) {
      // ID tokens issued by the upstream IdP to this client (aud = its client_id, typ JWT).
      const bodies = Array.from({ length: 64 }, () =>
        form({
          grant_type: TOKEN_EXCHANGE,
          requested_token_type: TT.idJag,
          subject_token: env.upstream.mintIdToken({ sub: 'alice', aud: idJagIssuer.config.client_id }),
          subject_token_type: TT.idToken,
          audience: RESOURCE_AS,
          resource: API,
          scope: 'read',
        }),
      );
      return cycling(env, idJagIssuer, bodies);
    },
  },
  {
    id: 'id-jag-jwt-bearer',
    title: 'ID-JAG → access token (jwt-bearer)',
    server: 'actbridge',
    config: (env) => ({
      clients: [idJagRedeemer.config],
      // Another trust domain, keys through its discovery; ID-JAGs re-presentable until exp (the draft's default).
      anchors: { partner: { issuer: env.partner.issuer, audiences: [env.actbridgeIssuer], id_jag: {} } },
    }),
    async requests(env) {
      // ID-JAGs for this client minted by the partner domain. Their jti is reusable (id_jag: {}), so a few
      // dozen cycle; minted afresh before each phase, so iat stays within the anchor's max_age (300 s).
      const mint = () =>
        Array.from({ length: 48 }, () => {
          const now = nowSeconds();
          return form({
            grant_type: JWT_BEARER,
            assertion: env.partner.sign(
              {
                iss: env.partner.issuer,
                sub: 'alice',
                aud: env.actbridgeIssuer,
                client_id: idJagRedeemer.config.client_id,
                jti: randomUUID(),
                iat: now,
                exp: now + 240,
                resource: API,
                scope: 'read',
              },
              'oauth-id-jag+jwt',
            ),
          });
        });
      let next = cycle(mint());
      return {
        url: tokenEndpoint(env),
        headers: { ...FORM, authorization: idJagRedeemer.authorization },
        reserve() {
          next = cycle(mint());
        },
        next: () => next(),
      };
    },
  },
  {
    id: 'private-key-jwt',
    title: 'JWT → JWT, private_key_jwt client authentication',
    server: 'actbridge',
    config: () => ({
      clients: [
        {
          client_id: 'pkjwt',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [pkjwtKey().publicJwk] },
          audiences: [API],
          scopes: ['read', 'write'],
        },
      ],
    }),
    async requests(env) {
      const subjects = upstreamSubjects(env, 64);
      // Each assertion is single-use (its jti is remembered): sign them ahead of each phase, not during it.
      const pool: string[] = [];
      let i = 0;
      const assertion = (): string => {
        const now = nowSeconds();
        return signEs256(
          pkjwtKey(),
          { iss: 'pkjwt', sub: 'pkjwt', aud: env.actbridgeIssuer, iat: now, exp: now + 240, jti: randomUUID() },
          'JWT',
        );
      };
      return {
        url: tokenEndpoint(env),
        headers: FORM,
        reserve(count) {
          pool.length = 0;
          for (let n = 0; n < count; n++) pool.push(assertion());
        },
        next: () =>
          form({
            grant_type: TOKEN_EXCHANGE,
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: pool.pop() ?? assertion(),
            subject_token: subjects[i++ % subjects.length]!,
            subject_token_type: TT.accessToken,
            audience: API,
            scope: 'read',
          }),
      };
    },
  },
];

let clientKey: Es256Key | undefined;
/** The private_key_jwt client's key pair (one per harness process). */
function pkjwtKey(): Es256Key {
  return (clientKey ??= generateEs256Key('pkjwt-key'));
}

let samlKeys: Promise<{ certificate: string; privateKey: string }> | undefined;
/** The SAML IdP's throwaway RSA-2048 key and self-signed certificate (PEM; one per harness process). */
function samlKeyPair(): Promise<{ certificate: string; privateKey: string }> {
  return (samlKeys ??= generate([{ name: 'commonName', value: new URL(SAML_IDP).hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
  }).then((pems) => ({ certificate: pems.cert, privateKey: pems.private })));
}
