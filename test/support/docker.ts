// Helpers for tests in the `docker` project: the session label, the vLLM stand-in under the real
// daemon, waits, logs, cleanup. Uses the docker CLI (the product's own code uses dockerode).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { inject } from 'vitest';
import { docker, removeSessionResources, STANDIN_IMAGE, TEST_LABEL_KEY } from './docker-cli.js';

export * from './docker-cli.js';

/** The session id of this test run (from globalSetup). */
export function testSession(): string {
  let session: string | undefined;
  try {
    session = inject('inferstackTestSession');
  } catch {
    // not inside a vitest worker
  }
  session ||= process.env.INFERSTACK_TEST_SESSION;
  if (!session) throw new Error('No test session: run through the vitest `docker` project (test/support/global-setup.ts).');
  return session;
}

/** `inferstack.test=<session>`: put it on every container, network and volume a test creates. */
export function sessionLabel(session = testSession()): string {
  return `${TEST_LABEL_KEY}=${session}`;
}

/** Remove everything labelled with the session (globalSetup's teardown does this too). */
export function removeTestResources(session = testSession()): Promise<void> {
  return removeSessionResources(session);
}

/** Remove the given containers (and their anonymous volumes); missing ones are fine. */
export async function removeContainers(ids: readonly string[]): Promise<void> {
  if (ids.length) await docker(['rm', '-f', '-v', ...ids], { allowFail: true });
}

export interface StandinOptions {
  /** Suffix of the container name `inferstack-test-<session>-<name>`. @default random */
  name?: string;
  /** @default STANDIN_IMAGE (`vllm serve` entrypoint) */
  image?: string;
  /** The container's Cmd, i.e. vLLM's argv after the entrypoint. @default [model, '--port', '8000', '--host', '0.0.0.0'] */
  args?: string[];
  /** Model for the default args. @default 'Qwen/Qwen3-0.6B' */
  model?: string;
  /** Environment, e.g. STANDIN_LOAD_DELAY, STANDIN_FAIL, VLLM_API_KEY. */
  env?: Record<string, string>;
  /** Publish port 8000 to 127.0.0.1:<random>. @default true */
  publish?: boolean;
  /** User-defined network to attach to (with `aliases`). */
  network?: string;
  aliases?: string[];
  /** Extra labels beside the session label. */
  labels?: Record<string, string>;
  /** Extra `docker run` flags, e.g. ['--health-cmd', '...']. */
  runFlags?: string[];
}

export interface StartedContainer {
  id: string;
  name: string;
  /** Host port of the container's 8000 (0 when not published). */
  port: number;
  /** `http://127.0.0.1:<port>` ('' when not published). */
  baseUrl: string;
}

/**
 * Start the vLLM stand-in detached (`docker run -d`), labelled with the session.
 * Returns once the container runs; readiness is the test's business (see `waitForHttp`).
 */
export async function runStandin(options: StandinOptions = {}): Promise<StartedContainer> {
  const session = testSession();
  const name = `inferstack-test-${session}-${options.name ?? Math.random().toString(36).slice(2, 8)}`;
  const flags = ['run', '-d', '--name', name, '--label', sessionLabel(session)];
  for (const [k, v] of Object.entries(options.labels ?? {})) flags.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(options.env ?? {})) flags.push('-e', `${k}=${v}`);
  const publish = options.publish ?? true;
  if (publish) flags.push('-p', '127.0.0.1::8000');
  if (options.network) {
    flags.push('--network', options.network);
    for (const a of options.aliases ?? []) flags.push('--network-alias', a);
  }
  flags.push(...(options.runFlags ?? []));
  const args = options.args ?? [options.model ?? 'Qwen/Qwen3-0.6B', '--port', '8000', '--host', '0.0.0.0'];
  const { stdout } = await docker([...flags, options.image ?? STANDIN_IMAGE, ...args]);
  const id = stdout.trim();
  if (!publish) return { id, name, port: 0, baseUrl: '' };
  const port = await publishedPort(id, 8000);
  return { id, name, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** The host port bound to a container port; fails with the logs when the container already exited. */
export async function publishedPort(id: string, containerPort: number): Promise<number> {
  const r = await docker(['port', id, `${containerPort}/tcp`], { allowFail: true });
  const m = /127\.0\.0\.1:(\d+)/.exec(r.stdout);
  if (!m) {
    throw new Error(`container ${id.slice(0, 12)} has no published port ${containerPort} (exited?)\n${await containerLogs(id)}`);
  }
  return Number(m[1]);
}

/** Runs `docker logs` and hands each chunk to `sink` with the stream it came on. */
function readLogs(id: string, sink: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => sink('stdout', c));
    child.stderr.on('data', (c: Buffer) => sink('stderr', c));
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

/**
 * A container's stdout and stderr apart. The order of lines within one stream is the order the
 * process wrote them; the order between the two streams is not kept by anything (the docker CLI
 * writes them to two pipes, read as they come), so a test compares orders within one stream only.
 */
export async function containerLogStreams(id: string): Promise<{ stdout: string; stderr: string }> {
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  await readLogs(id, (stream, c) => chunks[stream].push(c));
  return { stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8') };
}

/** stdout and stderr of a container, interleaved as the docker CLI delivers them (see above). */
export async function containerLogs(id: string): Promise<string> {
  const chunks: Buffer[] = [];
  await readLogs(id, (_, c) => chunks.push(c));
  return Buffer.concat(chunks).toString('utf8');
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; FailingStreak: number; Log: Array<{ ExitCode: number; Output: string }> };
}

export async function containerState(id: string): Promise<ContainerState> {
  const { stdout } = await docker(['inspect', '-f', '{{json .State}}', id]);
  return JSON.parse(stdout) as ContainerState;
}

/** Wait for a container to exit; resolves its exit code. */
export async function waitForExit(id: string, timeoutMs = 30_000): Promise<number> {
  const r = await docker(['wait', id], { timeoutMs }).catch((e: unknown) => {
    throw new Error(`container ${id.slice(0, 12)} did not exit within ${timeoutMs} ms (${String(e)})`);
  });
  return Number(r.stdout.trim());
}

/** Poll `probe` until it returns a value other than undefined/null/false. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One GET with node:http. Not fetch: Node 20's fetch never settles when the peer closes the
 * connection on accept, which is what docker-proxy does for a published port whose container is
 * not listening yet (a vLLM still loading).
 */
export function httpGet(url: string, { headers, timeoutMs = 5_000 }: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Poll a URL until it answers `status` (default 200). Connection errors count as "not yet", as
 * for vLLM, whose server does not accept connections while it loads.
 * @returns the answer and how many attempts failed to connect first
 */
export async function waitForHttp(
  url: string,
  { status = 200, timeoutMs = 30_000, intervalMs = 100, headers }: { status?: number; timeoutMs?: number; intervalMs?: number; headers?: Record<string, string> } = {},
): Promise<{ answer: HttpAnswer; refused: number }> {
  let refused = 0;
  const answer = await waitFor(
    `${url} → ${status}`,
    async () => {
      try {
        const a = await httpGet(url, { headers, timeoutMs: 5_000 });
        return a.status === status ? a : undefined;
      } catch {
        refused++;
        return undefined;
      }
    },
    { timeoutMs, intervalMs },
  );
  return { answer, refused };
}
