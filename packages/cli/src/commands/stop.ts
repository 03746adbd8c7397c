import { defineCommand } from 'citty';
import { listModelContainers, removeContainer, stopContainer, type ModelContainer } from '@inferstack/docker-ops';
import { asCliError, commonArgs, docker, loadStack, lock, type CommandEnv } from '../context.js';
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
export async function stopOrDown(ctx: CommandEnv, mode: 'stop' | 'down', args: { models: string[]; file: string; timeoutSeconds?: number; json: boolean }): Promise<number> {
  const config = await loadStack(ctx, args.file);
  const client = await docker(ctx);
  const held = await lock(ctx, client, `serve ${mode} ${args.models.join(' ')}`.trim());
  try {
    const all = await listModelContainers(client);
    const containers = targets(args.file, config, args.models, all);
    // Deregister first, so the gateway stops routing before the server goes away.
    const integrations = containers.length > 0 ? await syncIntegrations(ctx, client, config, { excluding: new Set(containers.map((c) => c.key)), containers: all }) : undefined;
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
    if (args.json) ctx.output.json({ [mode === 'stop' ? 'stopped' : 'removed']: results, ...(integrations ? integrationsJson(integrations) : {}) });
    else if (results.length === 0) ctx.output.info('no model containers to ' + mode);
    return results.every((r) => r.ok) && integrationsOk ? ExitCode.ok : ExitCode.failed;
  } finally {
    await held.release();
  }
}

export const stopCommand = defineCommand({ meta: { name: 'stop', description: 'Stop model containers and keep them' }, args: stopArgs });
export const downCommand = defineCommand({ meta: { name: 'down', description: 'Stop and remove model containers' }, args: stopArgs });
