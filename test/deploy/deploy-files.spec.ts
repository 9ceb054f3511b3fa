import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import { parse, parseAllDocuments } from 'yaml';
import { envSettingNames } from '../../src/config/server-config.js';
import { loadStsConfig } from '../../src/app/sts-config.js';
import { ROOT } from '../support/server-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * No container engine or cluster runs here, so the deployment files are checked for what can be
 * checked: they parse, every variable they set is a real setting, every probe is a real route, the
 * example configuration loads in production, and the Dockerfile runs the tested artifact's commands.
 */

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DEPLOY = join(ROOT, 'deploy');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function yamlDocs(path: string): Doc[] {
  return parseAllDocuments(read(path)).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJS({ maxAliasCount: 100 }) as Doc;
  });
}

const k8s = readdirSync(join(DEPLOY, 'kubernetes'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => yamlDocs(`deploy/kubernetes/${f}`).map((doc) => ({ file: f, doc })));
const byKind = (kind: string) => k8s.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const deployment = byKind('Deployment')[0]!;
const container = deployment.spec.template.spec.containers[0];
const k8sEnv = new Map<string, Doc>(container.env.map((e: Doc) => [e.name, e]));
const compose = yamlDocs('deploy/compose/compose.yaml')[0]!;
const actbridgeServices = Object.entries(compose.services as Record<string, Doc>).filter(([name]) =>
  name.startsWith('actbridge'),
);
const exampleAnchors = readdirSync(join(DEPLOY, 'example/trust-anchors'));
const dockerfile = read('Dockerfile');

/** Secrets the example anchors read from the environment (introspection client secrets). */
const anchorSecretVars = exampleAnchors.flatMap((f) => {
  const anchor = parse(read(`deploy/example/trust-anchors/${f}`)) as Doc;
  return anchor.introspection?.client_secret_env ? [anchor.introspection.client_secret_env as string] : [];
});
const KNOWN = new Set([...envSettingNames(), ...anchorSecretVars]);

function dockerEnv(): Record<string, string> {
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(dockerfile)![1]!;
  return Object.fromEntries(
    block
      .split(/\\\n|\s+(?=[A-Z_]+=)/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
}

describe('every file parses', () => {
  it.each([
    'deploy/compose/compose.yaml',
    ...readdirSync(join(DEPLOY, 'kubernetes')).map((f) => `deploy/kubernetes/${f}`),
  ])('%s', (file) => {
    expect(yamlDocs(file).length).toBeGreaterThan(0);
  });

  it('kustomization.yaml lists every manifest', () => {
    const kustomization = byKind('Kustomization')[0]!;
    const files = readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });
});

describe('every variable set is an actbridge setting (or a secret an anchor names)', () => {
  it('Kubernetes', () => {
    expect([...k8sEnv.keys()].filter((name) => !KNOWN.has(name))).toEqual([]);
  });

  it.each(actbridgeServices.map(([name]) => name))('compose service %s', (name) => {
    const env = Object.keys(compose.services[name].environment as Doc);
    expect(env.filter((n) => !KNOWN.has(n))).toEqual([]);
  });

  it('Dockerfile', () => {
    expect(Object.keys(dockerEnv()).filter((n) => !KNOWN.has(n))).toEqual([]);
  });
});

describe('the example configuration (deploy/example) starts in production', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'actbridge-deploy-'));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(join(dir, 'signing-key.json'), JSON.stringify(await exportJWK(privateKey)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('with the variables the Kubernetes Deployment sets', () => {
    const env = Object.fromEntries(
      [...k8sEnv.values()].filter((e) => e.value !== undefined).map((e) => [e.name as string, String(e.value)]),
    );
    const config = loadStsConfig(
      {
        ...env,
        TRUST_ANCHORS_DIR: join(DEPLOY, 'example/trust-anchors'),
        CLIENTS_FILE: join(DEPLOY, 'example/clients.yaml'),
        SIGNING_KEYS: join(dir, 'signing-key.json'),
        ...Object.fromEntries(anchorSecretVars.map((name) => [name, 'from-the-secret'])),
      },
      'production',
    );
    expect(config.anchors.map((a) => a.name)).toEqual(exampleAnchors.map((f) => f.replace(/\.yaml$/, '')));
    expect(config.server.issuer).toBe('https://sts.example.com');
  });

  it('the ConfigMaps hold exactly the files of deploy/example', () => {
    const maps = Object.fromEntries(byKind('ConfigMap').map((m) => [m.metadata.name as string, m.data as Doc]));
    expect(maps['actbridge-trust-anchors']).toEqual(
      Object.fromEntries(exampleAnchors.map((f) => [f, read(`deploy/example/trust-anchors/${f}`)])),
    );
    expect(maps['actbridge-clients']).toEqual({ 'clients.yaml': read('deploy/example/clients.yaml') });
  });
});

describe('Kubernetes manifests fit together', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ clients: [] });
  });
  afterAll(async () => app.close());

  it('probes name real routes on the container port', async () => {
    const probes = ['startupProbe', 'livenessProbe', 'readinessProbe'].map((p) => container[p].httpGet as Doc);
    const ports = new Map<string, number>(container.ports.map((p: Doc) => [p.name, p.containerPort]));
    for (const probe of probes) {
      expect(ports.get(probe.port)).toBe(Number(k8sEnv.get('PORT')!.value));
      const response = await fetch(`${app.baseUrl}${probe.path}`);
      expect([200, 503]).toContain(response.status); // a route that answers, ready or not
    }
    expect(probes.find((p) => p === container.readinessProbe.httpGet)!.path).toBe('/health/ready');
  });

  it('pauses before SIGTERM while the endpoints forget the pod, and drains within the grace period', () => {
    // The listener closes at SIGTERM: without the pause, connections still routed to the pod are refused.
    expect(container.lifecycle?.preStop?.exec?.command).toEqual(['sleep', expect.stringMatching(/^[1-9]\d*$/)]);
    const pause = Number(container.lifecycle.preStop.exec.command[1]);
    expect(pause).toBeGreaterThanOrEqual(5);
    const shutdownTimeout = Number(k8sEnv.get('SHUTDOWN_TIMEOUT')?.value ?? 20);
    // The workers' bound is SHUTDOWN_TIMEOUT plus a second for them to report (operations.md).
    expect(pause + shutdownTimeout + 1).toBeLessThan(deployment.spec.template.spec.terminationGracePeriodSeconds);
  });

  it('runs two or more replicas, non-root, kept available by a PodDisruptionBudget', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const labels = deployment.spec.template.metadata.labels as Doc;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const pdb = byKind('PodDisruptionBudget')[0]!;
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(byKind('Service').find((s) => s.metadata.name === 'actbridge')!.spec.selector).toEqual(labels);
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('mounts what the variables point at: anchors and clients from ConfigMaps, keys from the Secret', () => {
    const mounts = new Map<string, string>(container.volumeMounts.map((m: Doc) => [m.mountPath, m.name]));
    const volumes = new Map<string, Doc>(deployment.spec.template.spec.volumes.map((v: Doc) => [v.name, v]));
    const source = (path: string) => volumes.get(mounts.get(path)!)!;
    expect(source(k8sEnv.get('TRUST_ANCHORS_DIR')!.value).configMap.name).toBe('actbridge-trust-anchors');
    const clients = k8sEnv.get('CLIENTS_FILE')!.value as string;
    expect(source(clients.slice(0, clients.lastIndexOf('/'))).configMap.name).toBe('actbridge-clients');
    const keys = source(k8sEnv.get('SIGNING_KEYS')!.value).secret;
    const secret = byKind('Secret').find((s) => s.metadata.name === keys.secretName)!;
    for (const item of keys.items) expect(Object.keys(secret.stringData)).toContain(item.key);
    for (const e of k8sEnv.values()) {
      if (e.valueFrom?.secretKeyRef) {
        expect(e.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
        expect(Object.keys(secret.stringData)).toContain(e.valueFrom.secretKeyRef.key);
      }
    }
    expect(k8sEnv.get('REDIS_URL')!.value).toBe(
      `redis://${byKind('Service').find((s) => s.metadata.name === 'actbridge-redis')!.metadata.name}:6379`,
    );
    const redis = byKind('StatefulSet')[0]!.spec.template.spec.containers[0];
    expect(redis.args.join(' ')).toContain('--appendonly yes');
  });
});

