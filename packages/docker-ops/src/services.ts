import { createHash, createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import type { DockerClient } from './client.js';
import type { ContainerBody } from './container-spec.js';
import { classifyContainerError, removeContainer } from './containers.js';
import { connectNetwork, ensureNetwork } from './networks.js';
import { DockerApiError, DockerOpsError, ForeignContainerError, OperationAbortedError } from './errors.js';
import { ensureImage } from './images.js';
import { LABEL_KIND, LABEL_SERVICE, LABEL_SPEC_FIELDS, LABEL_SPEC_HASH, LABEL_STACK, decodeFieldDigests, encodeFieldDigests } from './labels.js';
import { requireIpAddress, resolvePublishAddress } from './publish-address.js';
import { tarArchive, type TarEntry } from './tar.js';
import type { PullPolicy } from '@inferstack/config';

/** An infrastructure container: the gateway, Prometheus, Grafana, an exporter. */
export interface ServiceSpec {
  /** Container name, e.g. `litellm`. */
  name: string;
  /** What it is, e.g. `gateway`, `prometheus`. */
  kind: string;
  image: string;
  pullPolicy?: PullPolicy;
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  /** Never in labels; enters the spec hash only as a keyed digest. */
  secretEnv?: Record<string, string>;
  /** `host:container[:ro]` or `volume:container`. */
  binds?: string[];
  /** Published ports; `host` 0: a port Docker picks (read it back from {@link ServiceContainer.ports}). */
  ports?: Array<{ container: number; host: number; hostIp?: string }>;
  network: string;
  /** Network aliases (DNS names) besides the container name. */
  aliases?: string[];
  /**
   * Further networks it joins (the stack's private network). Not part of the spec hash: a
   * running container is attached without being recreated, so it keeps serving.
   */
  extraNetworks?: string[];
  user?: string;
  healthcheck?: { test: string[]; intervalSeconds?: number; startPeriodSeconds?: number };
  /** Give it every NVIDIA GPU (the DCGM exporter). */
  gpus?: boolean;
  /**
   * Extra `/etc/hosts` entries, `name:address` (`docker run --add-host`); the address
   * `host-gateway` is the Docker host (Engine 20.10+), e.g. `host.docker.internal:host-gateway`.
   */
  extraHosts?: string[];
  /**
   * Files copied into the container before it first starts (the watcher's program): they live
   * in the container, so it needs no mount of a directory that may go away. Their digests are
   * part of the spec hash.
   */
  files?: { dir: string; entries: TarEntry[] };
}

/** What {@link ensureService} did. */
export interface ServiceResult {
  id: string;
  action: 'created' | 'recreated' | 'started' | 'kept';
  /** Fields... not tracked per field for services: whether the spec hash differed. */
  changed: boolean;
}

const SECOND_NS = 1_000_000_000;

/** Stable digest of a service spec; secrets only keyed. */
export function serviceSpecHash(spec: ServiceSpec, hashKey: string): string {
  const secrets = Object.entries(spec.secretEnv ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, createHmac('sha256', hashKey).update(`${k}\0${v}`).digest('hex').slice(0, 16)]);
  const files = spec.files
    ? { dir: spec.files.dir, entries: spec.files.entries.map((e) => [e.name, e.mode ?? 0o644, createHash('sha256').update(e.content).digest('hex')]) }
    : undefined;
  const { extraNetworks: _attachedLive, ...hashed } = spec;
  const visible = { ...hashed, secretEnv: secrets, env: Object.entries(spec.env ?? {}).sort(([a], [b]) => a.localeCompare(b)), files };
  return createHash('sha256').update(JSON.stringify(visible)).digest('hex').slice(0, 16);
}

/**
 * The fields of a service spec a plan names when they change, by the name it shows: every field
 * but the name, the kind (another name or kind is another container) and the secrets, which
 * reach a label only through the keyed spec hash, and the further networks, which are joined
 * live and never recreate it. A field added to {@link ServiceSpec} must be named here (the type
 * says so).
 */
const SERVICE_FIELDS: Record<Exclude<keyof ServiceSpec, 'name' | 'kind' | 'secretEnv' | 'extraNetworks'>, string> = {
  image: 'image',
  pullPolicy: 'pull',
  entrypoint: 'entrypoint',
  cmd: 'command',
  env: 'env',
  binds: 'mounts',
  ports: 'ports',
  network: 'network',
  aliases: 'aliases',
  user: 'user',
  healthcheck: 'healthcheck',
  gpus: 'gpus',
  extraHosts: 'extra-hosts',
  files: 'files',
};

