import { planHasChanges, planModels, type ModelChange } from '@inferstack/docker-ops';
import { stackContainers } from './containers.js';
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
  /** The stack's name. */
  stack: string;
  changes: ModelChange[];
  /** Whether anything would change. */
  hasChanges: boolean;
}

/** What `up` would do to the models, from one container listing. Changes nothing, takes no lock. */
export async function plan(ctx: StackContext, options: PlanOptions = {}): Promise<StackPlan> {
  await ctx.resolve();
  const { config } = ctx;
  const models = selectedModels(config, options.models, ctx.cwd);
  const containers = await stackContainers(ctx, models.map((m) => m.key));
  const changes = planModels(models, containers, { removeOrphans: !options.models?.length, forceRecreate: options.forceRecreate, network: config.network });
  return { stack: ctx.name, changes, hasChanges: planHasChanges(changes) };
}
