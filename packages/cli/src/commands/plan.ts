import { defineCommand } from 'citty';
import { configArgs, jsonArg, strictArgs } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { planJson, printGpuMap, printHostFailures, printPlan } from '../render/plan.js';
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
    const several = stack.config.hosts.length > 1;
    const hostsOk = plan.hosts.every((h) => h.ok);
    if (args.json) {
      ctx.output.json({
        stack: plan.stack,
        changes: plan.hasChanges,
        plan: planJson(plan.changes, { hosts: several }),
        gpus: plan.gpus,
        ...(several ? { hosts: plan.hosts.map((h) => (h.ok ? h : { host: h.host, ok: false, error: h.error.message, ...(h.hint ? { hint: h.hint } : {}) })) } : {}),
        ...(plan.warnings.length ? { warnings: plan.warnings } : {}),
      });
    } else {
      ctx.output.print(`stack ${plan.stack} (network ${stack.config.network}${several ? `, hosts ${stack.config.hosts.map((h) => h.name).join(', ')}` : ''})`);
      printPlan(ctx.output, plan.changes, { hosts: several });
      printGpuMap(ctx.output, plan.gpus);
      for (const w of plan.warnings) ctx.output.info(`${ctx.output.yellow('!')} ${w}`);
      printHostFailures(ctx.output, plan.hosts);
    }
    // A host that could not be planned is a failure, whatever the others would do.
    if (!hostsOk) return ExitCode.failed;
    return args['exit-code'] && plan.hasChanges ? ExitCode.changes : ExitCode.ok;
  },
});
