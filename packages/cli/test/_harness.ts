import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';

/** The built bin, as users run it. `pnpm test` builds it first. */
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/serve.cjs');
export const STANDIN = 'inferstack-test/vllm-standin:latest';
export const STANDIN_LEGACY = 'inferstack-test/vllm-standin:legacy';

export const docker = new Docker();

/** The session label every resource a test makes carries. */
export function sessionId(): string {
  return process.env.INFERSTACK_TEST_SESSION ?? `local-${process.pid}`;
}

export interface Project {
  dir: string;
  /** A short unique prefix for model keys: container names are global on the daemon. */
  prefix: string;
  network: string;
  labels: string;
  writeModels(yaml: string): void;
  /** Run `serve ...` in the project. */
  serve(args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

/** A throwaway project folder with model_config/models.yaml and a .env. */
export function createProject(name: string, env: Record<string, string> = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), `inferstack-${name}-`));
  const tag = randomBytes(3).toString('hex');
  const prefix = `t${tag}`;
  const network = `inferstack-test-${tag}`;
  const labels = `inferstack.test=${sessionId()}`;
  mkdirSync(join(dir, 'model_config'), { recursive: true });
  mkdirSync(join(dir, 'hf-cache'), { recursive: true });
  writeFileSync(
    join(dir, '.env'),
    Object.entries({ HUGGINGFACE_CACHE: join(dir, 'hf-cache'), HF_TOKEN: 'hf_testtoken_do_not_print', ...env })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  const project: Project = {
    dir,
    prefix,
    network,
    labels,
    writeModels(yaml) {
      writeFileSync(join(dir, 'model_config', 'models.yaml'), yaml);
    },
    serve(args, options = {}) {
      return new Promise((resolvePromise) => {
        const child = spawn(process.execPath, [CLI, ...args], {
          cwd: dir,
          env: { ...process.env, INFERSTACK_LABELS: labels, INFERSTACK_HASH_KEY: 'test-hash-key', NO_COLOR: '1', ...options.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolvePromise({ code: code ?? -1, stdout, stderr });
        });
      });
    },
    async cleanup() {
      await removeByLabel(`inferstack.test=${sessionId()}`, (name) => name.startsWith(`inference-${prefix}`));
      const nets = await docker.listNetworks({ filters: { name: [network] } });
      for (const n of nets) await docker.getNetwork(n.Id).remove().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return project;
}

/** Remove containers carrying `label` (optionally only those whose name matches). */
export async function removeByLabel(label: string, match: (name: string) => boolean = () => true): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    containers
      .filter((c) => match((c.Names[0] ?? '').replace(/^\//, '')))
      .map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})),
  );
}

/** The model containers of a project, by key. */
export async function containersOf(project: Project): Promise<Map<string, Docker.ContainerInfo>> {
  const list = await docker.listContainers({ all: true, filters: { label: ['inference.managed=true', project.labels] } });
  const out = new Map<string, Docker.ContainerInfo>();
  for (const c of list) {
    const key = c.Labels['inference.model'] ?? '';
    if (key.startsWith(project.prefix)) out.set(key, c);
  }
  return out;
}

/** `docker exec` a command in a container and return its stdout. */
export async function execIn(id: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((res) => {
    docker.modem.demuxStream(stream, { write: (c: Buffer) => chunks.push(c) } as never, { write: () => {} } as never);
    stream.on('end', res);
  });
  return Buffer.concat(chunks).toString('utf8');
}

export const exec = promisify(execFile);

/** A TCP port free on 127.0.0.1 now (for a published gateway or Prometheus). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Poll `fn` until it returns something (errors count as "not yet"), or fail after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
