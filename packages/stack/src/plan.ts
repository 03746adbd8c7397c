import { gpuMap, planHasChanges, planModels, type GpuMap, type ModelChange } from '@inferstack/docker-ops';
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
  /** Per GPU, the models on it and their `gpu-memory-utilization` summed, now and after `up`. */
  gpus: GpuMap;
}

/** What `up` would do to the models, from one container listing. Changes nothing, takes no lock. */
export async function plan(ctx: StackContext, options: PlanOptions = {}): Promise<StackPlan> {
  await ctx.resolve();
  const { config } = ctx;
  const models = selectedModels(config, options.models, ctx.cwd);
  const [containers, gpus] = await Promise.all([stackContainers(ctx, models.map((m) => m.key)), ctx.localGpus()]);
  // What `gpus: all` covers, when this machine's GPUs are known.
  const gpuIndices = gpus === 'unavailable' ? [] : gpus.map((g) => g.index);
  const changes = planModels(models, containers, { removeOrphans: !options.models?.length, forceRecreate: options.forceRecreate, network: config.network, gpuIndices });
  return { stack: ctx.name, changes, hasChanges: planHasChanges(changes), gpus: gpuMap(changes, gpuIndices) };
}
