import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import type { DockerClient } from './client.js';
import { DockerApiError, LockHeldError, OperationAbortedError, type LockHolder } from './errors.js';

/**
 * Name of the container that is a stack's lock: creating a named container is atomic in Docker,
 * so exactly one run gets it. One lock per stack: two stacks on one daemon do not wait for
 * each other. Without a stack, the daemon-wide lock of earlier versions.
 */
export function lockContainerName(stack?: string): string {
  return stack ? `inferstack-lock-${stack}` : 'inferstack-lock';
}
/** A tiny image imported from a one-file tarball, so the lock needs no registry. */
export const LOCK_IMAGE = 'inferstack/lock:1';

/** A held lock. */
export interface Lock {
  release(): Promise<void>;
}

/** Options for {@link acquireLock}. */
export interface AcquireLockOptions {
  /** What holds it, shown to a second run (e.g. `serve up`). */
  command: string;
  /** How long to wait for another holder. 0 = fail at once. @default 600_000 */
  waitMs?: number;
  /** @default 500 */
  pollMs?: number;
  /** Called once when we start waiting for someone else's lock. */
  onWait?: (holder: LockHolder) => void;
  extraLabels?: Record<string, string>;
  signal?: AbortSignal;
  /** @default process.pid */
  pid?: number;
  /** The stack whose lock it is. @default the daemon-wide lock */
  stack?: string;
}

function oneFileTar(): Buffer {
  const header = Buffer.alloc(512, 0);
  const write = (text: string, offset: number, length: number) => header.write(text, offset, length, 'ascii');
  write('LOCK', 0, 100);
  write('0000644\0', 100, 8);
  write('0000000\0', 108, 8);
  write('0000000\0', 116, 8);
  write('00000000000\0', 124, 12);
  write('00000000000\0', 136, 12);
  write('        ', 148, 8);
  write('0', 156, 1);
  write('ustar\x0000', 257, 8);
  let sum = 0;
  for (const byte of header) sum += byte;
  write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return Buffer.concat([header, Buffer.alloc(1024, 0)]);
}

/** Import the tiny lock image when the daemon lacks it (no registry needed). */
export async function ensureLockImage(docker: DockerClient): Promise<void> {
  try {
    await docker.getImage(LOCK_IMAGE).inspect();
    return;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw new DockerApiError('cannot inspect the lock image', error);
  }
  const [repo, tag] = LOCK_IMAGE.split(':') as [string, string];
  const stream = await docker.importImage(Readable.from([oneFileTar()]) as unknown as NodeJS.ReadableStream, { repo, tag });
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
}

function holderFromLabels(labels: Record<string, string> | undefined): LockHolder {
  return {
    pid: Number(labels?.['inferstack.lock.pid'] ?? 0),
    hostname: labels?.['inferstack.lock.host'] ?? '?',
    since: labels?.['inferstack.lock.since'] ?? '?',
    command: labels?.['inferstack.lock.command'] ?? '?',
    ...(labels?.['inferstack.lock.process-start'] ? { processStart: labels['inferstack.lock.process-start'] } : {}),
  };
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or
 * undefined where there is no /proc. Identifies a process beyond its pid: a restarted container
 * runs its main process as pid 1 again, under the same host name.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The lock's holder was a process of this machine that is gone (or whose pid another process has now). */
function holderIsGone(holder: LockHolder): boolean {
  if (holder.hostname !== hostname() || !(holder.pid > 0)) return false;
  if (processIsGone(holder.pid)) return true;
  return holder.processStart !== undefined && processStartTime(holder.pid) !== undefined && processStartTime(holder.pid) !== holder.processStart;
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Take the per-daemon lock so that two `serve` runs do not act at once. A lock left by a
 * process on this machine that no longer exists (killed with SIGKILL) is taken over.
 * @throws LockHeldError when another run holds it past `waitMs`.
 */
export async function acquireLock(docker: DockerClient, options: AcquireLockOptions): Promise<Lock> {
  await ensureLockImage(docker);
  const name = lockContainerName(options.stack);
  const waitMs = options.waitMs ?? 600_000;
  const pollMs = options.pollMs ?? 500;
  const pid = options.pid ?? process.pid;
  const start = processStartTime(pid);
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    if (options.signal?.aborted) throw new OperationAbortedError();
    try {
      const container = await docker.createContainer({
        name,
        Image: LOCK_IMAGE,
        Cmd: ['lock'],
        Labels: {
          ...options.extraLabels,
          'inferstack.lock': 'true',
          'inferstack.lock.pid': String(pid),
          'inferstack.lock.host': hostname(),
          'inferstack.lock.since': new Date().toISOString(),
          'inferstack.lock.command': options.command,
          ...(start ? { 'inferstack.lock.process-start': start } : {}),
        },
      });
      return {
        release: async () => {
          await container.remove({ force: true }).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 409) throw new DockerApiError('cannot take the deployment lock', error);
    }
    const held = await inspectLock(docker, name);
    if (!held) continue;
    const { holder, id } = held;
    if (holderIsGone(holder)) {
      // Exactly the lock we looked at: a run that took it over in the meantime keeps its own.
      await removeLockById(docker, id);
      continue;
    }
    if (Date.now() >= deadline) throw new LockHeldError(holder);
    if (!announced) {
      announced = true;
      options.onWait?.(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function inspectLock(docker: DockerClient, name: string): Promise<{ holder: LockHolder; id: string } | undefined> {
  try {
    const info = await docker.getContainer(name).inspect();
    return { holder: holderFromLabels(info.Config.Labels), id: info.Id };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError('cannot read the deployment lock', error);
  }
}

async function removeLockById(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true });
  } catch (error) {
    // Gone already: someone else took it over (or released it) first.
    if ((error as { statusCode?: number }).statusCode !== 404 && (error as { statusCode?: number }).statusCode !== 409) {
      throw new DockerApiError('cannot remove the deployment lock', error);
    }
  }
}

/** Who holds a stack's lock now, if anyone. */
export async function readLockHolder(docker: DockerClient, stack?: string): Promise<LockHolder | undefined> {
  return (await inspectLock(docker, lockContainerName(stack)))?.holder;
}

/** Remove a stack's lock whoever holds it (`serve unlock`); returns who held it. */
export async function breakLock(docker: DockerClient, stack?: string): Promise<LockHolder | undefined> {
  const held = await inspectLock(docker, lockContainerName(stack));
  if (held) await removeLockById(docker, held.id);
  return held?.holder;
}