/**
 * Short digests of a service spec's visible fields, recorded on its container, so that a later
 * plan can say which fields changed (as models record theirs). Secrets are left out: a hash
 * change with equal fields means a secret (or the stack's hash key) changed.
 */
export function serviceFieldDigests(spec: ServiceSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, shown] of Object.entries(SERVICE_FIELDS) as Array<[keyof typeof SERVICE_FIELDS, string]>) {
    const value = spec[field];
    if (value === undefined) continue;
    const normal =
      field === 'env'
        ? Object.entries(spec.env ?? {}).sort(([a], [b]) => a.localeCompare(b))
        : field === 'files' && spec.files
          ? { dir: spec.files.dir, entries: spec.files.entries.map((e) => [e.name, e.mode ?? 0o644, createHash('sha256').update(e.content).digest('hex')]) }
          : value;
    out[shown] = createHash('sha256').update(JSON.stringify(normal)).digest('hex').slice(0, 8);
  }
  return out;
}

/** The Engine API create body for a service. */
export function serviceContainerOptions(spec: ServiceSpec, hash: string, extraLabels: Record<string, string> = {}): ContainerBody {
  const env = { ...spec.env, ...spec.secretEnv };
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of spec.ports ?? []) {
    exposed[`${p.container}/tcp`] = {};
    bindings[`${p.container}/tcp`] = [{ HostIp: requireIpAddress(p.hostIp ?? '127.0.0.1', spec.name), HostPort: p.host ? String(p.host) : '' }];
  }
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...extraLabels, [LABEL_SERVICE]: spec.kind, [LABEL_KIND]: 'service', [LABEL_SPEC_HASH]: hash, [LABEL_SPEC_FIELDS]: encodeFieldDigests(serviceFieldDigests(spec)) },
    ExposedPorts: exposed,
    ...(spec.healthcheck
      ? {
          Healthcheck: {
            Test: spec.healthcheck.test,
            Interval: (spec.healthcheck.intervalSeconds ?? 5) * SECOND_NS,
            Timeout: 3 * SECOND_NS,
            Retries: 3,
            StartPeriod: (spec.healthcheck.startPeriodSeconds ?? 60) * SECOND_NS,
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: spec.network,
      Binds: spec.binds ?? [],
      PortBindings: bindings,
      RestartPolicy: { Name: 'unless-stopped' },
      ...(spec.gpus ? { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] } : {}),
      ...(spec.extraHosts?.length ? { ExtraHosts: spec.extraHosts } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: spec.aliases ?? [] } } },
  };
}

/** A service container as listed. */
export interface ServiceContainer {
  id: string;
  name: string;
  kind: string;
  state: string;
  status: string;
  specHash?: string;
  image: string;
  /** Its stack's name; undefined for containers made before stacks had names. */
  stack?: string;
  /** The ports it publishes (running containers only). */
  ports: Array<{ container: number; address: string; port: number }>;
}

/** The service containers on the daemon, by kind. */
export async function listServices(docker: DockerClient): Promise<ServiceContainer[]> {
  try {
    const list = await docker.listContainers({ all: true, filters: { label: [LABEL_SERVICE] } });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      kind: c.Labels[LABEL_SERVICE] ?? '',
      state: c.State,
      status: c.Status,
      specHash: c.Labels[LABEL_SPEC_HASH],
      image: c.Image,
      ...(c.Labels[LABEL_STACK] ? { stack: c.Labels[LABEL_STACK] } : {}),
      ports: (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => ({ container: p.PrivatePort, address: p.IP ?? '0.0.0.0', port: p.PublicPort })),
    }));
  } catch (error) {
    throw new DockerApiError('cannot list service containers', error);
  }
}

/** A service's container as a plan sees it: what {@link inspectService} read. */
export interface ObservedService {
  id: string;
  labels: Record<string, string>;
  /** Docker's `State.Running` (also true while it restarts or is paused). */
  running: boolean;
}

/**
 * What {@link ensureService} would do with a service container: create it (missing), recreate
 * it (its spec changed: `changed` names the fields, empty when its container predates recorded
 * fields; or `forced`), start it (stopped), keep it, or refuse (`conflict`: a container of that
 * name that is not this stack's, which is never touched).
 */
