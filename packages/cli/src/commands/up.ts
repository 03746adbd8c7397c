import { defineCommand } from 'citty';
import { configArgs, drainArg, jsonArg, strictArgs, wholeNumber } from '../args.js';
import { commandEnv, hasSeveralHosts, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { formatDuration } from '../output.js';
import { upJson, upPlanJson } from '../render/json.js';
import { printHostFailures, printPlan } from '../render/plan.js';
import { Progress } from '../render/progress.js';
import { meta } from './meta.js';

export default defineCommand({
  meta: meta('up'),
  args: {
    models: { type: 'positional', required: false, description: 'Models to serve (default: all in the config)', valueHint: 'MODEL...' },
    'force-recreate': { type: 'boolean', alias: 'force-reload', description: 'Recreate the models even when unchanged' },
    'dry-run': { type: 'boolean', description: 'Print the plan, change nothing' },
    timeout: { type: 'string', description: 'Seconds to wait for each model to be ready (default 3600)', valueHint: 'SECONDS' },
    ...drainArg,
    ...jsonArg,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const out = ctx.output;
    const timeout = wholeNumber('timeout', args.timeout);
    const drain = wholeNumber('drain-timeout', args['drain-timeout']);
    const progress = new Progress(out, { live: out.isTTY && !args.json, cwd: ctx.cwd });
    try {
      const stack = await openStackFor(ctx, args, progress.handle);
      const r = await stack.up({ models: args._, forceRecreate: args['force-recreate'], dryRun: args['dry-run'], ...(timeout !== undefined ? { readyTimeoutMs: timeout * 1000 } : {}), ...(drain !== undefined ? { drainTimeoutMs: drain * 1000 } : {}) });
      progress.stop();
      const several = hasSeveralHosts(stack.config);
      if (args['dry-run']) {
        if (args.json) out.json(upPlanJson(r, several));
        else printPlan(out, r.plan, { hosts: several });
        if (!args.json) printHostFailures(out, r.hosts);
        return r.hosts.every((h) => h.ok) ? ExitCode.ok : ExitCode.failed;
      }
      const changed = r.models.filter((o) => o.action !== 'keep' && o.outcome === 'done');
      const failed = r.models.filter((o) => o.outcome === 'failed');
      if (args.json) {
        out.json(upJson(r, several));
      } else if (r.interrupted) {
        const aborted = r.models.filter((o) => o.outcome === 'aborted');
        out.info(`interrupted: ${changed.length} change(s) done (${changed.map((o) => o.key).join(', ') || 'none'}); not done: ${aborted.map((o) => o.key).join(', ') || 'none'}. Run "serve up" again to finish.`);
      } else if (changed.length === 0 && failed.length === 0) {
        out.info('nothing to do: every model is up and matches the config');
      } else {
        out.info(`${changed.length} model(s) changed, ${failed.length} failed in ${formatDuration(r.elapsedMs)}`);
      }
      // Hosts that could not be reached: said once more at the end, where it is seen.
      if (!args.json) printHostFailures(out, r.hosts);
      for (const f of args.json ? [] : failed) {
        if (!f.failure?.logs || f.failure.diagnosis) continue;
        out.info(`last log lines of ${f.key}:`);
        for (const l of f.failure.logs.trimEnd().split('\n').slice(-10)) out.info(`  ${l}`);
      }
      return r.interrupted ? ExitCode.interrupted : r.ok ? ExitCode.ok : ExitCode.failed;
    } finally {
      progress.stop();
    }
  },
});
