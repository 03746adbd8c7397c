import { defineCommand } from 'citty';
import { configArgs, jsonArg, strictArgs } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { planJson, printGpuMap, printPlan } from '../render/plan.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('plan'),
  args: {
    models: { type: 'positional', required: false, description: 'Models to plan for (default: all)', valueHint: 'MODEL...' },
    'exit-code': { type: 'boolean', description: 'Exit 3 when something would change (for CI)' },
    'force-recreate': { type: 'boolean', alias: 'force-reload', description: 'Plan as "up --force-recreate" would' },
    ...jsonArg,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const stack = await openStackFor(ctx, args);
    const plan = await stack.plan({ models: args._, forceRecreate: args['force-recreate'] });
    if (args.json) {
      ctx.output.json({ stack: plan.stack, changes: plan.hasChanges, plan: planJson(plan.changes), gpus: plan.gpus });
    } else {
      ctx.output.print(`stack ${plan.stack} (network ${stack.config.network})`);
      printPlan(ctx.output, plan.changes);
      printGpuMap(ctx.output, plan.gpus);
    }
    return args['exit-code'] && plan.hasChanges ? ExitCode.changes : ExitCode.ok;
  },
});
