import type { ModelSpec } from '@inferstack/config';
import type { ModelContainer } from './containers.js';

/* What a plan decides per model, as plain types (the plan and the GPU map both read them). */

/**
 * What `apply` will do for one model, or one replica of it: `replica` is the replica's index
 * (absent for the first, and for models with one replica).
 */
export type ModelChange = (
  | { action: 'create'; key: string; spec: ModelSpec }
  | {
      action: 'recreate';
      key: string;
      spec: ModelSpec;
      container: ModelContainer;
      reason: RecreateReason;
      changed: string[];
      /** `rolling`: the new container takes over once ready; `in-place`: the old one goes first (`why`). */
      strategy: 'rolling' | 'in-place';
      why?: string;
    }
  | { action: 'start'; key: string; spec: ModelSpec; container: ModelContainer }
  | {
      action: 'keep';
      key: string;
      spec: ModelSpec;
      container: ModelContainer;
      adopted: boolean;
      /** Stopped by the watcher because nobody asked for it: the next request starts it. */
      idle?: boolean;
    }
  | { action: 'remove'; key: string; container: ModelContainer; reason: 'not-in-config' | 'duplicate' | 'other-host' | 'scaled-down' }
) & {
  replica?: number;
  /** For a create or recreate of a `gpus: auto` replica: the GPUs placement gave it (`modelContainerOptions`' `gpuDevices`). */
  gpuDevices?: readonly number[];
  /**
   * For a create or recreate: environment the new container starts with beyond its spec's, not
   * part of the spec hash (`HF_HUB_OFFLINE=1` once its weights are in the cache: see `offlineStartEnv`).
   */
  startEnv?: Readonly<Record<string, string>>;
};

export type RecreateReason = 'changed' | 'forced' | 'crashed' | 'unhealthy';
export type ModelAction = ModelChange['action'];
