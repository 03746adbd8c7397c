import { defineCommand } from 'citty';
import { containersOfStack, listModelContainers, planHasChanges, planModels } from '@inferstack/docker-ops';
import { commonArgs, docker, loadStack, type CommandEnv } from '../context.js';
import { ExitCode } from '../errors.js';
import { planJson, printPlan } from '../plan-view.js';

export const planArgs = {
  models: { type: 'positional', required: false, description: 'Models to plan for (default: all)', valueHint: 'MODEL...' },
  'exit-code': { type: 'boolean', description: 'Exit 3 when something would change (for CI)' },
  'force-recreate': { type: 'boolean', alias: 'force-reload', description: 'Plan as "up --force-recreate" would' },
  json: { type: 'boolean', description: 'Print the plan as JSON' },
  ...commonArgs,
} as const;

/** `serve plan`: what `serve up` would do, changing nothing. */
export async function plan(ctx: CommandEnv, args: { models: string[]; file: string; exitCode: boolean; forceRecreate: boolean; json: boolean }): Promise<number> {
  const config = await loadStack(ctx, args.file, args.models);
  const client = await docker(ctx);
  const changes = planModels(config.models, containersOfStack(await listModelContainers(client), { network: config.network, keys: config.models.map((m) => m.key) }), { removeOrphans: args.models.length === 0, forceRecreate: args.forceRecreate });
  if (args.json) ctx.output.json({ changes: planHasChanges(changes), plan: planJson(changes) });
  else printPlan(ctx.output, changes);
  return args.exitCode && planHasChanges(changes) ? ExitCode.changes : ExitCode.ok;
}

export const planCommand = defineCommand({ meta: { name: 'plan', description: 'Show what "serve up" would change, as a table' }, args: planArgs });
