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
    const holder = await unlock({ env: ctx.env, cwd: ctx.cwd, configPath: args['model-config'], ...(args.project !== undefined ? { name: args.project } : {}) });
    ctx.output.info(holder ? `removed the lock of pid ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.since})` : 'no lock is held');
    return ExitCode.ok;
  },
});
