import { defineCommand } from 'citty';
import { formatBytes } from '@inferstack/docker-ops';
import { formatDuration } from '../output.js';
import type { ModelStatusRow } from '@inferstack/stack';
import { configArgs, strictArgs } from '../args.js';
import { commandEnv, hasSeveralHosts, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { table, type Output } from '../output.js';
import { statusJson } from '../render/json.js';
import { meta } from './meta.js';

function stateText(out: Output, s: ModelStatusRow): string {
  if (s.state === 'running') return s.health === 'unhealthy' ? out.red('running') : out.green('running');
  if (s.state === 'absent') return out.dim('absent');
  if (s.state === 'unknown') return out.red('unknown');
  return out.yellow(s.state);
}

function syncText(out: Output, s: ModelStatusRow): string {
  switch (s.sync) {
    case 'in-sync':
      return out.green('in sync');
    case 'changed':
      return out.yellow(`changed (${s.changed.join(', ')})`);
    case 'adopted':
      return 'adopted';
    case 'orphan':
      return out.yellow('orphan');
    case 'missing':
      return out.dim('not created');
    case 'unknown':
      return out.dim('?');
  }
}

export default defineCommand({
  meta: meta('status', ['ps']),
  args: {
    json: { type: 'boolean', description: 'Print the status as JSON' },
    weights: { type: 'boolean', description: "Also read each model's Hugging Face cache on its host: size, complete or not (a short container per model)" },
    ...configArgs,
  },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const stack = await openStackFor(ctx, args);
    const s = await stack.status({ weights: Boolean(args.weights) });
    const out = ctx.output;
    // With several Docker hosts, HOST columns (and the hosts in JSON); with one, nothing changes.
    const several = hasSeveralHosts(stack.config);
    const hostsOk = s.hosts.every((h) => h.ok);
    if (args.json) {
      out.json(statusJson(s, several));
      return hostsOk ? ExitCode.ok : ExitCode.failed;
    }
    out.print(`stack ${s.stack} (network ${stack.config.network}${several ? `, hosts ${stack.config.hosts.map((h) => h.name).join(', ')}` : ''})`);
    if (s.services.length > 0) {
      const state = (i: (typeof s.services)[number]) => (i.state === 'running' ? out.green(i.state) : out.yellow(i.state));
      const lines = several
        ? table(['SERVICE', 'HOST', 'CONTAINER', 'STATE', 'URL'], s.services.map((i) => [i.service, i.host ?? 'local', i.container, state(i), i.url ?? '-']))
        : table(['SERVICE', 'CONTAINER', 'STATE', 'URL'], s.services.map((i) => [i.service, i.container, state(i), i.url ?? '-']));
      for (const l of lines) out.print(l);
      out.print('');
    }
    if (s.models.length === 0) {
      out.print('no models in the config and no model containers');
      return ExitCode.ok;
    }
    const gateway = (r: ModelStatusRow) =>
      !s.gateway ? '-' : r.routed === null ? '?' : r.routed ? out.green('routed') : r.state === 'running' ? out.yellow('not routed') : '-';
    const scrape = (r: ModelStatusRow) =>
      !s.monitoring ? '-' : r.scrape === null ? (r.state === 'running' ? out.yellow('no target') : '-') : r.scrape.health === 'up' ? out.green('up') : out.yellow(r.scrape.health);
    const load = (r: ModelStatusRow) => (r.load ? `${r.load.running}/${r.load.waiting}${r.load.kvCacheUsage !== undefined ? ` kv ${(r.load.kvCacheUsage * 100).toFixed(0)}%` : ''}` : '-');
    // Only when some model sleeps or stops when idle: awake / asleep / stopped-idle, and the last request.
    const withIdle = s.models.some((r) => r.idle);
    const idle = (r: ModelStatusRow) => {
      if (!r.idle) return '-';
      const state = r.idle.state === 'awake' ? out.green('awake') : r.idle.state === 'unknown' ? '?' : out.cyan(r.idle.state);
      return r.idle.lastRequestAt ? `${state}, asked ${formatDuration(Date.now() - Date.parse(r.idle.lastRequestAt))} ago` : state;
    };
    // With --weights: the cache's bytes of the files vLLM loads, complete or not.
    const weights = (r: ModelStatusRow) => {
      const w = r.weights;
      if (!w) return '-';
      if ('error' in w) return out.yellow('?');
      if (w.complete) return out.green(`${formatBytes(w.bytes)} complete`);
      return out.yellow(w.totalBytes > 0 ? `${formatBytes(w.bytes)} of ${formatBytes(w.totalBytes)}` : `${formatBytes(w.bytes)}, incomplete`);
    };
    // A model's replicas are a row each, one under the other: `key#i`.
    const rows = s.models.map((r) => [
      r.replica !== undefined ? `${r.key}#${r.replica}` : r.key,
      ...(several ? [r.host] : []),
      stateText(out, r),
      r.health === 'none' ? '-' : r.health,
      r.gpus,
      r.uptime ?? '-',
      syncText(out, r),
      gateway(r),
      scrape(r),
      load(r),
      ...(withIdle ? [idle(r)] : []),
      ...(args.weights ? [weights(r)] : []),
      r.image,
      r.endpoint,
    ]);
    const headers = ['MODEL', ...(several ? ['HOST'] : []), 'STATE', 'HEALTH', 'GPUS', 'UPTIME', 'CONFIG', 'GATEWAY', 'SCRAPE', 'RUN/WAIT', ...(withIdle ? ['IDLE'] : []), ...(args.weights ? ['WEIGHTS'] : []), 'IMAGE', 'ENDPOINT'];
    for (const l of table(headers, rows)) out.print(l);
    if (s.prometheusError) out.warn(`Prometheus not reachable at ${stack.config.monitoring.prometheusUrl}: ${s.prometheusError}`);
    if (s.gatewayError) out.warn(`gateway not reachable at ${stack.config.gateway.url}: ${s.gatewayError}`);
    for (const h of s.hosts) if (!h.ok) out.error(`host ${h.host} could not be asked: ${h.error.message}`, h.hint);
    for (const r of s.models) if (r.weights && 'error' in r.weights) out.warn(`${r.key}: its cache could not be read: ${r.weights.error}`);
    return hostsOk ? ExitCode.ok : ExitCode.failed;
  },
});
