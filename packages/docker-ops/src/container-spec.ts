import { VLLM_CONTAINER_PORT as VLLM_PORT, type ModelSpec } from '@inferstack/config';
import type { ContainerCreateOptions } from 'dockerode';
import { DockerOpsError } from './errors.js';
import { LABEL_ADDRESS_NAME, LABEL_GPUS, modelLabels } from './labels.js';
import { requireIpAddress } from './publish-address.js';

/**
 * How the image's entrypoint takes the model. `serve`: `vllm serve` (v0.12+), a positional
 * model. `api-server`: `python3 -m vllm.entrypoints.openai.api_server`, which rejects a
 * positional model and needs `--model`.
 */
export type ArgvStyle = 'serve' | 'api-server';

/**
 * A container's Engine API create body, as docker-ops sends it. Exported so that the exports
 * (compose, Kubernetes) translate the very body `up` sends without importing Docker's types.
 */
export type ContainerBody = ContainerCreateOptions;

/** Decide the argv style from an image's Entrypoint (`--model` works on both when unsure). */
export function argvStyleForEntrypoint(entrypoint: string[] | string | null | undefined): ArgvStyle {
  const parts = Array.isArray(entrypoint) ? entrypoint : entrypoint ? entrypoint.split(/\s+/) : [];
  return parts.at(-1) === 'serve' ? 'serve' : 'api-server';
}

/** The container's Cmd: what follows the entrypoint. Secrets never appear here. */
export function vllmCommand(spec: ModelSpec, style: ArgvStyle): string[] {
  const model = style === 'serve' ? [spec.model] : ['--model', spec.model];
  return [...model, '--port', String(VLLM_PORT), '--host', '0.0.0.0', ...spec.vllmArgs];
}

/**
 * Whether a model runs vLLM's development routes (`VLLM_SERVER_DEV_MODE=1`: `/sleep`,
 * `/wake_up`, `/collective_rpc`, which vLLM does not protect with its API key). Such a model
 * must be reachable only by the stack's own containers.
 */
export function hasDevRoutes(spec: Pick<ModelSpec, 'env'>): boolean {
  return spec.env.VLLM_SERVER_DEV_MODE === '1';
}

/** The networks a stack's models live on (see {@link modelNetwork}). */
export interface ModelNetworks {
  /** The stack's network (`network:` in models.yaml), shared with whatever else the user runs there. */
  network: string;
  /**
   * The stack's private network, joined only by the stack's own containers (the gateway, the
   * watcher, Prometheus): models with development routes live there alone.
   */
  privateNetwork?: string;
}

/** The network a model's container is attached to. */
export function modelNetwork(spec: Pick<ModelSpec, 'env'>, networks: ModelNetworks): string {
  return networks.privateNetwork && hasDevRoutes(spec) ? networks.privateNetwork : networks.network;
}

/** Health probe run by Docker inside the container; vLLM's image has curl. */
export const HEALTHCHECK_COMMAND = ['CMD', 'curl', '-fsS', `http://localhost:${VLLM_PORT}/health`];

const SECOND_NS = 1_000_000_000;

/** Options for {@link modelContainerOptions}. */
export interface ModelContainerOptions {
  /** The stack's network; a model with development routes goes on `privateNetwork` instead. */
  network: string;
  privateNetwork?: string;
  argvStyle: ArgvStyle;
  /** Labels added to ours (e.g. a test session label). */
  extraLabels?: Record<string, string>;
  /**
   * How long failing health checks are not counted while the model loads (weights download,
   * CUDA graph capture). @default 3600
   */
  healthStartPeriodSeconds?: number;
  /** Another container name (the new container of a rolling replacement). @default spec.containerName */
  name?: string;
  /** DNS names on the network besides the container's name. */
  aliases?: string[];
  /**
   * This container's generation (a few random characters `apply` picks when it creates one):
   * it is also reached as `<spec.containerName>-<generation>`, a name no other container ever
   * has, recorded in `LABEL_ADDRESS_NAME`. Unset (exports): reached by its name only.
   */
  generation?: string;
  /**
   * The GPUs placement chose for a `gpus: auto` model's replica (`planPlacement`), as many as it
   * asks for. They go to Docker and to the `inferstack.gpus` label, where the next placement reads
   * them back (a replica that runs is never moved); the spec hash does not see them. Unset for an
   * `auto` model: a count of GPUs, which Docker (the first ones), Compose and Kubernetes pick.
   */
  gpuDevices?: readonly number[];
  /**
   * Environment beyond the spec's, which the spec hash does not see (so adding it does not make
   * the model look changed): `HF_HUB_OFFLINE=1` for a model whose weights are in its cache. The
   * spec's own variables win.
   */
  startEnv?: Readonly<Record<string, string>>;
  /**
   * Publish vLLM's port on this host address (a port Docker picks), for a gateway on another
   * Docker host. Only there: never on every interface. An IP address (see
   * `resolvePublishAddress`): a name throws. @default not published
   */
  publishOn?: string;
}