export type ServiceChange =
  | { action: 'create' }
  | { action: 'recreate'; reason: 'changed' | 'forced'; changed: string[]; container: ObservedService }
  | { action: 'start'; container: ObservedService }
  | { action: 'keep'; container: ObservedService }
  | { action: 'conflict'; container: ObservedService; owner?: string };

/** The container named `name`, as {@link planService} needs it; undefined when there is none. */
export async function inspectService(docker: DockerClient, name: string): Promise<ObservedService | undefined> {
  try {
    const info = await docker.getContainer(name).inspect();
    return { id: info.Id, labels: info.Config.Labels ?? {}, running: info.State.Running };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError(`cannot inspect ${name}`, error);
  }
}

/**
 * Decide what to do with a service container, from `spec` and what exists under its name.
 * Pure: `serve plan` shows this decision and {@link ensureService} carries out the same one.
 * `stack`: the stack's name (its label); a container of another stack, or one without our
 * service label, is a conflict.
 */
export function planService(spec: ServiceSpec, existing: ObservedService | undefined, options: { hashKey: string; stack?: string; forceRecreate?: boolean }): ServiceChange {
  if (!existing) return { action: 'create' };
  const labels = existing.labels;
  const ours = labels[LABEL_SERVICE] === spec.kind && (labels[LABEL_STACK] === undefined || labels[LABEL_STACK] === options.stack);
  if (!ours) return { action: 'conflict', container: existing, ...(labels[LABEL_STACK] !== undefined ? { owner: labels[LABEL_STACK] } : {}) };
  if (options.forceRecreate) return { action: 'recreate', reason: 'forced', changed: [], container: existing };
  const hash = serviceSpecHash(spec, options.hashKey);
  if (labels[LABEL_SPEC_HASH] !== hash) return { action: 'recreate', reason: 'changed', changed: changedServiceFields(spec, labels), container: existing };
  return existing.running ? { action: 'keep', container: existing } : { action: 'start', container: existing };
}

/** The fields whose recorded digests differ; `secrets` when none does; empty when none were recorded. */
function changedServiceFields(spec: ServiceSpec, labels: Record<string, string>): string[] {
  const was = decodeFieldDigests(labels[LABEL_SPEC_FIELDS]);
  if (!was) return [];
  const now = serviceFieldDigests(spec);
  const changed = Object.values(SERVICE_FIELDS).filter((f) => was[f] !== now[f]);
  return changed.length > 0 ? changed : ['secrets'];
}

/**
 * Make a service container match `spec`: create it when missing, recreate it when its spec
 * changed, start it when stopped, keep it otherwise ({@link planService} decides). Same
 * treatment as models, no readiness wait (the caller knows how to probe each service).
 * @throws {ForeignContainerError} when a container of that name is not this stack's
 */
export async function ensureService(
  docker: DockerClient,
  spec: ServiceSpec,
  options: { hashKey: string; extraLabels?: Record<string, string>; forceRecreate?: boolean },
): Promise<ServiceResult> {
  // A port published on a name would be published on every interface: its IP, resolved now.
  const ports = spec.ports ?? [];
  if (ports.some((p) => p.hostIp !== undefined && !isIP(p.hostIp))) {
    spec = { ...spec, ports: await Promise.all(ports.map(async (p) => (p.hostIp === undefined ? p : { ...p, hostIp: (await resolvePublishAddress(p.hostIp)).ip }))) };
  }
  for (const network of [spec.network, ...(spec.extraNetworks ?? [])]) await ensureNetwork(docker, network, options.extraLabels);
  const existing = await inspectService(docker, spec.name);
  const change = planService(spec, existing, { hashKey: options.hashKey, stack: options.extraLabels?.[LABEL_STACK], forceRecreate: options.forceRecreate });
  // Further networks are joined live: a kept container keeps serving.
  const attach = async (id: string) => {
    for (const network of spec.extraNetworks ?? []) await connectNetwork(docker, id, network);
  };
  switch (change.action) {
    case 'conflict':
      throw new ForeignContainerError(spec.name, change.owner);
    case 'keep':
      await attach(change.container.id);
      return { id: change.container.id, action: 'kept', changed: false };
    case 'start':
      await attach(change.container.id);
      await docker.getContainer(change.container.id).start().catch((error: unknown) => {
        throw classifyContainerError(`cannot start ${spec.name}`, spec.name, error);
      });
      return { id: change.container.id, action: 'started', changed: false };
    case 'recreate':
      await removeContainer(docker, change.container.id, { timeoutSeconds: 10 });
      break;
    case 'create':
      break;
  }
  const hash = serviceSpecHash(spec, options.hashKey);
  await ensureImage(docker, spec.image, { policy: spec.pullPolicy });
  await ensureVolumes(docker, spec, options.extraLabels ?? {});
  let id: string;
  try {
    id = (await docker.createContainer(serviceContainerOptions(spec, hash, options.extraLabels))).id;
    for (const network of spec.extraNetworks ?? []) await connectNetwork(docker, id, network);
    if (spec.files) await docker.getContainer(id).putArchive(tarArchive(spec.files.entries), { path: spec.files.dir });
    await docker.getContainer(id).start();
  } catch (error) {
    throw classifyContainerError(`cannot start ${spec.name}`, spec.name, error);
  }
  return { id, action: change.action === 'recreate' ? 'recreated' : 'created', changed: true };
}

