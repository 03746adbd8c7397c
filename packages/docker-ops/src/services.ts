import { createHash, createHmac } from 'node:crypto';
import type { ContainerCreateOptions } from 'dockerode';
import type { DockerClient } from './client.js';
import { classifyContainerError, connectNetwork, ensureNetwork, removeContainer } from './containers.js';
import { DockerApiError, DockerOpsError, ForeignContainerError, OperationAbortedError } from './errors.js';
import { ensureImage } from './images.js';
import { LABEL_KIND, LABEL_SERVICE, LABEL_SPEC_HASH, LABEL_STACK } from './labels.js';
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

/** The Engine API create body for a service. */
export function serviceContainerOptions(spec: ServiceSpec, hash: string, extraLabels: Record<string, string> = {}): ContainerCreateOptions {
  const env = { ...spec.env, ...spec.secretEnv };
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of spec.ports ?? []) {
    exposed[`${p.container}/tcp`] = {};
    bindings[`${p.container}/tcp`] = [{ HostIp: p.hostIp ?? '127.0.0.1', HostPort: p.host ? String(p.host) : '' }];
  }
  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...extraLabels, [LABEL_SERVICE]: spec.kind, [LABEL_KIND]: 'service', [LABEL_SPEC_HASH]: hash },
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

/**
 * Make a service container match `spec`: create it when missing, recreate it when its spec
 * changed, start it when stopped, keep it otherwise. Same treatment as models, no readiness
 * wait (the caller knows how to probe each service).
 */
export async function ensureService(
  docker: DockerClient,
  spec: ServiceSpec,
  options: { hashKey: string; extraLabels?: Record<string, string>; forceRecreate?: boolean },
): Promise<ServiceResult> {
  const hash = serviceSpecHash(spec, options.hashKey);
  for (const network of [spec.network, ...(spec.extraNetworks ?? [])]) await ensureNetwork(docker, network, options.extraLabels);
  let existing: Awaited<ReturnType<ReturnType<DockerClient['getContainer']>['inspect']>> | undefined;
  try {
    existing = await docker.getContainer(spec.name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw new DockerApiError(`cannot inspect ${spec.name}`, error);
  }
  if (existing) {
    // A container of that name that we did not make (or another stack's) is never touched.
    const labels = existing.Config.Labels ?? {};
    const ours = labels[LABEL_SERVICE] === spec.kind && (labels[LABEL_STACK] === undefined || labels[LABEL_STACK] === options.extraLabels?.[LABEL_STACK]);
    if (!ours) throw new ForeignContainerError(spec.name, labels[LABEL_STACK]);
  }
  const same = existing?.Config.Labels?.[LABEL_SPEC_HASH] === hash && !options.forceRecreate;
  if (existing && same) {
    for (const network of spec.extraNetworks ?? []) await connectNetwork(docker, existing.Id, network);
    if (existing.State.Running) return { id: existing.Id, action: 'kept', changed: false };
    await docker.getContainer(existing.Id).start().catch((error: unknown) => {
      throw classifyContainerError(`cannot start ${spec.name}`, spec.name, error);
    });
    return { id: existing.Id, action: 'started', changed: false };
  }
  if (existing) await removeContainer(docker, existing.Id, { timeoutSeconds: 10 });
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
  return { id, action: existing ? 'recreated' : 'created', changed: true };
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
