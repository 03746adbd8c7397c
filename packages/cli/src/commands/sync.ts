import { defineCommand } from 'citty';
import { configArgs, jsonArg, strictArgs } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { Progress } from '../render/progress.js';
import { stackSyncJson } from '../render/json.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('sync'),
  args: {
    'dry-run': { type: 'boolean', description: 'Print what would change, change nothing' },
    ...jsonArg,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const progress = new Progress(ctx.output, { live: false, cwd: ctx.cwd });
    const stack = await openStackFor(ctx, args, args.json ? undefined : progress.handle);
    const r = await stack.sync({ dryRun: args['dry-run'] });
    if (args.json) ctx.output.json(stackSyncJson(r));
    return r.ok ? ExitCode.ok : ExitCode.failed;
  },
});
