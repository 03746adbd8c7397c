import type { GpuSelection } from '@inferstack/config';
import { PrometheusConfigError } from './errors.js';

/**
 * A model container that is up, as the caller found it (from Docker, not from models.yaml: a
 * configured model whose container is not running is no target). A `ModelSpec` of
 * `@inferstack/config` fits this shape.
 */
export interface RunningModelTarget {
  /** The model key in models.yaml, e.g. `qwen-4b` or `org/name`. Becomes the `model` label. */
  key: string;
  /** The container name, which Prometheus resolves on the Docker network. */
  containerName: string;
  /** The name vLLM serves the model as (vLLM's own metrics carry it as `model_name`). */
  servedModelName: string;
  /** The GPUs the container got. */
  gpus: GpuSelection;
  /** Name of the Docker host the container runs on. @default 'local' */
  host?: string;
  /** The port vLLM listens on inside the container. @default 8000 */
  port?: number;
}

/** One entry of a Prometheus file_sd file: targets sharing one label set. */
export interface FileSdGroup {
  /** `host:port` addresses. */
  targets: string[];
  /** Labels attached to every series scraped from these targets. */
  labels: Record<string, string>;
}

/** The labels {@link renderTargets} puts on every model target (besides Prometheus' `job`, `instance`). */
export const TARGET_LABELS = ['container', 'gpus', 'host', 'model', 'served_model_name'] as const;

/** Port vLLM listens on in inferstack's model containers (`--port 8000`). */
export const DEFAULT_VLLM_PORT = 8000;

/** Value of the `host` label for containers on the local Docker daemon. */
export const DEFAULT_HOST_LABEL = 'local';

// A name Docker's DNS can resolve and Prometheus accepts as a host: no scheme, path, port or spaces.
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The GPUs as a label value: `all`, `none`, or the indices in ascending order (`0,1`). */
export function gpusLabel(gpus: GpuSelection): string {
  switch (gpus.kind) {
    case 'all':
      return 'all';
    case 'none':
      return 'none';
    case 'devices': {
      const indices = [...new Set(gpus.indices)].sort((a, b) => a - b);
      return indices.length ? indices.join(',') : 'none';
    }
  }
}

/** The address Prometheus scrapes for a model: `<container>:<port>`. */
export function targetAddress(model: Pick<RunningModelTarget, 'containerName' | 'port'>): string {
  return `${model.containerName}:${model.port ?? DEFAULT_VLLM_PORT}`;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The file_sd groups for the model containers that are up: one group per container, target
 * `<container>:8000`, labels `model`, `served_model_name`, `gpus`, `host`, `container`. Nothing
 * else from the model's configuration goes in: labels are visible to anyone who can query
 * Prometheus, so no secrets, no environment, no command line.
 *
 * Pure and deterministic: groups are sorted by address, labels by name, so the same models in
 * any order give the same file (and no needless reload).
 *
 * @throws {PrometheusConfigError} every invalid container name or port, and addresses claimed by two models
 */
export function renderTargets(models: readonly RunningModelTarget[]): FileSdGroup[] {
  const problems: string[] = [];
  const byAddress = new Map<string, RunningModelTarget>();
  for (const model of models) {
    const port = model.port ?? DEFAULT_VLLM_PORT;
    if (!HOST_NAME.test(model.containerName)) {
      problems.push(`model "${model.key}": container name "${model.containerName}" is not a host name Prometheus can scrape`);
      continue;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      problems.push(`model "${model.key}": port ${String(port)} is not a TCP port`);
      continue;
    }
    const address = targetAddress(model);
    const other = byAddress.get(address);
    if (other) {
      problems.push(`models "${other.key}" and "${model.key}" both claim the target ${address}`);
      continue;
    }
    byAddress.set(address, model);
  }
  if (problems.length) throw new PrometheusConfigError(problems);

  return [...byAddress.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([address, model]) => ({
      targets: [address],
      // In TARGET_LABELS order (alphabetical), so serialisation is stable.
      labels: {
        container: model.containerName,
        gpus: gpusLabel(model.gpus),
        host: model.host ?? DEFAULT_HOST_LABEL,
        model: model.key,
        served_model_name: model.servedModelName,
      },
    }));
}

/**
 * The file_sd JSON for `groups`: targets and groups sorted, label names sorted, two-space
 * indentation, a final newline. Equal groups give byte-equal text, which is what change
 * detection compares.
 *
 * No groups are written as one group with no targets: after a reload, Prometheus 2.x keeps the
 * previous targets of a file_sd job whose file yields no group at all (seen with 2.42), while an
 * empty group clears them. Prometheus reads both forms as "no targets".
 */
export function serializeTargets(groups: readonly FileSdGroup[]): string {
  const canonical = groups
    .map((group) => ({
      targets: [...group.targets].sort(compare),
      labels: Object.fromEntries(Object.entries(group.labels).sort(([a], [b]) => compare(a, b))),
    }))
    .sort((a, b) => compare(a.targets.join('\n'), b.targets.join('\n')) || compare(JSON.stringify(a.labels), JSON.stringify(b.labels)));
  const body = canonical.length ? canonical : [{ targets: [], labels: {} }];
  return `${JSON.stringify(body, null, 2)}\n`;
}
