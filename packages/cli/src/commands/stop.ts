import { defineCommand, type ArgsDef } from 'citty';
import type { StopResult } from '@inferstack/stack';
import { configArgs, drainArg, jsonArg, strictArgs, wholeNumber } from '../args.js';
import { commandEnv, hasSeveralHosts, openStackFor, type CommandEnv } from '../context.js';
import { ExitCode } from '../errors.js';
import { Progress } from '../render/progress.js';
import { printHostFailures } from '../render/plan.js';
import { stopJson } from '../render/json.js';
import { meta } from './meta.js';

const stopArgs = {
  models: { type: 'positional', required: false, description: 'Models to act on (default: every model container)', valueHint: 'MODEL...' },
  timeout: { type: 'string', description: 'Seconds vLLM gets to shut down before SIGKILL (default 30)', valueHint: 'SECONDS' },
  ...drainArg,
  ...jsonArg,
  ...configArgs,
} as const satisfies ArgsDef;

/** Run `stop` or `down` and render what it did. */
export async function stopOrDown(
  ctx: CommandEnv,
  mode: 'stop' | 'down',
  args: { _: string[]; timeout?: string; 'drain-timeout'?: string; json?: boolean; 'model-config': string; project?: string; all?: boolean; volumes?: boolean },
): Promise<number> {
  const timeoutSeconds = wholeNumber('timeout', args.timeout);
  const drain = wholeNumber('drain-timeout', args['drain-timeout']);
  const progress = new Progress(ctx.output, { live: false, cwd: ctx.cwd });
  const stack = await openStackFor(ctx, args, progress.handle);
  const options = { models: args._, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}), ...(drain !== undefined ? { drainTimeoutMs: drain * 1000 } : {}) };
  const r: StopResult = mode === 'stop' ? await stack.stop(options) : await stack.down({ ...options, all: args.all, volumes: args.volumes });
  if (args.json) {
    ctx.output.json(stopJson(r, mode, { several: hasSeveralHosts(stack.config), all: args.all }));
  } else {
    if (r.models.length === 0 && r.services.length === 0) ctx.output.info(`no model containers to ${mode}`);
    printHostFailures(ctx.output, r.hosts);
  }
  return r.ok ? ExitCode.ok : ExitCode.failed;
}

export const stopCommand = defineCommand({
  meta: meta('stop'),
  args: stopArgs,
  plugins: [strictArgs],
  run: ({ args, data }) => stopOrDown(commandEnv({ data }), 'stop', args),
});

export const downCommand = defineCommand({
  meta: meta('down'),
  args: {
    ...stopArgs,
    all: { type: 'boolean', description: 'Also remove the gateway, Prometheus, Grafana and exporters this config runs' },
    volumes: { type: 'boolean', description: 'With --all: also remove their data volumes (database, Prometheus data); never the Hugging Face cache (HUGGINGFACE_CACHE)' },
  },
  plugins: [strictArgs],
  run: ({ args, data }) => stopOrDown(commandEnv({ data }), 'down', args),
});
