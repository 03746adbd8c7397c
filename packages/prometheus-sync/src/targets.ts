import { PrometheusConfigError } from './errors.js';

/**
 * A model server that is up, as the caller found it (from Docker, not from models.yaml: a
 * configured model whose container is not running is no target), described by the address
 * Prometheus scrapes.
 */
export interface RunningModelTarget {
  /** The model's name in the caller's config, e.g. `qwen-4b` or `org/name`. Becomes the `model` label. */
  key: string;
  /** `host:port` Prometheus scrapes `/metrics` on (a container name on a Docker network, an IP...). */
  address: string;
  /** The name vLLM serves the model as (vLLM's own metrics carry it as `model_name`). */
  servedModelName: string;
  /** The GPUs it has, as a label value (`0,1`, `all`, `none`). No `gpus` label when absent. */
  gpus?: string;
  /** Name of the machine (Docker host) it runs on. @default 'local' */
  host?: string;
  /** Its container's name. @default the host part of `address` */
  container?: string;
  /** Which replica of the model it is (0 for the first), when the model may run several. No `replica` label when absent. */
  replica?: number;
}

/** One entry of a Prometheus file_sd file: targets sharing one label set. */
export interface FileSdGroup {
  /** `host:port` addresses. */
  targets: string[];
  /** Labels attached to every series scraped from these targets. */
  labels: Record<string, string>;
}

/** The labels {@link renderTargets} may put on a model target (besides Prometheus' `job`, `instance`). */
export const TARGET_LABELS = ['container', 'gpus', 'host', 'model', 'replica', 'served_model_name'] as const;

/** Value of the `host` label for models whose host is not given. */
export const DEFAULT_HOST_LABEL = 'local';

// A name DNS can resolve and Prometheus accepts as a host: no scheme, path or spaces.
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

/** Split `host:port`; undefined when it is not one. */
function splitAddress(address: string): { host: string; port: number } | undefined {
  const i = address.lastIndexOf(':');
  if (i <= 0) return undefined;
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  if (!HOST_NAME.test(host) && !IPV6.test(host)) return undefined;
  if (!/^\d+$/.test(address.slice(i + 1)) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The file_sd groups for the model servers that are up: one group per server, target its
 * address, labels `model`, `served_model_name`, `gpus`, `host`, `container`, `replica`. Nothing else from
 * the model's configuration goes in: labels are visible to anyone who can query Prometheus, so
 * no secrets, no environment, no command line.
 *
 * Pure and deterministic: groups are sorted by address, labels by name, so the same models in
 * any order give the same file (and no needless reload).
 *
 * @throws {PrometheusConfigError} every address that is not `host:port`, and addresses claimed by two models
 */
export function renderTargets(models: readonly RunningModelTarget[]): FileSdGroup[] {
  const problems: string[] = [];
  const byAddress = new Map<string, RunningModelTarget>();
  for (const model of models) {
    const address = model.address;
    if (!splitAddress(address)) {
      problems.push(`model "${model.key}": "${address}" is not a host:port Prometheus can scrape`);
      continue;
    }
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
        container: model.container ?? splitAddress(address)!.host,
        ...(model.gpus ? { gpus: model.gpus } : {}),
        host: model.host ?? DEFAULT_HOST_LABEL,
        model: model.key,
        ...(model.replica !== undefined ? { replica: String(model.replica) } : {}),
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

/**
 * The model targets a file_sd text written by {@link serializeTargets} holds: the inverse of
 * {@link renderTargets}, so that a sync can keep the targets it cannot re-check (a Docker host
 * that did not answer). Groups without a `model` label (not ours) and unreadable text give none.
 */
export function parseTargets(text: string): RunningModelTarget[] {
  let groups: unknown;
  try {
    groups = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(groups)) return [];
  const out: RunningModelTarget[] = [];
  for (const group of groups as Array<Partial<FileSdGroup>>) {
    const labels = group?.labels ?? {};
    const address = group?.targets?.[0];
    if (typeof address !== 'string' || typeof labels.model !== 'string') continue;
    out.push({
      key: labels.model,
      address,
      servedModelName: labels.served_model_name ?? labels.model,
      ...(labels.gpus ? { gpus: labels.gpus } : {}),
      ...(labels.host ? { host: labels.host } : {}),
      ...(labels.container ? { container: labels.container } : {}),
      ...(labels.replica !== undefined && /^[0-9]+$/.test(labels.replica) ? { replica: Number(labels.replica) } : {}),
    });
  }
  return out;
}
