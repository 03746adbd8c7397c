// Support for the fault-injection tests (faults.test.ts): a private copy of the built `serve` bin,
// runs of it that a test can kill or interrupt, models.yaml builders, what a project's containers
// look like to Docker, a seeded random source, and a fake LiteLLM admin API on node:http.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, STANDIN, docker, type Project } from '../../packages/cli/test/_harness.js';
import { stackNameFor } from '../../packages/config/src/index.js';

export { STANDIN, createProject, docker, type Project } from '../../packages/cli/test/_harness.js';

export const LITELLM_IMAGE = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
export const MASTER_KEY = 'sk-test-master-5b7e0c1d9f';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A copy of packages/cli/dist taken once per test file. Others rebuild the tree while these tests
 * run, and tsup empties dist/ first: a run spawned in that moment would find no bin. The copy is
 * the same bundle (its version comes from the package.json copied beside it).
 */
export async function snapshotBin(): Promise<{ bin: string; remove(): void }> {
  const root = mkdtempSync(join(tmpdir(), 'inferstack-faults-bin-'));
  const dist = dirname(CLI);
  for (let attempt = 1; ; attempt++) {
    try {
      cpSync(dist, join(root, 'dist'), { recursive: true });
      cpSync(join(dist, '..', 'package.json'), join(root, 'package.json'));
      const bin = join(root, 'dist', 'serve.cjs');
      execFileSync(process.execPath, [bin, '--version'], { stdio: 'pipe' });
      return { bin, remove: () => rmSync(root, { recursive: true, force: true }) };
    } catch (error) {
      // A build was under way: wait for it to finish.
      if (attempt >= 60) throw new Error(`no usable build in ${dist} (run "pnpm build"): ${(error as Error).message}`);
      rmSync(join(root, 'dist'), { recursive: true, force: true });
      await sleep(1000);
    }
  }
}

/** What a finished run of `serve` did. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A `serve` run in progress. */
export interface ServeRun {
  child: ChildProcess;
  pid: number;
  readonly stdout: string;
  readonly stderr: string;
  startedAt: number;
  done: Promise<RunResult>;
  /** Resolves once stderr matches `re`; rejects when the run ends first or after `timeoutMs`. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Start `serve <args>` in the project, with the test labels on everything it creates. */
export function startServe(bin: string, p: Project, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): ServeRun {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: p.dir,
    env: { ...process.env, INFERSTACK_LABELS: p.labels, INFERSTACK_HASH_KEY: 'test-hash-key', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    for (const l of listeners) l();
  });
  const startedAt = Date.now();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      for (const l of listeners) l();
      resolve({ code, signal, stdout, stderr, ms: Date.now() - startedAt });
    });
  });
  return {
    child,
    pid: child.pid!,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    startedAt,
    done,
    waitForStderr(re, waitMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(stderr)) finish(resolve);
          else if (ended) finish(() => reject(new Error(`serve ${args.join(' ')} ended before stderr matched ${re}:\n${stderr}`)));
        };
        const finish = (f: () => void) => {
          listeners.delete(check);
          clearTimeout(t);
          f();
        };
        const t = setTimeout(() => finish(() => reject(new Error(`stderr did not match ${re} within ${waitMs} ms:\n${stderr}`))), waitMs);
        listeners.add(check);
        check();
      });
    },
  };
}

/** Run `serve <args>` to the end. */
export function serve(bin: string, p: Project, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 180_000): Promise<RunResult> {
  return startServe(bin, p, args, env, timeoutMs).done;
}

