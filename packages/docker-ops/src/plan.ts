import { canonicalArgs, formatGpuLabel, type ModelSpec } from '@inferstack/config';
import type { ModelContainer, NamedContainer, ObservedSpec } from './containers.js';
import type { ModelChange } from './changes.js';
import { hasDevRoutes } from './container-spec.js';
import { replacementStrategy } from './gpu-map.js';
import { LABEL_STACK, SPEC_FIELDS, specFieldDigests } from './labels.js';
import { sameAddress } from './publish-address.js';

export type { ModelAction, ModelChange, RecreateReason } from './changes.js';

/** Options for {@link planModels}. */
export interface PlanOptions {
  /** Remove containers of models that are not in `desired` (serving all models). @default false */
  removeOrphans?: boolean;
  /** Recreate every desired model even when unchanged (`--force-recreate`). @default false */
  forceRecreate?: boolean;
  /** The stack's network: a container attached elsewhere is recreated on it. */
  network?: string;
  /**
   * The stack's private network: a model with development routes (sleep mode) must be there
   * and nowhere else (see `modelNetwork`).
   */
  privateNetwork?: string;
  /** The host's GPU indices (what `gpus: all` covers), for the replacement strategy. */
  gpuIndices?: readonly number[];
  /**
   * The address the models of this host publish vLLM's port on (for a gateway on another
   * host), an IP address (`resolvePublishAddress`): a container published elsewhere, or not at
   * all, is recreated.
   */
  publishOn?: string;
  /**
   * Models of the plan that the config runs on another Docker host: their containers here are
   * removed (reason `other-host`), also when not serving all models.
   */
  elsewhere?: ReadonlySet<string>;
}

/** Which fields of a container's recorded spec differ from `spec`. */
export function changedFields(spec: ModelSpec, container: ModelContainer): string[] {
  if (container.specHash === spec.specHash) return [];
  const now = specFieldDigests(spec);
  const was = container.specFields ?? {};
  const changed = SPEC_FIELDS.filter((f) => was[f] !== now[f]);
  // Equal visible fields but another hash: a secret (HF token, API key) changed.
  return changed.length > 0 ? changed : ['secrets'];
}

/** The model and the flags of a container's Cmd, without the `--port`/`--host` we always add. */
function splitCmd(cmd: readonly string[]): { model: string | undefined; args: string[] } {
  const rest = [...cmd];
  let model: string | undefined;
  const i = rest.indexOf('--model');
  if (i >= 0) model = rest.splice(i, 2)[1];
  else if (rest[0] !== undefined && !rest[0].startsWith('-')) model = rest.shift();
  for (const flag of ['--port', '--host']) {
    const at = rest.indexOf(flag);
    if (at >= 0) rest.splice(at, 2);
  }
  return { model, args: rest };
}

/**
 * Which fields of a container made without a recorded spec (the old tool's) differ from `spec`,
 * from what Docker reports it runs. Its environment is not compared: the old tool set other
 * variables than we do, and secrets are not ours to read.
 */
