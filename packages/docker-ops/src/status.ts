import { formatGpuLabel, type ModelSpec } from '@inferstack/config';
import type { ContainerHealth, ContainerState, ModelContainer } from './containers.js';
import { drift } from './plan.js';
import { replicaIndices, replicaSpecs } from './replicas.js';

/** How a model's container compares with the config. */
export type SyncState = 'in-sync' | 'changed' | 'adopted' | 'orphan' | 'missing';

/** One row of `serve status`. */
export interface ModelStatus {
  key: string;
  containerName: string;
  state: ContainerState | 'absent';
  health: ContainerHealth;
  sync: SyncState;
  /** Fields that differ from the config when `sync` is `changed`. */
  changed: string[];
  gpus: string;
  image: string;
  /** Docker's status text (`Up 2 hours (healthy)`), with the uptime. */
  status: string;
  servedModelName?: string;
  container?: ModelContainer;
  /**
   * Which replica the row is (0 for the first), on every row of a model that may run several
   * (`replicas:` above 1) and of a replica container beyond the first; absent otherwise.
   */
  replica?: number;
}

/**
 * One row per model in the config (per replica, for a model with several) and per model
 * container not in it (orphans; a replica beyond what its model asks for). Pure: the caller
 * lists containers once.
 */
export function modelStatuses(
  specs: readonly ModelSpec[],
  containers: readonly ModelContainer[],
  options: {
    network?: string;
    /** The stack's private network (see `PlanOptions.privateNetwork`). */
    privateNetwork?: string;
    /** The address this host's models publish vLLM's port on (see `PlanOptions.publishOn`). */
    publishOn?: string;
    /**
     * The replicas to show of a model, by key, where not those it asks for: a model placed over
     * several hosts shows on each host the replicas that run there.
     */
    replicas?: ReadonlyMap<string, readonly number[]>;
  } = {},
): ModelStatus[] {
  const rows: ModelStatus[] = [];
  const seen = new Set<string>();
  for (const model of specs) {
    const own = containers.filter((c) => c.key === model.key);
    const several = model.replicas.max > 1 || own.some((c) => c.replica > 0);
    // A row per replica the model asks for (those of a scaling model that run, at least one).
    const indices = options.replicas?.get(model.key) ?? replicaIndices(model, own.filter((c) => c.state === 'running').map((c) => c.replica));
    for (const spec of replicaSpecs(model, indices)) {
      const replica = spec.replica ?? 0;
      const mine = own.filter((c) => c.replica === replica);
      const container = mine.find((c) => c.name === spec.containerName) ?? mine[0];
      for (const c of mine) seen.add(c.id);
      const changed = container ? drift(spec, container, options.network, options.publishOn, options.privateNetwork) : [];
      rows.push({
        key: spec.key,
        containerName: spec.containerName,
        state: container?.state ?? 'absent',
        health: container?.health ?? 'none',
        sync: !container ? 'missing' : changed.length > 0 ? 'changed' : container.specHash === undefined ? 'adopted' : 'in-sync',
        changed,
        gpus: container?.gpus ?? formatGpuLabel(spec.gpus),
        image: container?.image ?? spec.image,
        status: container?.status ?? 'not created',
        servedModelName: spec.servedModelName,
        container,
        ...(several ? { replica } : {}),
      });
    }
  }
  for (const c of containers) {
    if (seen.has(c.id)) continue;
    rows.push({
      key: c.key,
      containerName: c.name,
      state: c.state,
      health: c.health,
      sync: 'orphan',
      changed: [],
      gpus: c.gpus ?? '?',
      image: c.image,
      status: c.status,
      servedModelName: c.servedModelName,
      container: c,
      ...(c.replica > 0 ? { replica: c.replica } : {}),
    });
  }
  return rows;
}
