import { readFileSync, readlinkSync } from 'node:fs';
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
  /** Where `INFERSTACK_WATCHER_CONTAINER=1` says that this process is the watcher's container. @default process.env */
  env?: NodeJS.ProcessEnv;
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

const LABEL_PID = 'inferstack.lock.pid';
const LABEL_HOST = 'inferstack.lock.host';
const LABEL_SINCE = 'inferstack.lock.since';
const LABEL_COMMAND = 'inferstack.lock.command';
const LABEL_PROCESS_START = 'inferstack.lock.process-start';
const LABEL_BOOT_ID = 'inferstack.lock.boot-id';
const LABEL_PID_NAMESPACE = 'inferstack.lock.pid-namespace';
const LABEL_CONTAINER = 'inferstack.lock.container';

function holderFromLabels(labels: Record<string, string> | undefined): LockHolder {
  const optional = (field: keyof LockHolder, label: string) => (labels?.[label] ? { [field]: labels[label] } : {});
  return {
    pid: Number(labels?.[LABEL_PID] ?? 0),
    hostname: labels?.[LABEL_HOST] ?? '?',
    since: labels?.[LABEL_SINCE] ?? '?',
    command: labels?.[LABEL_COMMAND] ?? '?',
    ...optional('processStart', LABEL_PROCESS_START),
    ...optional('bootId', LABEL_BOOT_ID),
    ...optional('pidNamespace', LABEL_PID_NAMESPACE),
    ...optional('container', LABEL_CONTAINER),
  };
}

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * What tells this process's world apart from others that share its host name and pid numbers:
 * the kernel's boot id (another machine, or this one before a reboot), the pid namespace
 * (a container, also one with `--network host` and the host's name), and, for the watcher's
 * container, its id. Undefined where there is no /proc.
 */
function processSurroundings(env: NodeJS.ProcessEnv = process.env): { bootId?: string; pidNamespace?: string; container?: string } {
  const bootId = readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
  const pidNamespace = readOrUndefined(() => readlinkSync('/proc/self/ns/pid'));
  const container = env.INFERSTACK_WATCHER_CONTAINER === '1' ? ownContainerId() : undefined;
  return { ...(bootId ? { bootId } : {}), ...(pidNamespace ? { pidNamespace } : {}), ...(container ? { container } : {}) };
}

/**
 * The id of the container this process runs in: Docker mounts the container's own hostname
 * file from `containers/<id>/`, and makes its short id the host name unless told otherwise.
 * Undefined when neither says it, so that a wrong id can never make a live lock look gone.
 */
function ownContainerId(): string | undefined {
  const mounted = readOrUndefined(() => readFileSync('/proc/self/mountinfo', 'utf8'))?.match(/\/containers\/([0-9a-f]{64})\/hostname /)?.[1];
  if (mounted) return mounted.slice(0, 12);
  const name = hostname();
  return /^[0-9a-f]{12}$/.test(name) ? name : undefined;
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

/** What a look at a lock's holder found: gone (the lock may be taken over), or why it is not taken over. */
type Verdict = { gone: true } | { gone: false; unjudged?: string };

/**
 * Whether the lock's holder is provably gone. Its container (the watcher's) that no longer runs,
 * or was started after the lock was taken, says so (the daemon is asked: the watcher locks the
 * daemon it runs on). Otherwise only a process of this very boot and pid namespace can be
 * judged: gone when its pid is, or when that pid now belongs to a process started at another
 * time. Anything else (another machine, another container, a lock of an older serve without
 * these labels) is never taken over automatically: two machines with one default host name,
 * or a `--network host` container, share host names and pid numbers with live holders.
 */
async function judgeHolder(docker: DockerClient, holder: LockHolder, lockCreated: string, env: NodeJS.ProcessEnv): Promise<Verdict> {
  if (holder.container) {
    const state = await containerState(docker, holder.container);
    if (!state || !state.Running || state.Restarting) return { gone: true };
    const started = Date.parse(state.StartedAt);
    const taken = Date.parse(lockCreated);
    if (Number.isFinite(started) && Number.isFinite(taken) && started > taken) return { gone: true };
  }
  const here = processSurroundings(env);
  // Its container runs since before it took the lock: it holds it, unless we are in that very
  // container and its process is gone (judged below).
  if (holder.container && (holder.bootId !== here.bootId || holder.pidNamespace !== here.pidNamespace)) return { gone: false };
  if (!holder.bootId || !holder.pidNamespace) return { gone: false, unjudged: 'it was taken by an older serve, which did not record enough to tell whether it still runs' };
  if (holder.bootId !== here.bootId) return { gone: false, unjudged: `it was taken on another machine (or before this one restarted), which serve cannot look into` };
  if (holder.pidNamespace !== here.pidNamespace) return { gone: false, unjudged: 'it was taken in another container or pid namespace, which serve cannot look into' };
  if (!(holder.pid > 0)) return { gone: false, unjudged: 'it records no process' };
  if (processIsGone(holder.pid)) return { gone: true };
  const start = processStartTime(holder.pid);
  return holder.processStart !== undefined && start !== undefined && start !== holder.processStart ? { gone: true } : { gone: false };
}

/** A container's state, or undefined when the daemon has no such container. */
async function containerState(docker: DockerClient, id: string): Promise<{ Running: boolean; Restarting: boolean; StartedAt: string } | undefined> {
  try {
    return (await docker.getContainer(id).inspect()).State;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError('cannot look at the container that holds the deployment lock', error);
  }
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
 * Take the per-daemon lock so that two `serve` runs do not act at once. A lock whose holder is
 * provably gone is taken over: a process of this boot and pid namespace that no longer exists
 * (killed with SIGKILL), or the watcher's container restarted or removed since it took the lock.
 * Any other holder is waited for.
 * @throws LockHeldError when another run holds it past `waitMs` (saying why it was not taken over).
 */
export async function acquireLock(docker: DockerClient, options: AcquireLockOptions): Promise<Lock> {
  const name = lockContainerName(options.stack);
  const waitMs = options.waitMs ?? 600_000;
  const pollMs = options.pollMs ?? 500;
  const pid = options.pid ?? process.pid;
  const start = processStartTime(pid);
  const env = options.env ?? process.env;
  const { bootId, pidNamespace, container: inContainer } = processSurroundings(env);
  const deadline = Date.now() + waitMs;
  let announced = false;
  // The lock image is imported when the daemon says it lacks it: one round trip less on every run.
  let imported = false;
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
          [LABEL_PID]: String(pid),
          [LABEL_HOST]: hostname(),
          [LABEL_SINCE]: new Date().toISOString(),
          [LABEL_COMMAND]: options.command,
          ...(start ? { [LABEL_PROCESS_START]: start } : {}),
          ...(bootId ? { [LABEL_BOOT_ID]: bootId } : {}),
          ...(pidNamespace ? { [LABEL_PID_NAMESPACE]: pidNamespace } : {}),
          ...(inContainer ? { [LABEL_CONTAINER]: inContainer } : {}),
        },
      });
      return {
        release: async () => {
          await container.remove({ force: true }).catch(() => {});
        },
      };
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404 && !imported) {
        await ensureLockImage(docker);
        imported = true;
        continue;
      }
      if (status !== 409) throw new DockerApiError('cannot take the deployment lock', error);
    }
    const held = await inspectLock(docker, name);
    if (!held) continue;
    const { holder, id, created } = held;
    const verdict = await judgeHolder(docker, holder, created, env);
    if (verdict.gone) {
      // Exactly the lock we looked at: a run that took it over in the meantime keeps its own.
      await removeLockById(docker, id);
      continue;
    }
    if (Date.now() >= deadline) throw new LockHeldError(holder, verdict.unjudged ? { unjudged: verdict.unjudged } : {});
    if (!announced) {
      announced = true;
      options.onWait?.(holder);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function inspectLock(docker: DockerClient, name: string): Promise<{ holder: LockHolder; id: string; created: string } | undefined> {
  try {
    const info = await docker.getContainer(name).inspect();
    // When the daemon made the lock, on the daemon's clock (that of a holder container's start).
    return { holder: holderFromLabels(info.Config.Labels), id: info.Id, created: info.Created };
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