/** One model of a models.yaml: its env, and other fields as YAML scalars. */
export interface ModelDef {
  env?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * A models.yaml for project `p`: models `<prefix>-<name>` on the stand-in (no GPU), with the
 * given gateway and monitoring sections (YAML flow maps), gateway and monitoring off by default.
 */
export function modelsYaml(p: Project, models: Record<string, ModelDef>, options: { gateway?: string; monitoring?: string; env?: Record<string, string> } = {}): string {
  const flow = (env: Record<string, string>) => `{${Object.entries(env).map(([k, v]) => `${k}: "${v}"`).join(', ')}}`;
  const lines = [
    `network: ${p.network}`,
    `gateway: ${options.gateway ?? '{mode: none}'}`,
    `monitoring: ${options.monitoring ?? '{mode: none}'}`,
    'defaults:',
    `  image: ${STANDIN}`,
    '  pull: never',
    `  env: ${flow({ STANDIN_LOAD_DELAY: '1', ...options.env })}`,
    'models:',
  ];
  for (const [name, def] of Object.entries(models)) {
    lines.push(`  - ${p.prefix}-${name}:`, `      model: test/${name}`, '      gpus: none');
    for (const [k, v] of Object.entries(def)) {
      if (k === 'env') lines.push(`      env: ${flow(v as Record<string, string>)}`);
      else lines.push(`      ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A model container of the project as Docker reports it. */
export interface Observed {
  key: string;
  id: string;
  name: string;
  state: string;
  health: string;
  restartPolicy: string;
  restartCount: number;
  specHash?: string;
}

/** Every model container of the project (its key starts with the project's prefix). */
export async function observe(p: Project): Promise<Observed[]> {
  const list = await docker.listContainers({ all: true, filters: { label: ['inference.managed=true', p.labels] } });
  const mine = list.filter((c) => (c.Labels['inference.model'] ?? '').startsWith(`${p.prefix}-`));
  const out = await Promise.all(
    mine.map(async (c) => {
      const i = await docker.getContainer(c.Id).inspect().catch(() => undefined);
      return {
        key: c.Labels['inference.model']!,
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        state: i?.State.Status ?? 'removed',
        health: i?.State.Health?.Status ?? 'none',
        restartPolicy: i?.HostConfig.RestartPolicy?.Name ?? '',
        restartCount: i?.RestartCount ?? 0,
        specHash: c.Labels['inferstack.spec-hash'],
      } satisfies Observed;
    }),
  );
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** The holder of the deployment lock, if any. */
export async function lockHolder(p: Project): Promise<{ pid: number; command: string; test?: string } | undefined> {
  try {
    // The project's stack is named after its directory; each stack has its own lock.
    const info = await docker.getContainer(`inferstack-lock-${stackNameFor(p.dir)}`).inspect();
    const l = info.Config.Labels ?? {};
    return { pid: Number(l['inferstack.lock.pid']), command: l['inferstack.lock.command'] ?? '', test: l['inferstack.test'] };
  } catch {
    return undefined;
  }
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Poll `fn` until it returns a value other than undefined. */
export async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A LiteLLM deployment as `/model/info` lists it. */
export interface FakeEntry {
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info: Record<string, unknown>;
}

export type FakeMode = 'ok' | 'slow' | 'error' | 'down';

/**
 * A fake LiteLLM admin API (a proxy with a database): `/health/readiness`, `/model/info`,
 * `/model/new`, `/model/delete`, `/v1/models`, answering as LiteLLM does. It can be switched to
 * answer after a delay (`slow`), answer every request with a 500 (`error`), or stop listening
 * (`down`: connections are refused).
 */
export class FakeGateway {
  port = 0;
  mode: FakeMode = 'ok';
  slowMs = 5000;
  entries: FakeEntry[] = [];
  readonly requests: Array<{ method: string; path: string; body?: unknown; at: number }> = [];
  private server = http.createServer((req, res) => void this.handle(req, res));

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async setMode(mode: FakeMode): Promise<void> {
    if (mode === 'down' && this.server.listening) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    } else if (mode !== 'down' && !this.server.listening) {
      this.server = http.createServer((req, res) => void this.handle(req, res));
      await this.start();
    }
    this.mode = mode;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Entries inferstack manages (`model_info.managed_by`), by `model_info.inferstack_model_key`. */
  managedKeys(): string[] {
    return this.entries
      .filter((e) => e.model_info.managed_by === 'inferstack')
      .map((e) => String(e.model_info.inferstack_model_key))
      .sort();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push({ method: req.method ?? '', path: url.pathname, body, at: Date.now() });
    const send = (status: number, value: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (this.mode === 'slow') await sleep(this.slowMs);
    if (this.mode === 'error') return send(500, { error: { message: 'boom', type: 'internal_error', code: '500' } });
    const auth = req.headers.authorization;
    if (url.pathname === '/health/readiness') return send(200, { status: 'healthy', db: 'connected' });
    if (auth !== `Bearer ${MASTER_KEY}`) return send(401, { error: { message: 'Authentication Error', type: 'auth_error', param: 'None', code: '401' } });
    if (req.method === 'GET' && (url.pathname === '/model/info' || url.pathname === '/v1/model/info')) return send(200, { data: this.entries });
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      return send(200, { object: 'list', data: [...new Set(this.entries.map((e) => e.model_name))].map((id) => ({ id, object: 'model', owned_by: 'openai' })) });
    }
    if (req.method === 'POST' && url.pathname === '/model/new') {
      const entry = body as FakeEntry;
      const id = String(entry.model_info?.id ?? `gen-${this.entries.length}`);
      if (this.entries.some((e) => e.model_info.id === id)) return send(500, { error: { message: 'Failed to add model to db', type: 'internal_server_error', param: 'None', code: '500' } });
      const { api_key: _secret, ...params } = entry.litellm_params;
      this.entries.push({ model_name: entry.model_name, litellm_params: params, model_info: { ...entry.model_info, id, db_model: true } });
      return send(200, { model_id: id, model_name: entry.model_name });
    }
    if (req.method === 'POST' && url.pathname === '/model/delete') {
      const id = String((body as { id?: string })?.id);
      const i = this.entries.findIndex((e) => e.model_info.id === id && e.model_info.db_model === true);
      if (i < 0) return send(400, { error: { message: `Model with id=${id} not found in db`, type: 'bad_request_error', param: 'None', code: '400' } });
      this.entries.splice(i, 1);
      return send(200, { message: `Model: ${id} deleted successfully` });
    }
    return send(404, { detail: 'Not Found' });
  }
}