export function changedFieldsOfObserved(spec: ModelSpec, observed: ObservedSpec): string[] {
  const changed: string[] = [];
  if (observed.image !== spec.image) changed.push('image');
  const { model, args } = splitCmd(observed.cmd);
  if (model !== spec.model) changed.push('model');
  if (JSON.stringify(canonicalArgs(args)) !== JSON.stringify(canonicalArgs(spec.vllmArgs))) changed.push('args');
  if (observed.gpus !== formatGpuLabel(spec.gpus)) changed.push('gpus');
  if ((observed.cpusetCpus ?? '') !== (spec.cpusetCpus ?? '')) changed.push('cpuset');
  if ((observed.shmSizeBytes ?? 0) !== (spec.shmSizeBytes ?? 0)) changed.push('shm');
  const binds = (list: readonly string[]) => JSON.stringify([...list].map((b) => b.replace(/:rw$/, '')).sort());
  if (binds(observed.binds) !== binds(spec.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`))) changed.push('volumes');
  return changed;
}

/**
 * Every way a model's container differs from its spec: the recorded spec fields (or, for the
 * old tool's containers, what they run), and the network, which the gateway and Prometheus
 * reach it on.
 */
export function drift(spec: ModelSpec, container: ModelContainer, network?: string, publishOn?: string, privateNetwork?: string): string[] {
  const changed =
    container.specHash === undefined ? (container.observed ? changedFieldsOfObserved(spec, container.observed) : []) : changedFields(spec, container);
  if (privateNetwork && hasDevRoutes(spec)) {
    // Its development routes must be reachable by the stack's own containers only.
    if (!container.networks.includes(privateNetwork) || container.networks.some((n) => n !== privateNetwork)) changed.push('network');
  } else if (network && !container.networks.includes(network)) changed.push('network');
  // The gateway on another host reaches it there: published elsewhere (or not), it cannot.
  if (publishOn !== undefined && !(container.published && sameAddress(container.published.address, publishOn))) changed.push('address');
  return changed;
}

/**
 * Compare the models the config wants with the containers that exist and say, per model,
 * what to do. Pure: no Docker calls, so `--dry-run` and `serve plan` are this function.
 */
export function planModels(desired: readonly ModelSpec[], actual: readonly ModelContainer[], options: PlanOptions = {}): ModelChange[] {
  // Each replica is planned as a model of its own: its containers are those with its key and index.
  const unit = (key: string, replica: number | undefined) => `${key}#${replica ?? 0}`;
  const byUnit = new Map<string, ModelContainer[]>();
  for (const c of actual) byUnit.set(unit(c.key, c.replica), [...(byUnit.get(unit(c.key, c.replica)) ?? []), c]);
  const changes: ModelChange[] = [];

  for (const spec of desired) {
    const found = byUnit.get(unit(spec.key, spec.replica)) ?? [];
    byUnit.delete(unit(spec.key, spec.replica));
    const key = spec.key;
    const replica = spec.replica ? { replica: spec.replica } : {};
    // The container with our name is the model's; any other with its label is a leftover.
    const primary = found.find((c) => c.name === spec.containerName) ?? found[0];
    for (const extra of found) {
      if (extra !== primary) changes.push({ action: 'remove', key, ...replica, container: extra, reason: 'duplicate' });
    }
    if (!primary) {
      changes.push({ action: 'create', key, ...replica, spec });
      continue;
    }
    const adopted = primary.specHash === undefined;
    const changed = drift(spec, primary, options.network, options.publishOn, options.privateNetwork);
    if (options.forceRecreate) {
      changes.push({ action: 'recreate', key, ...replica, spec, container: primary, reason: 'forced', changed, strategy: 'rolling' });
    } else if (changed.length > 0) {
      changes.push({ action: 'recreate', key, ...replica, spec, container: primary, reason: 'changed', changed, strategy: 'rolling' });
    } else if (primary.state === 'restarting' || primary.state === 'dead') {
      changes.push({ action: 'recreate', key, ...replica, spec, container: primary, reason: 'crashed', changed: [], strategy: 'rolling' });
    } else if (primary.state === 'running' && primary.health === 'unhealthy') {
      changes.push({ action: 'recreate', key, ...replica, spec, container: primary, reason: 'unhealthy', changed: [], strategy: 'rolling' });
    } else if (primary.state === 'running') {
      changes.push({ action: 'keep', key, ...replica, spec, container: primary, adopted });
    } else if (isIdleStopped(primary) && spec.idle?.then === 'stop') {
      changes.push({ action: 'keep', key, ...replica, spec, container: primary, adopted, idle: true });
    } else {
      changes.push({ action: 'start', key, ...replica, spec, container: primary });
    }
  }

  // Replicas beyond what a configured model now asks for are its own: they go (drained first).
  const configured = new Set(desired.map((d) => d.key));
  const byKey = new Map<string, ModelContainer[]>();
  for (const containers of byUnit.values()) {
    for (const c of containers) {
      if (configured.has(c.key)) changes.push({ action: 'remove', key: c.key, ...(c.replica ? { replica: c.replica } : {}), container: c, reason: 'scaled-down' });
      else byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
    }
  }
  for (const [key, containers] of byKey) {
    const moved = options.elsewhere?.has(key) ?? false;
    if (!moved && !options.removeOrphans) continue;
    for (const container of containers) {
      changes.push({ action: 'remove', key, ...(container.replica ? { replica: container.replica } : {}), container, reason: moved ? 'other-host' : 'not-in-config' });
    }
  }
  // Only now are all models known: whether the old and new container of each fit together.
  for (const c of changes) if (c.action === 'recreate') Object.assign(c, replacementStrategy(c, changes, options.gpuIndices));
  return changes;
}

/**
 * The restart policy the watcher gives a model it stops because nobody asked for it: a stopped
 * container with it is idle-stopped (the next request starts it), not stopped by hand. Docker
 * does not restart a container that was stopped, whatever its policy.
 */
export const IDLE_STOP_POLICY = 'on-failure';

/** Whether the watcher stopped this container because nobody asked for it. */
export function isIdleStopped(container: Pick<ModelContainer, 'state' | 'restartPolicy'>): boolean {
  return container.state === 'exited' && container.restartPolicy === IDLE_STOP_POLICY;
}

/** Whether a plan changes anything (for `serve plan --exit-code`). */
export function planHasChanges(changes: readonly ModelChange[]): boolean {
  return changes.some((c) => c.action !== 'keep');
}

/**
 * Whether two GPU selections share a GPU (`all` shares with any GPU model; `none` with none; an
 * `auto` model not placed yet may land on any GPU, so it shares as `all` does).
 */
export function gpusOverlap(a: ModelSpec['gpus'], b: ModelSpec['gpus']): boolean {
  if (a.kind === 'none' || b.kind === 'none') return false;
  if (a.kind === 'all' || b.kind === 'all' || a.kind === 'auto' || b.kind === 'auto') return true;
  return a.indices.some((i) => b.indices.includes(i));
}

/** The name of the new container of a rolling replacement, beside the old one. */
export function replacementName(containerName: string): string {
  return `${containerName}-next`;
}

/** A container that holds a name a model needs and is not the stack's to take. */
export interface NameConflict {
  /** The model whose container (or rolling replacement) needs the name. */
  spec: ModelSpec;
  /** The name: the model's container name, or that of its replacement (`<name>-next`). */
  name: string;
  /** The container that holds it. */
  container: { id: string; image: string };
  /** The stack it belongs to (its label, or the stack that adopted it); undefined when none does. */
  stack?: string;
  /** Whether it is a model container (of serve or of the old tool), or something else. */
  model: boolean;
}

/**
 * The names the `desired` models need (their containers' and their replacements') that
 * containers of the daemon hold which are not the stack's own (`own`, as `containersOfStack`
 * found them): another stack's model, one another stack adopted, or a container that is not
 * serve's. `up` would fail half-way on Docker's name conflict, and must never touch another
 * stack's container: the plan refuses instead. Pure.
 */
export function nameConflicts(
  desired: readonly ModelSpec[],
  own: readonly Pick<ModelContainer, 'id'>[],
  daemon: { models: readonly ModelContainer[]; others: readonly NamedContainer[]; claims: ReadonlyMap<string, string> },
): NameConflict[] {
  const mine = new Set(own.map((c) => c.id));
  const byName = new Map<string, { id: string; image: string; labels: Record<string, string>; model: boolean }>();
  for (const c of daemon.models) byName.set(c.name, { ...c, model: true });
  for (const c of daemon.others) byName.set(c.name, { ...c, model: false });
  const out: NameConflict[] = [];
  for (const spec of desired) {
    for (const name of [spec.containerName, replacementName(spec.containerName)]) {
      const holder = byName.get(name);
      if (!holder || mine.has(holder.id)) continue;
      const stack = holder.labels[LABEL_STACK] ?? daemon.claims.get(holder.id.slice(0, 12));
      out.push({ spec, name, container: { id: holder.id, image: holder.image }, ...(stack ? { stack } : {}), model: holder.model });
    }
  }
  return out;
}
