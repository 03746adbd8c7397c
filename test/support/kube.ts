// A real Kubernetes API server for tests of `serve export kubernetes`: etcd and kube-apiserver on
// loopback, random free ports, a temporary directory; everything is removed by stop(). Only the
// API server runs (no controller manager, scheduler or kubelet), so nothing is reconciled or
// scheduled: objects are validated, defaulted, admitted and stored, which is what an export
// test needs (server-side dry runs, strict field validation, round trips).
//
// The binaries come from scripts/ensure-kube.sh (etcd from Debian, kube-apiserver and kustomize
// built from the Go module proxy and cached outside the repository). When they are missing,
// startKubeApiServer and kustomizeBuild throw with the command to run: these tests never skip.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { parseAllDocuments } from 'yaml';

export { SERVICE_MONITOR_CRD, SERVICE_MONITOR_SCHEMA } from './kube-crds.js';
export { VALIDATED_KINDS, validateKubernetesObject } from './kube-validate.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A Kubernetes object as sent to or read from the API server. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

export interface ApplyOptions {
  /** `dryRun=All`: the server validates, defaults and admits the object but stores nothing. */
  dryRun?: boolean;
  /** The server-side apply field manager (default `inferstack-test`). */
  fieldManager?: string;
  /** Take over fields owned by another manager instead of failing with a conflict. */
  force?: boolean;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:PORT` (self-signed; `request` trusts exactly that certificate). */
  readonly url: string;
  /** Bearer token of a `system:masters` user. Never print it. */
  readonly token: string;
  /** The server's version as it reports it (`v1.34.0`). */
  readonly version: string;
  /** The server's self-signed certificate (PEM), to trust it in another client. */
  readonly ca: Buffer;
  /** The temporary directory of etcd's data, keys, certificates and the logs; removed by stop(). */
  readonly dir: string;
  /**
   * Server-side apply (PATCH, `application/apply-patch+yaml`) with `fieldValidation=Strict`: an
   * unknown field is always an error in an apply patch (answered with 500 by Kubernetes 1.34, a
   * known upstream bug; the message names the field), Strict also rejects duplicate fields.
   * Namespaced objects without a namespace go to `default`. Resolves to the object as the server
   * returns it; rejects with KubeApiError.
   */
  apply(obj: KubeObject, options?: ApplyOptions): Promise<KubeObject>;
  /**
   * Create (POST) with `fieldValidation=Strict`, as a client-side `kubectl apply` creates a new
   * object: an unknown field is a 400 `strict decoding error`. Rejects with KubeApiError (409 when
   * the object exists).
   */
  create(obj: KubeObject, options?: Pick<ApplyOptions, 'dryRun' | 'fieldManager'>): Promise<KubeObject>;
  /** The stored object, or undefined when there is none (404). */
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined>;
  /** Delete an object; resolves false when there was none. */
  delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean>;
  /** Apply a CustomResourceDefinition and wait until its kinds are served. */
  installCrd(crd: KubeObject): Promise<void>;
  /** A raw request; `body` is sent as JSON unless `contentType` says otherwise. */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse>;
  /** Stop the API server and etcd and remove their directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface KubeResponse {
  status: number;
  body: unknown;
}

/** A non-2xx answer of the API server; `message` is the server's own (its Status message). */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const answer = body as { message?: string; reason?: string } | undefined;
    super(`${method} ${path} → ${status} ${answer?.reason ?? ''}: ${answer?.message ?? JSON.stringify(body)}`);
    this.name = 'KubeApiError';
  }
}

export interface KubeBinaries {
  etcd: string;
  kubeApiserver: string;
  kustomize: string;
}

/**
 * The etcd, kube-apiserver and kustomize binaries, as `scripts/ensure-kube.sh --check` reports them.
 * Throws (with the command to run) when any is missing.
 */
export function kubeBinaries(): KubeBinaries {
  const check = spawnSync('bash', ['scripts/ensure-kube.sh', '--check'], { cwd: repoRoot, encoding: 'utf8' });
  const found = Object.fromEntries(
    check.stdout
      .split('\n')
      .map((line) => line.split('='))
      .filter((parts) => parts.length === 2),
  ) as Record<string, string>;
  if (check.status !== 0 || !found.etcd || !found['kube-apiserver'] || !found.kustomize) {
    throw new Error(
      `The Kubernetes tests need etcd, kube-apiserver and kustomize: ${check.stderr.trim() || check.error?.message || 'not found'}\n` +
        'Run `bash scripts/ensure-kube.sh` (as root on Debian; the first kube-apiserver build takes several minutes).',
    );
  }
  return { etcd: found.etcd, kubeApiserver: found['kube-apiserver'], kustomize: found.kustomize };
}

/**
 * Render a kustomization with the real kustomize (`kustomize build DIR`; `kubectl apply -k` runs
 * the kustomize built into kubectl the same way). Rejects with kustomize's own message when it
 * refuses the kustomization.
 */
export async function kustomizeBuild(dir: string): Promise<KubeObject[]> {
  const { kustomize } = kubeBinaries();
  return new Promise((resolve, reject) => {
    execFile(kustomize, ['build', dir], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`kustomize build failed: ${String(stderr).trim() || error.message}`));
      const docs = parseAllDocuments(String(stdout));
      const problems = docs.flatMap((d) => d.errors.map((e) => e.message));
      if (problems.length > 0) return reject(new Error(`kustomize build printed invalid YAML: ${problems.join('; ')}`));
      resolve(docs.map((d) => d.toJS() as KubeObject).filter((o) => o !== null));
    });
  });
}

export interface StartOptions {
  /** CRDs to install before the server is handed out (e.g. SERVICE_MONITOR_CRD). */
  crds?: KubeObject[];
  /** How long etcd and the API server may take to become ready (default 90 s). */
  readyTimeoutMs?: number;
}

/**
 * Start etcd and kube-apiserver on 127.0.0.1 with fresh ports and a temporary directory.
 * Call `stop()` when done (afterAll); a process exit also kills both servers.
 */
export async function startKubeApiServer(options: StartOptions = {}): Promise<KubeApiServer> {
  const binaries = kubeBinaries();
  // The ports are free when picked but another process may take one before our servers bind it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binaries, options);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(String(error))) throw error;
    }
  }
}

async function startOnce(binaries: KubeBinaries, options: StartOptions): Promise<KubeApiServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const dir = await mkdtemp(join(tmpdir(), 'inferstack-kube-'));
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // The API server first (it holds etcd connections), then etcd; SIGKILL after 10 s each.
    for (const c of [...children].reverse()) await terminate(c, 10_000);
    process.removeListener('exit', killAll);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    await mkdir(join(dir, 'etcd'), { mode: 0o700 });
    const etcdLog = join(dir, 'etcd.log');
    children.push(
      spawnLogged(binaries.etcd, [
        '--name=inferstack-test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=inferstack-test=${peerUrl}`,
        '--initial-cluster-state=new',
      ], etcdLog),
    );
    await waitFor('etcd', readyTimeoutMs, children[0]!, etcdLog, async () => {
      const r = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return r?.ok === true && ((await r.json()) as { health?: string }).health === 'true';
    });

    // One RSA key signs and verifies service-account tokens (the server insists on both flags).
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const keyFile = join(dir, 'service-account.key');
    await writeFile(keyFile, privateKey, { mode: 0o600 });
    const token = randomBytes(24).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
    const certDir = join(dir, 'certs');
    const apiLog = join(dir, 'kube-apiserver.log');
    children.push(
      spawnLogged(binaries.kubeApiserver, [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=AlwaysAllow',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${keyFile}`,
        `--service-account-signing-key-file=${keyFile}`,
        // Addresses for Service objects the server allocates; nothing is routed to them.
        '--service-cluster-ip-range=10.96.0.0/16',
        // No kubelet or nodes: the `kubernetes` Service needs no endpoints kept up to date.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ], apiLog),
    );
    const url = `https://127.0.0.1:${apiPort}`;
    const certFile = join(certDir, 'apiserver.crt');
    let ca: Buffer | undefined;
    const raw = async (method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> => {
      if (!ca) throw new Error('kube-apiserver has not written its certificate yet');
      return httpsCall(url, ca, token, method, path, body, contentType);
    };
    await waitFor('kube-apiserver', readyTimeoutMs, children[1]!, apiLog, async () => {
      if (!ca) {
        if (!existsSync(certFile)) return false;
        ca = await readFile(certFile);
      }
      const r = await raw('GET', '/readyz').catch(() => undefined);
      // Read the certificate again next time, in case it was caught half written.
      if (!r) ca = undefined;
      return r?.status === 200;
    });
    const version = ((await raw('GET', '/version')).body as { gitVersion: string }).gitVersion;

    const server = new ApiServerClient(url, token, version, ca!, dir, raw, stop);
    for (const crd of options.crds ?? []) await server.installCrd(crd);
    return server;
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * One API server for a test file: started in beforeAll, stopped in afterAll. When it cannot start
 * (binaries missing, a startup failure) every test of the file fails with the reason, instead of
 * vitest's skipping them after a failed beforeAll.
 * @returns a getter for the running server
 */
export function useKubeApiServer(options: StartOptions = {}): () => KubeApiServer {
  let server: KubeApiServer | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      server = await startKubeApiServer(options);
    } catch (error) {
      failure = error;
    }
  }, 180_000);
  beforeEach(() => {
    if (failure) throw failure;
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw failure ?? new Error('the API server is started in beforeAll');
    return server;
  };
}

interface Resource {
  plural: string;
  namespaced: boolean;
}

class ApiServerClient implements KubeApiServer {
  private readonly discovery = new Map<string, Map<string, Resource>>();

  constructor(
    readonly url: string,
    readonly token: string,
    readonly version: string,
    readonly ca: Buffer,
    readonly dir: string,
    readonly request: (method: string, path: string, body?: unknown, contentType?: string) => Promise<KubeResponse>,
    readonly stop: () => Promise<void>,
  ) {}

  async apply(obj: KubeObject, options: ApplyOptions = {}): Promise<KubeObject> {
    const path = await this.objectPath(obj.apiVersion, obj.kind, obj.metadata?.name, obj.metadata?.namespace);
    const query = new URLSearchParams({ fieldManager: options.fieldManager ?? 'inferstack-test', fieldValidation: 'Strict' });
    if (options.dryRun) query.set('dryRun', 'All');
    if (options.force) query.set('force', 'true');
    // JSON is YAML, so the apply patch can be sent as JSON under the apply-patch+yaml type.
    return (await this.expectOk('PATCH', `${path}?${query}`, JSON.stringify(obj), 'application/apply-patch+yaml')) as KubeObject;
  }

  async create(obj: KubeObject, options: Pick<ApplyOptions, 'dryRun' | 'fieldManager'> = {}): Promise<KubeObject> {
    const path = await this.objectPath(obj.apiVersion, obj.kind, obj.metadata?.name, obj.metadata?.namespace);
    const query = new URLSearchParams({ fieldManager: options.fieldManager ?? 'inferstack-test', fieldValidation: 'Strict' });
    if (options.dryRun) query.set('dryRun', 'All');
    const collection = path.slice(0, path.lastIndexOf('/'));
    return (await this.expectOk('POST', `${collection}?${query}`, obj)) as KubeObject;
  }

  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
    const path = await this.objectPath(apiVersion, kind, name, namespace);
    const r = await this.request('GET', path);
    if (r.status === 404) return undefined;
    if (r.status >= 300) throw new KubeApiError('GET', path, r.status, r.body);
    return r.body as KubeObject;
  }

  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
    const path = await this.objectPath(apiVersion, kind, name, namespace);
    const r = await this.request('DELETE', path);
    if (r.status === 404) return false;
    if (r.status >= 300) throw new KubeApiError('DELETE', path, r.status, r.body);
    return true;
  }

  async installCrd(crd: KubeObject): Promise<void> {
    await this.apply(crd);
    const spec = crd.spec as { group: string; names: { kind: string }; versions: { name: string; served?: boolean }[] };
    const deadline = Date.now() + 60_000;
    for (;;) {
      const stored = await this.get(crd.apiVersion, crd.kind, crd.metadata.name);
      const conditions = (stored?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
      const established = conditions.some((c) => c.type === 'Established' && c.status === 'True');
      if (established) {
        let served = true;
        for (const v of spec.versions.filter((v) => v.served !== false)) {
          this.discovery.delete(`${spec.group}/${v.name}`);
          served &&= (await this.resources(`${spec.group}/${v.name}`).catch(() => new Map())).has(spec.names.kind);
        }
        if (served) return;
      }
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} was not served within 60 s: ${JSON.stringify(conditions)}`);
      await sleep(200);
    }
  }

  private async expectOk(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const r = await this.request(method, path, body, contentType);
    if (r.status < 200 || r.status >= 300) throw new KubeApiError(method, path, r.status, r.body);
    return r.body;
  }

  /** The kinds a group version serves, from the server's discovery (cached per group version). */
  private async resources(apiVersion: string): Promise<Map<string, Resource>> {
    let resources = this.discovery.get(apiVersion);
    if (!resources) {
      const list = (await this.expectOk('GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`)) as {
        resources: { name: string; kind: string; namespaced: boolean }[];
      };
      resources = new Map(list.resources.filter((r) => !r.name.includes('/')).map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }]));
      this.discovery.set(apiVersion, resources);
    }
    return resources;
  }

  private async objectPath(apiVersion: string, kind: string, name: string | undefined, namespace: string | undefined): Promise<string> {
    if (!name) throw new Error(`${apiVersion} ${kind}: metadata.name is required`);
    const resource = (await this.resources(apiVersion)).get(kind);
    if (!resource) throw new Error(`the API server does not serve ${apiVersion} ${kind} (a CRD not installed?)`);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? 'default')}` : '';
    return `${base}${ns}/${resource.plural}/${encodeURIComponent(name)}`;
  }
}

function httpsCall(url: string, ca: Buffer, token: string, method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${path}`,
      {
        method,
        ca,
        // The self-signed certificate is pinned (ca); its names are the in-cluster ones.
        checkServerIdentity: () => undefined,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // /readyz and friends answer plain text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function spawnLogged(command: string, args: string[], logFile: string): ChildProcess {
  const log = createWriteStream(logFile);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitFor(what: string, timeoutMs: number, child: ChildProcess, logFile: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${await tail(logFile)}`);
    }
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs / 1000} s:\n${await tail(logFile)}`);
    await sleep(200);
  }
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `count` distinct ports free on 127.0.0.1 right now (the OS picks them). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(s));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
