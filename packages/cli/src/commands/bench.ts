import { defineCommand } from 'citty';
import type { BenchResult, Percentiles } from '@inferstack/stack';
import { configArgs, jsonArg, strictArgs, wholeNumber } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { formatDuration, table, type Output } from '../output.js';
import { benchJson } from '../render/json.js';
import { meta } from './meta.js';

const USAGE = 'serve bench [MODEL] [--requests N] [--concurrency C] [--json]';

/** A flag's whole number ≥ 1, or bad input naming the flag. */
function atLeastOne(name: string, value: string | undefined): number | undefined {
  const n = wholeNumber(name, value);
  if (n === 0) throw new CliError(`--${name} takes a whole number ≥ 1, not "${value}"`, { hint: USAGE });
  return n;
}

const ms = (v: number | null) => (v === null ? '-' : v < 10 ? v.toFixed(1) : String(Math.round(v)));
const row = (label: string, p: Percentiles) => [`${label} ms`, ms(p.p50), ms(p.p95), ms(p.p99)];

/** The result as a few short tables. */
function render(out: Output, r: BenchResult, gateway: string): void {
  out.print(`bench ${r.model} (served as ${r.servedModelName}) through ${gateway}: ${r.requests} requests, ${r.concurrency} at a time, ${formatDuration(r.elapsedMs)}`);
  out.print('');
  const failed = r.failed > 0 ? out.red(`${r.failed} failed`) : '0 failed';
  for (const l of table(['', ''], [
    ['requests', `${r.ok} ok, ${failed}`],
    ['req/s', r.requestsPerSecond.toFixed(2)],
    ['output tok/s', r.outputTokensPerSecond.toFixed(1)],
  ]).slice(1)) out.print(l);
  out.print('');
  for (const l of table(['', 'P50', 'P95', 'P99'], [row('TTFT', r.ttftMs), row('latency', r.latencyMs)])) out.print(l);
  out.print('');
  for (const l of table(['CONTAINER', 'REPLICA', 'REQUESTS'], r.replicas.map((x) => [x.name, x.replica === null ? '-' : String(x.replica), String(x.requests)]))) out.print(l);
  if (r.errors.length > 0) {
    out.print('');
    out.print('errors:');
    for (const e of r.errors) out.print(`  ${e.count}× ${e.message}`);
  }
}

export default defineCommand({
  meta: meta('bench'),
  args: {
    model: { type: 'positional', required: false, description: 'The model to send the requests to (default: the first of models.yaml)', valueHint: 'MODEL' },
    requests: { type: 'string', description: 'How many requests to send (default 100)', valueHint: 'N' },
    concurrency: { type: 'string', description: 'How many are in flight at once (default 8)', valueHint: 'C' },
    ...jsonArg,
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    if (args._.length > 1) throw new CliError('"serve bench" takes at most one model', { hint: USAGE });
    const requests = atLeastOne('requests', args.requests);
    const concurrency = atLeastOne('concurrency', args.concurrency);
    const stack = await openStackFor(ctx, args);
    const out = ctx.output;
    const model = args._[0];
    if (!args.json) {
      const n = requests ?? 100;
      out.info(`sending ${n} request${n === 1 ? '' : 's'} to ${model ?? stack.config.models[0]?.key ?? 'the first model'} through the gateway, ${Math.min(n, concurrency ?? 8)} at a time`);
    }
    const r = await stack.bench({
      ...(model !== undefined ? { model } : {}),
      ...(requests !== undefined ? { requests } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
    });
    if (args.json) out.json(benchJson(r));
    else render(out, r, stack.config.gateway.url);
    return r.failed > 0 ? ExitCode.failed : ExitCode.ok;
  },
});
