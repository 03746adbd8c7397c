import { VLLM_CONTAINER_PORT } from '@inferstack/config';
import type { ContainerInfo } from 'dockerode';
import type { DockerClient } from './client.js';
import { DockerApiError, NvidiaRuntimeMissingError, describeDockerError } from './errors.js';
import { claimsOf } from './identity.js';
import { LABEL_ADDRESS_NAME, LABEL_GPU_UTILIZATION, LABEL_GPUS, LABEL_MANAGED, LABEL_MODEL, LABEL_REPLICA, LABEL_SERVED_NAME, LABEL_SPEC_FIELDS, LABEL_SPEC_HASH, LABEL_STACK, decodeFieldDigests } from './labels.js';

/** Docker's container states. */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** Health as Docker's health check reports it (`none` when the container has no check). */
export type ContainerHealth = 'starting' | 'healthy' | 'unhealthy' | 'none';

/** A model container found by its labels. */
export interface ModelContainer {
  id: string;
  name: string;
  /** The model key from `inference.model`. */
  key: string;
  /** Which replica of the model it is (`inferstack.replica`; 0 without the label). */
  replica: number;
  image: string;
  state: ContainerState;
  health: ContainerHealth;
  /** Docker's human status, e.g. `Up 5 minutes (healthy)`. */
  status: string;
  /** Unix seconds. */
  created: number;
  /** Undefined for containers made by the reference tool (adopted). */
  specHash?: string;
  specFields?: Record<string, string>;
  servedModelName?: string;
  gpus?: string;
  /** Its `gpu-memory-utilization`, when it was made with one. */
  gpuMemoryUtilization?: number;
  /**
   * Its restart policy, read for containers that do not run: `no` on a stopped model that was
   * ready once marks one the watcher stopped because nobody asked for it (idle-stopped).
   */
  restartPolicy?: string;
  labels: Record<string, string>;
  /** Addresses on each network, by network name. */
  addresses: Record<string, string>;
  /** Networks it is attached to (also when stopped). */
  networks: string[];
  /** The stack it belongs to (its label); undefined for the old tool's and earlier versions' containers. */
  stack?: string;
  /**
   * Where vLLM's port is published on its Docker host, if it is (a model of another host than
   * the gateway's publishes it on that host's address).
   */
  published?: { address: string; port: number };
  /** The name of the Docker host it was found on (set by callers that manage several). */
  host?: string;
  /**
   * The name it is reached by on its network, which no other container ever has (see
   * `LABEL_ADDRESS_NAME`); undefined for containers made before (the old tool's, earlier
   * versions'), reached by their container name.
   */
  addressName?: string;
  /**
   * For a container without a spec hash (the old tool's): what it really runs, read by
   * {@link listModelContainers}, so that a plan can tell what differs from the config.
   */
  observed?: ObservedSpec;
}

/** What a container runs, as Docker reports it (for containers whose spec we did not record). */
export interface ObservedSpec {
  image: string;
  /** The container's Cmd (what follows the entrypoint). */
  cmd: string[];
  /** `all`, `none` or the device ids, from its device requests. */
  gpus: string;
  shmSizeBytes?: number;
  cpusetCpus?: string;
  /** `source:target[:ro]`. */
  binds: string[];
}

function healthFromStatus(status: string): ContainerHealth {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return 'none';
}

