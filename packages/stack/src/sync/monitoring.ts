import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_HOST, formatGpuLabel, type StackConfig } from '@inferstack/config';
import { signalContainer, type DockerClient, type ModelContainer } from '@inferstack/docker-ops';
import { parseTargets, syncPrometheusTargets, type RunningModelTarget } from '@inferstack/prometheus-sync';
import { prometheusClient } from './prometheus-client.js';
import { containerAddress } from '../models/endpoints.js';
import { hasSeveralHosts } from '../hosts/hosts.js';
import { OLD_TARGETS_FILE, targetsFile } from '../services/monitoring.js';
import type { MonitoringSyncResult } from './types.js';

export type { MonitoringSyncResult } from './types.js';

/**
 * Point Prometheus at exactly the model containers that serve now: write the file_sd targets
 * (only when changed), reload, and read back from Prometheus which targets it knows and whether
 * they are up.
 */
export async function syncMonitoring(
  docker: () => Promise<DockerClient>,
  config: StackConfig,
  serving: readonly ModelContainer[],
  options: {
    dryRun?: boolean;
    signal?: AbortSignal;
    /** Model keys whose targets stay as they are (their Docker host could not be asked). */
    keep?: ReadonlySet<string>;
  },
): Promise<MonitoringSyncResult> {
  const several = hasSeveralHosts(config);
  const models: RunningModelTarget[] = serving.flatMap((c) => {
    const address = containerAddress(config, c);
    if (address === undefined) return [];
    return [
      {
        key: c.key,
        address,
        container: c.name,
        replica: c.replica ?? 0,
        servedModelName: c.servedModelName ?? config.models.find((m) => m.key === c.key)?.servedModelName ?? c.key,
        gpus: c.gpus ?? formatGpuLabel(config.models.find((m) => m.key === c.key)?.gpus ?? { kind: 'all' }),
        // Which Docker host it runs on: the `host` label of its series (and its exporters').
        ...(several ? { host: c.host ?? LOCAL_HOST } : {}),
      },
    ];
  });
  if (options.keep?.size) {
    const now = existsSync(targetsFile(config)) ? parseTargets(readFileSync(targetsFile(config), 'utf8')) : [];
    for (const t of now) if (options.keep.has(t.key) && !models.some((m) => m.key === t.key)) models.push(t);
  }
  if (options.dryRun) return { changed: false, targets: models.map((m) => ({ target: m.address, model: m.key, health: 'planned' })), warnings: [] };
  const result = await syncPrometheusTargets({
    models,
    targetsFile: targetsFile(config),
    client: prometheusClient(config),
    ...(config.monitoring.mode === 'managed' ? { reload: async () => signalContainer(await docker(), config.monitoring.prometheusContainerName, 'SIGHUP') } : {}),
    confirm: { timeoutMs: Number(config.settings.INFERSTACK_PROMETHEUS_CONFIRM_MS ?? 20_000) },
    signal: options.signal,
  });
  const warnings = [...result.warnings];
  // Earlier versions wrote one file for whatever stack synced last; each stack has its own now.
  const old = join(config.monitoring.targetsDir, OLD_TARGETS_FILE);
  if (existsSync(old)) {
    rmSync(old, { force: true });
    warnings.push(`removed ${old}, the targets file of earlier versions: this stack's targets are in ${targetsFile(config)} (a Prometheus of your own reads ${join(config.monitoring.targetsDir, 'inferstack-*.json')})`);
  }
  return {
    changed: result.changed,
    targets: result.targets.map((t) => ({ target: t.target, model: t.model, health: t.health, ...(t.lastError ? { lastError: t.lastError } : {}) })),
    warnings,
  };
}

/** Scrape health of each model target as Prometheus reports it, by container name, or the error. */
export async function scrapeHealth(config: StackConfig): Promise<Map<string, { health: string; lastError: string }> | Error> {
  try {
    const result = await prometheusClient(config, { timeoutMs: 3000 }).targets();
    const out = new Map<string, { health: string; lastError: string }>();
    for (const t of result.activeTargets) {
      const container = t.labels.container ?? t.discoveredLabels.container;
      if (container) out.set(container, { health: t.health, lastError: t.lastError });
    }
    return out;
  } catch (error) {
    return error as Error;
  }
}
