import { acquireLock } from '@inferstack/docker-ops';
import type { StackContext } from './context.js';

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
