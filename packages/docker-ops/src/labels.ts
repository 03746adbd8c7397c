import { createHash } from 'node:crypto';
import { formatGpuLabel, type ModelSpec } from '@inferstack/config';

/** Labels the reference tool put on model containers; kept so its containers are adopted. */
export const LABEL_MANAGED = 'inference.managed';
export const LABEL_MODEL = 'inference.model';
/** Labels only inferstack writes. */
export const LABEL_SPEC_HASH = 'inferstack.spec-hash';
export const LABEL_SPEC_FIELDS = 'inferstack.spec-fields';
export const LABEL_SERVED_NAME = 'inferstack.served-model-name';
export const LABEL_GPUS = 'inferstack.gpus';
export const LABEL_KIND = 'inferstack.kind';
/** Label on infrastructure containers (gateway, Prometheus, Grafana, exporters): their kind. */
export const LABEL_SERVICE = 'inferstack.service';
/** The stack (project) a container, network or volume belongs to. */
export const LABEL_STACK = 'inferstack.stack';
/**
 * The name this model container is reached by on its network: `<container name>-<generation>`,
 * its own and no other container's, ever (a replacement gets another). A route or a scrape
 * target that names it can never reach another container, whatever address a cache holds.
 */
export const LABEL_ADDRESS_NAME = 'inferstack.address-name';
/**
 * Which replica of its model a container is (`0` for the first; `replicas:` in models.yaml).
 * Containers made before replicas existed have none and are the first.
 */
export const LABEL_REPLICA = 'inferstack.replica';
/** A model container's `gpu-memory-utilization`: what it holds on each of its GPUs. */
export const LABEL_GPU_UTILIZATION = 'inferstack.gpu-memory-utilization';

/** Fields of a spec whose change is reported by name in a plan. */
export const SPEC_FIELDS = ['image', 'model', 'args', 'gpus', 'cpuset', 'shm', 'env', 'volumes'] as const;
export type SpecField = (typeof SPEC_FIELDS)[number];

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 8);
}

/**
 * Short per-field digests, so a later plan can say which fields changed. Secrets are left out:
 * they reach the container only through the spec hash, which is keyed. A hash change with no
 * field change therefore means a secret changed.
 */
export function specFieldDigests(spec: ModelSpec): Record<SpecField, string> {
  return {
    image: digest([spec.image, spec.platform ?? null]),
    model: digest(spec.model),
    args: digest(spec.vllmArgs),
    gpus: digest(formatGpuLabel(spec.gpus)),
    cpuset: digest(spec.cpusetCpus ?? null),
    shm: digest(spec.shmSizeBytes ?? null),
    env: digest(Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))),
    volumes: digest(spec.volumes),
  };
}

export function encodeFieldDigests(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function decodeFieldDigests(label: string | undefined): Record<string, string> | undefined {
  if (!label) return undefined;
  const out: Record<string, string> = {};
  for (const part of label.split(',')) {
    const [k, v] = part.split('=');
    if (k && v !== undefined) out[k] = v;
  }
  return out;
}

/** Every label a model container gets. No secrets and no raw config in here. */
export function modelLabels(spec: ModelSpec, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...extra,
    [LABEL_MANAGED]: 'true',
    [LABEL_MODEL]: spec.key,
    [LABEL_KIND]: 'model',
    [LABEL_SPEC_HASH]: spec.specHash,
    [LABEL_SPEC_FIELDS]: encodeFieldDigests(specFieldDigests(spec)),
    [LABEL_SERVED_NAME]: spec.servedModelName,
    [LABEL_GPUS]: formatGpuLabel(spec.gpus),
    [LABEL_REPLICA]: String(spec.replica ?? 0),
    ...(spec.gpuMemoryUtilization !== undefined ? { [LABEL_GPU_UTILIZATION]: String(spec.gpuMemoryUtilization) } : {}),
  };
}
