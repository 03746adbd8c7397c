import { defineCommand } from 'citty';
import { containersOfStack, listModelContainers, listServices, removeContainer, stopContainer, type ModelContainer } from '@inferstack/docker-ops';
import type { StackConfig } from '@inferstack/config';
import { asCliError, commonArgs, docker, loadStack, lock, type CommandEnv } from '../context.js';
import { databaseName, needsManagedDatabase } from '../stack/gateway.js';
import { integrationsJson, reportIntegrations, syncIntegrations } from '../stack/integrations.js';
import { CliError, ExitCode } from '../errors.js';

export const stopArgs = {
  models: { type: 'positional', required: false, description: 'Models to act on (default: every model container)', valueHint: 'MODEL...' },
  timeout: { type: 'string', description: 'Seconds vLLM gets to shut down before SIGKILL (default 30)', valueHint: 'SECONDS' },
  json: { type: 'boolean', description: 'Print the result as JSON' },
  ...commonArgs,
} as const;

/**
 * The containers `stop`/`down` act on: the named models (an unknown name that has no container
 * is an error, not a silent skip), or every model container.
 */
function targets(file: string, config: { models: Array<{ key: string }> }, models: string[], all: ModelContainer[]): ModelContainer[] {
  if (models.length === 0) return all;
  const unknown = models.filter((m) => !all.some((c) => c.key === m));
  if (unknown.length > 0) {
    // Names in the config that merely are not running are fine; others are a typo.
    const notInConfig = unknown.filter((m) => !config.models.some((s) => s.key === m));
    if (notInConfig.length > 0) {
      throw new CliError(`no model named ${notInConfig.map((m) => `"${m}"`).join(', ')} in ${file} and no container of that name`, {
        exitCode: ExitCode.badInput,
        hint: `models: ${[...new Set([...config.models.map((s) => s.key), ...all.map((c) => c.key)])].join(', ') || 'none'}`,
      });
    }
  }
  return all.filter((c) => models.includes(c.key));
}

/** `serve stop` / `serve down`. */
export async function stopOrDown(
  ctx: CommandEnv,
  mode: 'stop' | 'down',
  args: { models: string[]; file: string; timeoutSeconds?: number; json: boolean; all?: boolean; volumes?: boolean },
): Promise<number> {
  if (args.volumes && !args.all) throw new CliError('--volumes goes with --all', { exitCode: ExitCode.badInput, hint: 'serve down --all --volumes' });
  if (args.all && args.models.length > 0) throw new CliError('--all removes the whole stack: name no models with it', { exitCode: ExitCode.badInput });
  const config = await loadStack(ctx, args.file);
  const client = await docker(ctx);
  const held = await lock(ctx, client, `serve ${mode} ${args.models.join(' ')}`.trim());
  try {
    const all = containersOfStack(await listModelContainers(client), { network: config.network, keys: config.models.map((m) => m.key) });
    const containers = targets(args.file, config, args.models, all);
    // Deregister first, so the gateway stops routing before the server goes away.
    // With --all the gateway and Prometheus go too: nothing to deregister from.
    const integrations = containers.length > 0 && !args.all ? await syncIntegrations(ctx, client, config, { excluding: new Set(containers.map((c) => c.key)), containers: all }) : undefined;
    const integrationsOk = !integrations || (args.json ? integrations.gateway.ok && integrations.monitoring.ok : reportIntegrations(ctx, integrations));
    const results = await Promise.all(
      containers.map(async (c) => {
        try {
          if (mode === 'stop') await stopContainer(client, c.id, args.timeoutSeconds ?? 30);
          else await removeContainer(client, c.id, { timeoutSeconds: args.timeoutSeconds ?? 30 });
          if (!args.json) ctx.output.info(`${ctx.output.green('✔')} ${c.key}  ${mode === 'stop' ? 'stopped' : 'removed'}`);
          return { model: c.key, container: c.name, ok: true };
        } catch (error) {
          const e = asCliError(error) as Error;
          ctx.output.error(`${c.key}: ${e.message}`);
          return { model: c.key, container: c.name, ok: false, error: e.message };
        }
      }),
    );
    const services = args.all ? await downServices(ctx, config, { volumes: Boolean(args.volumes), json: args.json, timeoutSeconds: args.timeoutSeconds }) : [];
    // The stack's network goes with it once nothing else is attached (another stack may share it).
    if (args.all) await client.getNetwork(config.network).remove().catch(() => {});
    if (args.json) ctx.output.json({ [mode === 'stop' ? 'stopped' : 'removed']: results, ...(args.all ? { services } : {}), ...(integrations ? integrationsJson(integrations) : {}) });
    else if (results.length === 0 && services.length === 0) ctx.output.info('no model containers to ' + mode);
    return results.every((r) => r.ok) && services.every((s) => s.ok) && integrationsOk ? ExitCode.ok : ExitCode.failed;
  } finally {
    await held.release();
  }
}

export const stopCommand = defineCommand({ meta: { name: 'stop', description: 'Stop model containers and keep them' }, args: stopArgs });
export const downArgs = {
  ...stopArgs,
  all: { type: 'boolean', description: 'Also remove the gateway, Prometheus, Grafana and exporters this config runs' },
  volumes: { type: 'boolean', description: 'With --all: also remove their data volumes (database, Prometheus data)' },
} as const;

export const downCommand = defineCommand({ meta: { name: 'down', description: 'Stop and remove model containers (and with --all the whole stack)' }, args: downArgs });

/** Names of the infrastructure containers a config runs. */
export function serviceNames(config: StackConfig): string[] {
  const names: string[] = [];
  if (config.gateway.mode === 'managed') names.push(config.gateway.containerName);
  if (needsManagedDatabase(config)) names.push(databaseName(config));
  if (config.monitoring.mode === 'managed') {
    const m = config.monitoring;
    names.push(m.prometheusContainerName);
    if (m.nodeExporter.enabled) names.push(m.nodeExporter.containerName);
    // The DCGM exporter runs only where GPUs were found: listed so that --all removes it.
    if (m.dcgmExporter.enabled !== false) names.push(m.dcgmExporter.containerName);
    if (m.grafana.enabled) names.push(m.grafana.containerName);
  }
  return names;
}

/** `down --all`: after the models, the infrastructure containers of this config. */
export async function downServices(ctx: CommandEnv, config: StackConfig, options: { volumes: boolean; json: boolean; timeoutSeconds?: number }) {
  const client = await docker(ctx);
  const names = new Set(serviceNames(config));
  const services = (await listServices(client)).filter((s) => names.has(s.name));
  const results = await Promise.all(
    services.map(async (s) => {
      try {
        const info = options.volumes ? await client.getContainer(s.id).inspect() : undefined;
        await removeContainer(client, s.id, { timeoutSeconds: options.timeoutSeconds ?? 10 });
        for (const m of info?.Mounts ?? []) {
          if (m.Type === 'volume' && m.Name) await client.getVolume(m.Name).remove().catch(() => {});
        }
        if (!options.json) ctx.output.info(`${ctx.output.green('✔')} ${s.name}  removed${options.volumes ? ' (with its volumes)' : ''}`);
        return { service: s.name, ok: true };
      } catch (error) {
        const e = asCliError(error) as Error;
        ctx.output.error(`${s.name}: ${e.message}`);
        return { service: s.name, ok: false, error: e.message };
      }
    }),
  );
  return results;
}
