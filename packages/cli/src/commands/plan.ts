import { defineCommand } from 'citty';
import { configArgs, jsonArg, strictArgs } from '../args.js';
import { commandEnv, hasSeveralHosts, openStackFor } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { DEFAULT_KUBERNETES_DIR, givenKubernetesFlags, kubernetesArgs, kubernetesOptions } from '../kubernetes-args.js';
import { shownPath } from '../output.js';
import { kubernetesPlanJson, stackPlanJson } from '../render/json.js';
import { printKubernetesChanges } from '../render/kubernetes.js';
import { printGpuMap, printHostFailures, printPlan, printServicePlan } from '../render/plan.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('plan'),
  args: {
    models: { type: 'positional', required: false, description: 'Models to plan for (default: all)', valueHint: 'MODEL...' },
    'exit-code': { type: 'boolean', description: 'Exit 3 when something would change (for CI)' },
    'force-recreate': { type: 'boolean', alias: 'force-reload', description: 'Plan as "up --force-recreate" would' },
    target: { type: 'string', description: 'docker (default), or kubernetes: what "serve export kubernetes" would change in --out', valueHint: 'docker|kubernetes' },
    ...kubernetesArgs,
    ...jsonArg,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const target = args.target ?? 'docker';
    if (target !== 'docker' && target !== 'kubernetes') throw new CliError(`--target takes docker or kubernetes, not "${target}"`);
    const kubernetesFlags = givenKubernetesFlags(args);
    if (target === 'docker' && kubernetesFlags.length > 0) throw new CliError(`--${kubernetesFlags[0]} needs --target kubernetes`);
    if (target === 'kubernetes' && (args._.length > 0 || args['force-recreate'])) throw new CliError('--target kubernetes plans the whole stack: no models, no --force-recreate');
    const stack = await openStackFor(ctx, args);
    if (target === 'kubernetes') {
      const r = await stack.exportKubernetes({ ...kubernetesOptions(args), outDir: args.out ?? DEFAULT_KUBERNETES_DIR, dryRun: true });
      if (args.json) {
        ctx.output.json(kubernetesPlanJson(stack.name, shownPath(ctx.cwd, r.outDir!), r));
      } else {
        ctx.output.print(`stack ${stack.name} → namespace ${r.namespace}, against ${shownPath(ctx.cwd, r.outDir!)}/`);
        printKubernetesChanges((line) => ctx.output.print(line), r.changes);
      }
      return args['exit-code'] && r.hasChanges ? ExitCode.changes : ExitCode.ok;
    }
    const plan = await stack.plan({ models: args._, forceRecreate: args['force-recreate'] });
    const several = hasSeveralHosts(stack.config);
    const hostsOk = plan.hosts.every((h) => h.ok);
    if (args.json) {
      ctx.output.json(stackPlanJson(plan, several));
    } else {
      ctx.output.print(`stack ${plan.stack} (network ${stack.config.network}${several ? `, hosts ${stack.config.hosts.map((h) => h.name).join(', ')}` : ''})`);
      printPlan(ctx.output, plan.changes, { hosts: several });
      printServicePlan(ctx.output, plan.services, { cwd: ctx.cwd, hosts: several });
      printGpuMap(ctx.output, plan.gpus);
      for (const n of plan.notes) ctx.output.info(n);
      for (const w of plan.warnings) ctx.output.warn(w);
      printHostFailures(ctx.output, plan.hosts);
    }
    // A host that could not be planned is a failure, whatever the others would do.
    if (!hostsOk) return ExitCode.failed;
    return args['exit-code'] && plan.hasChanges ? ExitCode.changes : ExitCode.ok;
  },
});