describe('compose', () => {
  it('runs two actbridge instances sharing a persistent Redis, keys as a secret, behind the trusted proxy', () => {
    expect(actbridgeServices).toHaveLength(2);
    for (const [, service] of actbridgeServices) {
      const env = service.environment as Record<string, string>;
      expect(service.secrets).toEqual(['actbridge-keys']);
      expect(env.SIGNING_KEYS).toBe('/run/secrets/actbridge-keys');
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      expect(env.TRUST_PROXY).toBe(compose.services.nginx.networks.actbridge.ipv4_address);
      expect(service.volumes).toEqual([
        `../example/trust-anchors:${env.TRUST_ANCHORS_DIR}:ro`,
        `../example/clients.yaml:${env.CLIENTS_FILE}:ro`,
      ]);
    }
    expect(compose.services.redis.command.join(' ')).toContain('--appendonly yes');
    expect(read('deploy/compose/nginx.conf')).toMatch(/server actbridge-1:8080[\s\S]*server actbridge-2:8080/);
  });

  it('leaves the drain its whole SHUTDOWN_TIMEOUT before SIGKILL (Compose waits 10 s by default)', () => {
    for (const [, service] of actbridgeServices) {
      const env = service.environment as Record<string, string>;
      const grace = /^(\d+)s$/.exec(String(service.stop_grace_period))?.[1];
      expect(Number(grace)).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT ?? 20));
    }
  });
});

describe('Dockerfile', () => {
  it('builds with the artifact script the artifact test runs, and runs it as a non-root user', () => {
    expect(dockerfile).toMatch(/^RUN npm ci --no-audit --no-fund$/m);
    expect(dockerfile).toMatch(/^RUN sh scripts\/build-artifact\.sh \/artifact$/m);
    expect(dockerfile).toMatch(/^COPY --from=build --chown=root:root \/artifact \/app$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["serve"\]$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .* CMD \["node", "dist\/cli\/healthcheck\.js"\]$/m);
  });

  it('uses the Node LTS CI tests on, in both stages', () => {
    const lts = read('.nvmrc').trim();
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual([`node:${lts}-bookworm-slim`, `node:${lts}-bookworm-slim`]);
  });

  it('never sends keys, secrets or local builds to the build context', () => {
    const ignore = read('.dockerignore').split('\n');
    expect(ignore).toContain('*');
    expect(ignore.filter((l) => l.startsWith('!'))).toEqual([
      '!package.json',
      '!package-lock.json',
      '!tsconfig.json',
      '!tsconfig.build.json',
      '!scripts/',
      '!src/',
    ]);
  });
});
