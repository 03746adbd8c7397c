import type { StackConfig } from '@inferstack/config';
import { containersOfStack, isLocalDaemon, listModelContainers, type DockerClient, type ModelContainer } from '@inferstack/docker-ops';
import { TargetsFileError } from '@inferstack/prometheus-sync';
import type { CommandEnv } from '../context.js';
import { syncGateway, type GatewaySyncResult } from './gateway.js';
import { syncMonitoring, type MonitoringSyncResult } from './monitoring.js';
import { servingModels } from './serving.js';

/** The outcome of one integration sync: its result, or the error that stopped it. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: Error } | { ok: true; skipped: true };

/** What `syncIntegrations` did. */
export interface IntegrationsResult {
  serving: ModelContainer[];
  gateway: Outcome<GatewaySyncResult>;
  monitoring: Outcome<MonitoringSyncResult>;
}

/**
 * Point the gateway and Prometheus at the models that really serve now. `readyKeys` are models
 * this run just saw ready; `excluding` are models about to be stopped (deregistered first).
 * Never throws for an integration: each reports its own error, and the caller turns it into an
 * exit code.
 */
export async function syncIntegrations(
  ctx: CommandEnv,
  docker: DockerClient,
  config: StackConfig,
  options: { readyKeys?: ReadonlySet<string>; excluding?: ReadonlySet<string>; dryRun?: boolean; containers?: ModelContainer[]; gatewayJustStarted?: boolean; skipGateway?: boolean } = {},
): Promise<IntegrationsResult> {
  // This stack's models: those on its network (the gateway and Prometheus serve no other stack).
  const containers = options.containers ?? containersOfStack(await listModelContainers(docker), { network: config.network, keys: [] });
  const candidates = containers.filter((c) => !options.excluding?.has(c.key));
  const serving = await servingModels(candidates, { network: config.network, readyKeys: options.readyKeys, local: isLocalDaemon({ env: ctx.env }) });

  const gateway: Outcome<GatewaySyncResult> =
    config.gateway.mode === 'none' || options.skipGateway
      ? { ok: true, skipped: true }
      : await syncGateway(docker, config, serving, { dryRun: options.dryRun, signal: ctx.signal, justStarted: options.gatewayJustStarted }).then(
          (result) => ({ ok: true as const, result }),
          (error: Error) => ({ ok: false as const, error }),
        );
  const monitoring: Outcome<MonitoringSyncResult> =
    config.monitoring.mode === 'none'
      ? { ok: true, skipped: true }
      : await syncMonitoring(ctx, docker, config, serving, { dryRun: options.dryRun }).then(
          (result) => ({ ok: true as const, result }),
          (error: Error) => ({ ok: false as const, error }),
        );
  return { serving, gateway, monitoring };
}

/** Print what the syncs did; returns whether all went well. */
export function reportIntegrations(ctx: CommandEnv, r: IntegrationsResult): boolean {
  const o = ctx.output;
  let ok = true;
  if ('skipped' in r.gateway) {
    // Configured off.
  } else if (r.gateway.ok) {
    const g = r.gateway.result;
    for (const line of g.plan ?? []) o.info(`  gateway plan: ${line}`);
    if (!g.plan) o.info(`${o.green('✔')} gateway      ${g.routed.length} model(s) routed${g.restarted ? ' (gateway restarted to load them)' : ''}`);
  } else {
    ok = false;
    o.error(`gateway sync failed: ${r.gateway.error.message}`, (r.gateway.error as { hint?: string }).hint ?? 'the model containers were left as they are; run "serve sync" once the gateway answers');
  }
  if ('skipped' in r.monitoring) {
    // Configured off.
  } else if (r.monitoring.ok) {
    const m = r.monitoring.result;
    const pending = m.targets.filter((t) => t.health === 'unknown');
    const down = m.targets.filter((t) => t.health !== 'up' && t.health !== 'unknown');
    const parts = [
      down.length === 0 && pending.length === 0 ? 'all up' : '',
      pending.length > 0 ? `${pending.length} waiting for the first scrape` : '',
      down.length > 0 ? `${down.length} down: ${down.map((t) => `${t.model}${t.lastError ? ` (${t.lastError})` : ''}`).join(', ')}` : '',
    ].filter(Boolean);
    o.info(`${down.length > 0 ? o.yellow('!') : o.green('✔')} prometheus   ${m.targets.length} target(s), ${parts.join(', ')}`);
    for (const w of m.warnings) o.info(`  ${o.yellow('!')} ${w}`);
  } else {
    ok = false;
    // Waiting for Prometheus does not help when the targets file cannot be written.
    const hint =
      r.monitoring.error instanceof TargetsFileError
        ? 'monitoring.prometheus.targets-dir must be a directory serve can write; the deployment itself is fine, run "serve sync" once it is'
        : 'the deployment itself is fine; run "serve sync" once Prometheus answers';
    o.error(`prometheus sync failed: ${r.monitoring.error.message}`, hint);
  }
  return ok;
}

/** JSON form for `--json`. */
export function integrationsJson(r: IntegrationsResult) {
  const one = <T>(x: Outcome<T>) => ('skipped' in x ? { skipped: true } : x.ok ? { ok: true, ...x.result } : { ok: false, error: x.error.message });
  return { serving: r.serving.map((c) => c.key), gateway: one(r.gateway), monitoring: one(r.monitoring) };
}
