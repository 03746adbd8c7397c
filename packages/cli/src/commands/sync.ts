import { defineCommand } from 'citty';
import { commonArgs, docker, loadStack, lock, type CommandEnv } from '../context.js';
import { ExitCode } from '../errors.js';
import { integrationsJson, reportIntegrations, syncIntegrations } from '../stack/integrations.js';

export const syncArgs = {
  'dry-run': { type: 'boolean', description: 'Print what would change, change nothing' },
  json: { type: 'boolean', description: 'Print the result as JSON' },
  ...commonArgs,
} as const;

/** `serve sync`: point the gateway and Prometheus at the models that serve now, nothing else. */
export async function sync(ctx: CommandEnv, args: { file: string; dryRun: boolean; json: boolean }): Promise<number> {
  const config = await loadStack(ctx, args.file);
  const client = await docker(ctx);
  const held = args.dryRun ? undefined : await lock(ctx, client, 'serve sync');
  try {
    const r = await syncIntegrations(ctx, client, config, { dryRun: args.dryRun });
    const ok = args.json ? r.gateway.ok && r.monitoring.ok : reportIntegrations(ctx, r);
    if (args.json) ctx.output.json({ ok, ...integrationsJson(r) });
    return ok ? ExitCode.ok : ExitCode.failed;
  } finally {
    await held?.release();
  }
}

export const syncCommand = defineCommand({ meta: { name: 'sync', description: 'Sync the gateway and Prometheus with the models that are up' }, args: syncArgs });
