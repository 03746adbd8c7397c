import { defineCommand } from 'citty';
import { formatDuration } from '../output.js';
import type { ModelStatusRow } from '@inferstack/stack';
import { configArgs, strictArgs } from '../args.js';
import { commandEnv, openStackFor } from '../context.js';
import { ExitCode } from '../errors.js';
import { table, type Output } from '../output.js';
import { meta } from './meta.js';

function stateText(out: Output, s: ModelStatusRow): string {
  if (s.state === 'running') return s.health === 'unhealthy' ? out.red('running') : out.green('running');
  if (s.state === 'absent') return out.dim('absent');
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
  }
}

export default defineCommand({
  meta: meta('status', ['ps']),
  args: { json: { type: 'boolean', description: 'Print the status as JSON' }, ...configArgs },
  plugins: [strictArgs],
  async run({ args, data }) {
    const ctx = commandEnv({ data });
    const stack = await openStackFor(ctx, args);
    const s = await stack.status();
    const out = ctx.output;
    if (args.json) {
      out.json({
        stack: s.stack,
        models: s.models.map((r) => ({
          model: r.key,
          container: r.containerName,
          state: r.state,
          health: r.health,
          sync: r.sync,
          changed: r.changed,
          gpus: r.gpus,
          uptime: r.uptime,
          image: r.image,
          endpoint: r.endpoint,
          servedModelName: r.servedModelName,
          routed: r.routed,
          scrape: r.scrape,
          load: r.load,
          idle: r.idle,
        })),
        services: s.services,
        ...(s.gatewayError ? { gatewayError: s.gatewayError } : {}),
        ...(s.prometheusError ? { prometheusError: s.prometheusError } : {}),
      });
      return ExitCode.ok;
    }
    out.print(`stack ${s.stack} (network ${stack.config.network})`);
    if (s.services.length > 0) {
      for (const l of table(['SERVICE', 'CONTAINER', 'STATE', 'URL'], s.services.map((i) => [i.service, i.container, i.state === 'running' ? out.green(i.state) : out.yellow(i.state), i.url ?? '-']))) out.print(l);
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
    const rows = s.models.map((r) => [
      r.key,
      stateText(out, r),
      r.health === 'none' ? '-' : r.health,
      r.gpus,
      r.uptime ?? '-',
      syncText(out, r),
      gateway(r),
      scrape(r),
      load(r),
      ...(withIdle ? [idle(r)] : []),
      r.image,
      r.endpoint,
    ]);
    const headers = ['MODEL', 'STATE', 'HEALTH', 'GPUS', 'UPTIME', 'CONFIG', 'GATEWAY', 'SCRAPE', 'RUN/WAIT', ...(withIdle ? ['IDLE'] : []), 'IMAGE', 'ENDPOINT'];
    for (const l of table(headers, rows)) out.print(l);
    if (s.prometheusError) out.info(`${out.yellow('!')} Prometheus not reachable at ${stack.config.monitoring.prometheusUrl}: ${s.prometheusError}`);
    if (s.gatewayError) out.info(`${out.yellow('!')} gateway not reachable at ${stack.config.gateway.url}: ${s.gatewayError}`);
    return ExitCode.ok;
  },
});