/** Turn Docker's list entry into our view of a model container. */
export function toModelContainer(info: ContainerInfo): ModelContainer {
  const labels = info.Labels ?? {};
  const addresses: Record<string, string> = {};
  for (const [net, cfg] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
    if (cfg.IPAddress) addresses[net] = cfg.IPAddress;
  }
  return {
    id: info.Id,
    name: (info.Names[0] ?? '').replace(/^\//, ''),
    key: labels[LABEL_MODEL] ?? '',
    replica: replicaOf(labels),
    image: info.Image,
    state: info.State as ContainerState,
    health: healthFromStatus(info.Status),
    status: info.Status,
    created: info.Created,
    specHash: labels[LABEL_SPEC_HASH],
    specFields: decodeFieldDigests(labels[LABEL_SPEC_FIELDS]),
    servedModelName: labels[LABEL_SERVED_NAME],
    gpus: labels[LABEL_GPUS],
    ...(labels[LABEL_GPU_UTILIZATION] ? { gpuMemoryUtilization: Number(labels[LABEL_GPU_UTILIZATION]) } : {}),
    labels,
    addresses,
    networks: [...new Set([...Object.keys(info.NetworkSettings?.Networks ?? {}), info.HostConfig?.NetworkMode].filter((n): n is string => Boolean(n) && n !== 'default'))],
    ...(labels[LABEL_STACK] ? { stack: labels[LABEL_STACK] } : {}),
    ...(labels[LABEL_ADDRESS_NAME] ? { addressName: labels[LABEL_ADDRESS_NAME] } : {}),
    ...publishedVllmPort(info),
  };
}

/** The host address and port vLLM's port is published on, from a list entry. */
function publishedVllmPort(info: ContainerInfo): { published?: { address: string; port: number } } {
  const p = (info.Ports ?? []).find((x) => x.PrivatePort === VLLM_CONTAINER_PORT && x.Type === 'tcp' && x.PublicPort);
  return p ? { published: { address: p.IP ?? '0.0.0.0', port: p.PublicPort } } : {};
}

/** Docker's default /dev/shm size, which a container made without --shm-size has. */
const DOCKER_DEFAULT_SHM = 64 * 1024 * 1024;

/** What an inspected container runs (see {@link ObservedSpec}). */
export function observedSpec(info: Awaited<ReturnType<ReturnType<DockerClient['getContainer']>['inspect']>>): ObservedSpec {
  const requests = (info.HostConfig.DeviceRequests ?? []) as Array<{ Count?: number; DeviceIDs?: string[] | null }>;
  const ids = requests.flatMap((r) => r.DeviceIDs ?? []);
  const gpus = requests.length === 0 ? 'none' : requests.some((r) => r.Count === -1) ? 'all' : ids.join(',');
  const cmd = info.Config.Cmd;
  return {
    image: info.Config.Image,
    cmd: Array.isArray(cmd) ? cmd : cmd ? [cmd] : [],
    gpus,
    ...(info.HostConfig.ShmSize && info.HostConfig.ShmSize !== DOCKER_DEFAULT_SHM ? { shmSizeBytes: info.HostConfig.ShmSize } : {}),
    ...(info.HostConfig.CpusetCpus ? { cpusetCpus: info.HostConfig.CpusetCpus } : {}),
    binds: info.HostConfig.Binds ?? [],
  };
}

/**
 * The containers of one stack. Ours carry the stack's label; another stack's are none of its
 * business (not listed, not removed), whatever their network or model. A container without a
 * stack label (the old tool's, or made before stacks had names) belongs to the stack that
 * adopted it (`claims`, by short id); one nobody adopted yet is this stack's to adopt when it
 * runs one of its models or sits on its network.
 */
export function containersOfStack(
  all: readonly ModelContainer[],
  stack: { name?: string; network: string; keys: readonly string[]; claims?: ReadonlyMap<string, string> },
): ModelContainer[] {
  return all.filter((c) => {
    if (c.stack !== undefined) return c.stack === stack.name;
    const adoptedBy = stack.claims?.get(c.id.slice(0, 12));
    if (adoptedBy !== undefined) return adoptedBy === stack.name;
    return stack.keys.includes(c.key) || c.networks.includes(stack.network);
  });
}

/**
 * Every model container on the daemon, ours and the reference tool's (both carry
 * `inference.managed=true`), running or not. One API call, and one inspect per running container
 * whose health check has not passed yet.
 *
 * A running container that Docker has restarted and whose health check has not passed since is
 * reported as `restarting`: it is crash-looping (the listing cannot tell, it is "Up 1 second
 * (health: starting)" between two crashes), so status must not call it running and `up` must
 * recreate it.
 */
export async function listModelContainers(docker: DockerClient, options: { labels?: string[] } = {}): Promise<ModelContainer[]> {
  let infos: ContainerInfo[];
  try {
    infos = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_MANAGED}=true`, ...(options.labels ?? [])] },
    });
  } catch (error) {
    throw new DockerApiError('cannot list containers', error);
  }
  return completeModelContainers(docker, infos.map(toModelContainer).filter((c) => c.key !== ''));
}

/** What the listing cannot tell about model containers, read by inspecting those it concerns. */
async function completeModelContainers(docker: DockerClient, containers: ModelContainer[]): Promise<ModelContainer[]> {
  await Promise.all([
    ...containers
      .filter((c) => c.state === 'running' && c.health === 'starting')
      .map(async (c) => {
        const info = await docker.getContainer(c.id).inspect().catch(() => undefined);
        if ((info?.RestartCount ?? 0) > 0) c.state = 'restarting';
      }),
    // The old tool recorded no spec: what they run is read, so that drift shows. Stopped ones:
    // their restart policy tells an idle-stopped model from one stopped by hand.
    ...containers
      .filter((c) => c.specHash === undefined || c.state !== 'running')
      .map(async (c) => {
        const info = await docker.getContainer(c.id).inspect().catch(() => undefined);
        if (!info) return;
        if (c.specHash === undefined) c.observed = observedSpec(info);
        if (c.state !== 'running') c.restartPolicy = info.HostConfig.RestartPolicy?.Name ?? 'no';
      }),
  ]);
  return containers;
}

/** Any container, by its name: a plan must know who holds each name it is about to take. */
export interface NamedContainer {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
}

/** Everything on one daemon that a plan looks at, from one listing of every container. */
export interface DaemonContainers {
  /** Every model container, of every stack (as {@link listModelContainers} reports them). */
  models: ModelContainer[];
  /** Every other container: services, locks, identities, and whatever is not serve's at all. */
  others: NamedContainer[];
  /** Which stack adopted each container without a stack label, by short id (as `listClaims`). */
  claims: Map<string, string>;
}

/**
 * Every container on the daemon in one API call (plus the inspects of
 * {@link listModelContainers}): the model containers, the names every other container holds,
 * and what the stacks adopted. A plan needs all three, and no more calls than before: a name
 * another stack (or anyone) holds is found before `up` tries to take it.
 */
export async function listDaemonContainers(docker: DockerClient): Promise<DaemonContainers> {
  let infos: ContainerInfo[];
  try {
    infos = await docker.listContainers({ all: true });
  } catch (error) {
    throw new DockerApiError('cannot list containers', error);
  }
  const models: ModelContainer[] = [];
  const others: NamedContainer[] = [];
  for (const info of infos) {
    const model = info.Labels?.[LABEL_MANAGED] === 'true' ? toModelContainer(info) : undefined;
    if (model && model.key !== '') models.push(model);
    else others.push({ id: info.Id, name: (info.Names[0] ?? '').replace(/^\//, ''), image: info.Image, labels: info.Labels ?? {} });
  }
  return { models: await completeModelContainers(docker, models), others, claims: claimsOf(infos) };
}

/**
 * A model container's address on `network`, or, for a container on another single network of
 * the stack (a model that sleeps lives on the stack's private network only), its one address.
 */
export function addressOn(container: Pick<ModelContainer, 'addresses'>, network: string): string | undefined {
  const own = container.addresses[network];
  if (own) return own;
  const all = Object.values(container.addresses);
  return all.length === 1 ? all[0] : undefined;
}

const NVIDIA_MISSING = /could not select device driver .* with capabilities: \[\[gpu\]\]/;

/** Map an error from create/start to a clear one (the NVIDIA runtime case above all). */
export function classifyContainerError(action: string, model: string, error: unknown): Error {
  if (NVIDIA_MISSING.test(describeDockerError(error))) return new NvidiaRuntimeMissingError(model, error);
  return new DockerApiError(action, error);
}

/** Stop a container (SIGTERM, then SIGKILL after `timeoutSeconds`); a stopped one is fine. */
export async function stopContainer(docker: DockerClient, id: string, timeoutSeconds = 30): Promise<void> {
  try {
    await docker.getContainer(id).stop({ t: timeoutSeconds });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 304 || status === 404) return;
    throw new DockerApiError(`cannot stop container ${id.slice(0, 12)}`, error);
  }
}

/** Remove a container, stopping it first when running; a missing one is fine. */
export async function removeContainer(docker: DockerClient, id: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
  await stopContainer(docker, id, options.timeoutSeconds);
  try {
    await docker.getContainer(id).remove({ force: true, v: false });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) return;
    // 409: removal already in progress.
    if (status === 409 && /already in progress/.test(describeDockerError(error))) return;
    throw new DockerApiError(`cannot remove container ${id.slice(0, 12)}`, error);
  }
}

/** The last `tail` lines a container wrote (stdout and stderr, demultiplexed). */
export async function containerLogs(docker: DockerClient, id: string, tail = 300): Promise<string> {
  try {
    const buffer = (await docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
    return demuxLogs(buffer);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return '';
    throw new DockerApiError(`cannot read logs of ${id.slice(0, 12)}`, error);
  }
}

/**
 * Docker multiplexes stdout/stderr of containers without a TTY in frames of an 8-byte header
 * (stream, 0, 0, 0, size as uint32 BE) and a payload. Returns the payloads joined.
 */
export function demuxLogs(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    if (stream === undefined || stream > 2 || buffer[offset + 1] !== 0) {
      // Not multiplexed (a TTY container): the buffer is the text itself.
      return buffer.toString('utf8');
    }
    chunks.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Follow a container's log: `onData` gets each piece of text (stdout and stderr) as it comes,
 * until the container stops or `signal` aborts.
 */
export async function followContainerLogs(
  docker: DockerClient,
  id: string,
  options: { tail?: number; signal?: AbortSignal; onData: (text: string) => void },
): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: true, ...(options.tail !== undefined ? { tail: options.tail } : {}) })) as unknown as NodeJS.ReadableStream;
  } catch (error) {
    throw new DockerApiError(`cannot read logs of ${id.slice(0, 12)}`, error);
  }
  const sink = { write: (chunk: Buffer) => options.onData(chunk.toString('utf8')) } as unknown as NodeJS.WritableStream;
  await new Promise<void>((resolve) => {
    docker.modem.demuxStream(stream, sink, sink);
    stream.on('end', resolve);
    stream.on('error', () => resolve());
    const stop = () => {
      (stream as unknown as { destroy(): void }).destroy();
      resolve();
    };
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
  });
}

/** Start a container (one already running is fine). */
export async function startContainer(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.getContainer(id).start();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 304) return;
    throw classifyContainerError(`cannot start container ${id.slice(0, 12)}`, id.slice(0, 12), error);
  }
}

/** Set a container's restart policy (`unless-stopped` once a model serves; see IDLE_STOP_POLICY). */
export async function setRestartPolicy(docker: DockerClient, id: string, name: string): Promise<void> {
  try {
    await docker.getContainer(id).update({ RestartPolicy: { Name: name, ...(name === 'on-failure' ? { MaximumRetryCount: 1 } : {}) } });
  } catch (error) {
    throw new DockerApiError(`cannot set the restart policy of ${id.slice(0, 12)}`, error);
  }
}

/** A container's replica index from its label: 0 when it has none (or a bad one). */
function replicaOf(labels: Record<string, string>): number {
  const n = Number(labels[LABEL_REPLICA] ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
