// The docker CLI for test support, usable from globalSetup (no vitest runtime imports here).
// Tests go through the real daemon; every resource they create carries the session label.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The id in `inferstack.test=<id>`, the label on every container/network/volume of this run. */
    inferstackTestSession: string;
  }
}

/** Label key of test resources; the value is the session id. */
export const TEST_LABEL_KEY = 'inferstack.test';
export const NODE_IMAGE = 'inferstack-test/node:20';
/** The stand-in with vLLM >= 0.12's entrypoint, `vllm serve`. */
export const STANDIN_IMAGE = 'inferstack-test/vllm-standin:latest';
/** The stand-in with the older entrypoint, `python3 -m vllm.entrypoints.openai.api_server`. */
export const STANDIN_LEGACY_IMAGE = 'inferstack-test/vllm-standin:legacy';

export interface DockerResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class DockerCliError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: DockerResult,
  ) {
    super(`docker ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'DockerCliError';
  }
}

/**
 * Run `docker <args>`. Rejects with DockerCliError on a non-zero exit unless `allowFail`.
 * @param options.timeoutMs kill the client after this long (the call then rejects)
 */
export function docker(args: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (error && code === -1) return reject(new Error(`docker ${args.join(' ')}: ${error.message}`));
      const result = { stdout: String(stdout), stderr: String(stderr), code };
      if (code !== 0 && !options.allowFail) return reject(new DockerCliError(args, result));
      resolve(result);
    });
  });
}

/** A fresh session id: base36 time + random, short enough for container names. */
export function newSessionId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** The daemon's version, or a clear error when none answers (the docker tests never skip). */
export async function assertDaemon(): Promise<string> {
  const r = await docker(['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})'], { allowFail: true, timeoutMs: 20_000 });
  if (r.code !== 0) {
    throw new Error(
      `No Docker daemon answers (${r.stderr.trim() || `docker version exited ${r.code}`}). ` +
        "The docker tests need one: run 'bash scripts/ensure-docker.sh' (as root it installs and starts dockerd).",
    );
  }
  return r.stdout.trim();
}

/** Remove every container (with its anonymous volumes), network and volume labelled with the session. */
export async function removeSessionResources(session: string): Promise<void> {
  const filter = ['--filter', `label=${TEST_LABEL_KEY}=${session}`];
  const ids = async (args: string[]) => (await docker([...args, ...filter])).stdout.split('\n').filter(Boolean);
  const containers = await ids(['ps', '-aq']);
  if (containers.length) await docker(['rm', '-f', '-v', ...containers], { allowFail: true });
  const networks = await ids(['network', 'ls', '-q']);
  if (networks.length) await docker(['network', 'rm', ...networks], { allowFail: true });
  const volumes = await ids(['volume', 'ls', '-q']);
  if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes], { allowFail: true });
}

/** Run a command with its output going to ours (image builds show their progress). */
export function runInherited(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}