/** The GPUs placement gave a `gpus: auto` model, checked against what it asks for. */
function placedGpus(spec: ModelSpec, devices: readonly number[] | undefined): readonly number[] | undefined {
  if (devices === undefined) return undefined;
  if (spec.gpus.kind !== 'auto') {
    throw new DockerOpsError(`${spec.key}: GPUs were placed for it, but it does not have gpus: auto`, { hint: 'pass gpuDevices for gpus: auto models only' });
  }
  if (new Set(devices).size !== spec.gpus.count || devices.length !== spec.gpus.count) {
    throw new DockerOpsError(`${spec.key}: placed on ${devices.length} GPU${devices.length === 1 ? '' : 's'} (${devices.join(', ')}), but it asks for ${spec.gpus.count} GPUs`, {
      hint: 'place it again: planPlacement gives each replica as many GPUs as gpus: auto asks for',
    });
  }
  return devices;
}

/**
 * The Engine API create body for a model container: what the reference tool's `docker run`
 * did (GPUs, IPC host, cpuset, shm, network, HF cache, HF_TOKEN), plus labels and a health check.
 */
export function modelContainerOptions(spec: ModelSpec, options: ModelContainerOptions): ContainerBody {
  const env = { ...options.startEnv, ...spec.env, ...spec.secretEnv };
  const network = modelNetwork(spec, options);
  const addressName = options.generation ? `${spec.containerName}-${options.generation}` : undefined;
  const aliases = [...(options.aliases ?? []), ...(addressName ? [addressName] : [])];
  const binds = spec.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`);
  const placed = placedGpus(spec, options.gpuDevices);
  const deviceRequests =
    spec.gpus.kind === 'all'
      ? [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]
      : spec.gpus.kind === 'devices'
        ? [{ Driver: 'nvidia', DeviceIDs: spec.gpus.indices.map(String), Capabilities: [['gpu']] }]
        : spec.gpus.kind === 'auto'
          ? [placed ? { Driver: 'nvidia', DeviceIDs: placed.map(String), Capabilities: [['gpu']] } : { Driver: 'nvidia', Count: spec.gpus.count, Capabilities: [['gpu']] }]
          : undefined;
  return {
    name: options.name ?? spec.containerName,
    Image: spec.image,
    ...(spec.platform ? { platform: spec.platform } : {}),
    Cmd: vllmCommand(spec, options.argvStyle),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      ...modelLabels(spec, options.extraLabels),
      ...(addressName ? { [LABEL_ADDRESS_NAME]: addressName } : {}),
      ...(placed ? { [LABEL_GPUS]: placed.join(',') } : {}),
    },
    ExposedPorts: { [`${VLLM_PORT}/tcp`]: {} },
    Healthcheck: {
      Test: HEALTHCHECK_COMMAND,
      Interval: 5 * SECOND_NS,
      Timeout: 3 * SECOND_NS,
      Retries: 3,
      StartPeriod: (options.healthStartPeriodSeconds ?? 3600) * SECOND_NS,
    },
    HostConfig: {
      IpcMode: 'host',
      NetworkMode: network,
      Binds: binds,
      ...(deviceRequests ? { DeviceRequests: deviceRequests } : {}),
      ...(spec.cpusetCpus ? { CpusetCpus: spec.cpusetCpus } : {}),
      ...(spec.shmSizeBytes ? { ShmSize: spec.shmSizeBytes } : {}),
      // No restart while it starts: a crash must be seen, not hidden by a restart loop. Once
      // ready, the policy becomes unless-stopped (see apply).
      RestartPolicy: { Name: 'no' },
      ...(options.publishOn ? { PortBindings: { [`${VLLM_PORT}/tcp`]: [{ HostIp: requireIpAddress(options.publishOn, spec.containerName), HostPort: '' }] } } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [network]: aliases.length ? { Aliases: aliases } : {} } },
  };
}
