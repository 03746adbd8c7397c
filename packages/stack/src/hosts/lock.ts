import { acquireLock, LockHeldError, OperationAbortedError } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { hostFailed, type ReachedHost } from './hosts.js';

/**
 * Run `fn` holding the stack's lock, so that two runs never change one stack at once (runs of
 * other stacks on the daemon go on). A second run waits (an event says for whom) and gives up
 * after the context's wait.
 */
export async function withLock<T>(ctx: StackContext, command: string, fn: () => Promise<T>): Promise<T> {
  const held = await acquireLock(await ctx.docker(), {
    command,
    waitMs: ctx.lockWaitMs,
    extraLabels: ctx.labels,
    stack: ctx.name,
    signal: ctx.signal,
    onWait: (holder) => ctx.emit({ type: 'lock-wait', holder }),
  });
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/**
 * Run `fn` holding the stack's lock on every host of `reached` (each host has its own: the
 * same stack may be driven from another config whose default host is another one). All or
 * none: when another run holds one, those taken are given back and all are tried again later,
 * so two runs never wait for each other crosswise. A host whose lock cannot be taken for another
 * reason (it stopped answering) is reported and left out; the default host's failure is thrown.
 */
export async function withHostLocks<T>(ctx: StackContext, reached: readonly ReachedHost[], command: string, fn: (locked: ReachedHost[]) => Promise<T>): Promise<T> {
  if (reached.length === 1 && reached[0]!.host.local) return withLock(ctx, command, () => fn([...reached]));
  let hosts = [...reached];
  const deadline = Date.now() + (ctx.lockWaitMs ?? 600_000);
  let announced = false;
  for (;;) {
    const tries = await Promise.allSettled(
      hosts.map((r) => acquireLock(r.docker, { command, waitMs: 0, extraLabels: ctx.labels, stack: ctx.name, signal: ctx.signal })),
    );
    const held = tries.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
    const errors = tries.flatMap((t, i) => (t.status === 'rejected' ? [{ host: hosts[i]!, error: t.reason as unknown }] : []));
    const busy = errors.find((e) => e.error instanceof LockHeldError)?.error as LockHeldError | undefined;
    const fatal = errors.find((e) => !(e.error instanceof LockHeldError) && (e.host.host.local || e.error instanceof OperationAbortedError));
    // Any other host whose lock cannot be taken is out of this run.
    const lost = errors.filter((e) => !(e.error instanceof LockHeldError) && e !== fatal);
    for (const e of lost) hostFailed(ctx, e.host.host.name, e.error);
    hosts = hosts.filter((r) => !lost.some((e) => e.host === r));
    if (!busy && !fatal) {
      try {
        return await fn(hosts);
      } finally {
        await Promise.all(held.map((l) => l.release()));
      }
    }
    await Promise.all(held.map((l) => l.release()));
    if (fatal) throw fatal.error;
    if (Date.now() >= deadline) throw busy!;
    if (!announced) {
      announced = true;
      ctx.emit({ type: 'lock-wait', holder: busy!.holder });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (ctx.signal.aborted) throw new OperationAbortedError();
  }
}