/** Named volumes of a service, made with our labels before the container would make them bare. */
async function ensureVolumes(docker: DockerClient, spec: ServiceSpec, labels: Record<string, string>): Promise<void> {
  for (const bind of spec.binds ?? []) {
    const source = bind.split(':')[0] ?? '';
    if (!source || source.startsWith('/')) continue;
    try {
      // Creating a volume that exists is a no-op answered with the existing one.
      await docker.createVolume({ Name: source, Labels: labels });
    } catch (error) {
      throw new DockerApiError(`cannot create volume ${source}`, error);
    }
  }
}

/** Restart a container (the gateway in config-file mode, after its model list changed). */
export async function restartContainer(docker: DockerClient, id: string, timeoutSeconds = 10): Promise<void> {
  try {
    await docker.getContainer(id).restart({ t: timeoutSeconds });
  } catch (error) {
    throw new DockerApiError(`cannot restart ${id.slice(0, 12)}`, error);
  }
}

/** Send a signal to a container's main process (SIGHUP makes Prometheus reload). */
export async function signalContainer(docker: DockerClient, id: string, signal: string): Promise<void> {
  try {
    await docker.getContainer(id).kill({ signal });
  } catch (error) {
    throw new DockerApiError(`cannot send ${signal} to ${id.slice(0, 12)}`, error);
  }
}

/**
 * Wait until Docker's health check reports a container healthy (a service with a health check,
 * such as the gateway's database).
 * @throws {DockerOpsError} when it stops, or is not healthy within `timeoutMs`
 */
export async function waitUntilHealthy(docker: DockerClient, name: string, options: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<void> {
  const end = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) throw new OperationAbortedError();
    let info;
    try {
      info = await docker.getContainer(name).inspect();
    } catch (error) {
      throw new DockerApiError(`cannot inspect ${name}`, error);
    }
    const health = info.State.Health?.Status;
    if (health === 'healthy') return;
    if (!info.State.Running) throw new DockerOpsError(`${name} stopped while starting (exit code ${info.State.ExitCode})`, { hint: `see "docker logs ${name}"` });
    if (Date.now() > end) throw new DockerOpsError(`${name} is not healthy after ${Math.round(options.timeoutMs / 1000)} s (${health ?? 'no health check'})`, { hint: `see "docker logs ${name}"` });
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
}

/**
 * Remove a service container, and with `volumes` the named volumes mounted in it (its data:
 * the database, Prometheus' TSDB). Bind-mounted host paths are never touched.
 */
export async function removeServiceContainer(docker: DockerClient, id: string, options: { volumes?: boolean; timeoutSeconds?: number } = {}): Promise<void> {
  let volumes: string[] = [];
  if (options.volumes) {
    try {
      const info = await docker.getContainer(id).inspect();
      volumes = (info.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw new DockerApiError(`cannot inspect container ${id.slice(0, 12)}`, error);
    }
  }
  await removeContainer(docker, id, { timeoutSeconds: options.timeoutSeconds ?? 10 });
  // A volume still used by another container stays: that is not ours to break.
  for (const name of volumes) await docker.getVolume(name).remove().catch(() => {});
}
