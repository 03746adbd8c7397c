import { containersOfStack, listModelContainers, planHasChanges, planModels, type ModelChange } from '@inferstack/docker-ops';
import type { StackContext } from './context.js';
import { selectedModels } from './select.js';

/** Options of `plan`. */
export interface PlanOptions {
  /** Plan for these models only (others are left alone, none is removed). @default all */
  models?: readonly string[];
  /** Plan as `up` with `forceRecreate` would. */
  forceRecreate?: boolean;
}

/** What `up` would do. */
export interface StackPlan {
  changes: ModelChange[];
  /** Whether anything would change. */
  hasChanges: boolean;
}

/** What `up` would do to the models, from one container listing. Changes nothing, takes no lock. */
export async function plan(ctx: StackContext, options: PlanOptions = {}): Promise<StackPlan> {
  const { config } = ctx;
  const models = selectedModels(config, options.models, ctx.cwd);
  const containers = containersOfStack(await listModelContainers(await ctx.docker()), { network: config.network, keys: models.map((m) => m.key) });
  const changes = planModels(models, containers, { removeOrphans: !options.models?.length, forceRecreate: options.forceRecreate });
  return { changes, hasChanges: planHasChanges(changes) };
}
