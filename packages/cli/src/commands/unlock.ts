import { defineCommand } from 'citty';
import { configArgs, strictArgs } from '../args.js';
import { commandEnv } from '../context.js';
import { ExitCode } from '../errors.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('unlock'),
  args: { ...configArgs },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const { unlock } = await import('@inferstack/stack');
    let failed = false;
    const said = (h: { pid: number; hostname: string; command: string; since: string }) => `removed the lock of pid ${h.pid} on ${h.hostname} (${h.command}, since ${h.since})`;
    const holder = await unlock({
      env: ctx.env,
      cwd: ctx.cwd,
      configPath: args['model-config'],
      ...(args.project !== undefined ? { name: args.project } : {}),
      // The stack's lock on each other Docker host of the config.
      onHost: (host, result) => {
        if (result instanceof Error) {
          failed = true;
          ctx.output.error(`host ${host}: ${result.message}`, (result as { hint?: string }).hint);
        } else if (result) ctx.output.info(`host ${host}: ${said(result)}`);
      },
    });
    ctx.output.info(holder ? said(holder) : 'no lock is held');
    return failed ? ExitCode.failed : ExitCode.ok;
  },
});
