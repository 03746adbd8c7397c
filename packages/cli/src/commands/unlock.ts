import { defineCommand } from 'citty';
import { breakLock, readLockHolder } from '@inferstack/docker-ops';
import { commonArgs, docker, type CommandEnv } from '../context.js';
import { ExitCode } from '../errors.js';

/** `serve unlock`: remove a lock left by a run that died on another machine. */
export async function unlock(ctx: CommandEnv): Promise<number> {
  const client = await docker(ctx);
  const holder = await readLockHolder(client);
  if (!holder) {
    ctx.output.info('no lock is held');
    return ExitCode.ok;
  }
  await breakLock(client);
  ctx.output.info(`removed the lock of pid ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.since})`);
  return ExitCode.ok;
}

export const unlockCommand = defineCommand({ meta: { name: 'unlock', description: 'Remove the deployment lock left by a run that died' }, args: { ...commonArgs } });
