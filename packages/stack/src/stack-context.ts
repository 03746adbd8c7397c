import { LOCAL_HOST, hashModelSpec, type StackConfig } from '@inferstack/config';
import {
  LABEL_STACK,
  connectDocker,
  detectGpusLocally,
  ensureStackIdentity,
  isLocalDaemon,
  readStackIdentity,
  type DockerClient,
  type GpuInfo,
  type PublishAddress,
  type StackIdentity,
} from '@inferstack/docker-ops';
import type { ConfigSource, GrafanaAssets, ServiceDefinition, StackContext, WatcherProgram } from './context.js';
import type { StackEvent, StackEventHandler } from './events.js';
import { connectConfiguredHost } from './hosts/hosts.js';

/*
 * The stack's context, made: the Docker clients of its hosts (connected on first use), its
 * identity (read once), its config (loaded with the identity's key and home), and the per-call
 * layer on top (a call's signal, events, routing and resolved host addresses).
 */

/** @internal */
export function createContext(options: {
  config: StackConfig;
  source?: ConfigSource;
  /** The key `config` was hashed with (when no `source`). */
  hashKey: string;
  name?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  extraLabels: Record<string, string>;
  signal: AbortSignal;
  services: readonly ServiceDefinition[];
  grafanaAssets?: GrafanaAssets;
  docker?: DockerClient;
  lockWaitMs?: number;
  watcherProgram?: WatcherProgram;
  onEvent?: StackEventHandler;
}): StackContext {
  let client: Promise<DockerClient> | undefined = options.docker ? Promise.resolve(options.docker) : undefined;
  // The other hosts' clients, by name (see hosts.ts).
  const hostClients = new Map<string, Promise<DockerClient>>();
  let gpus: Promise<GpuInfo[] | 'unavailable'> | undefined;
  const name = options.name ?? options.config.name;
  // `-p` names the stack whatever models.yaml says: one name everywhere.
  let config = named(options.config, name);
  const source = options.source;
  let hashKey = source?.fixedHashKey ?? source?.provisional.hashKey ?? options.hashKey;
  let resolved: Promise<void> | undefined;
  let identity: StackIdentity | undefined;
  const local = options.docker ? isLocalClient(options.docker) : isLocalDaemon({ env: options.env });
  const listeners = options.onEvent ? [options.onEvent] : [];
  const labels = { ...options.extraLabels, [LABEL_STACK]: name };

  const adopt = async (found: StackIdentity) => {
    identity = found;
    const key = source?.fixedHashKey ?? found.hashKey;
    if (source && found.home !== source.provisional.home) {
      // `~` in the config means the stack's home, not this user's.
      config = named(await source.load({ hashKey: key, home: found.home }), name);
    } else if (key !== hashKey) {
      config = rehashed(config, key);
    }
    hashKey = key;
  };

  const ctx: StackContext = {
    routing: { excludedIds: new Set(), readyIds: new Set(), last: Promise.resolve() },
    hostFailures: new Map(),
    hostAddresses: new Map(),
    get config() {
      return config;
    },
    name,
    env: options.env,
    cwd: options.cwd,
    get hashKey() {
      return hashKey;
    },
    fixedHashKey: source?.fixedHashKey !== undefined,
    labels,
    signal: options.signal,
    services: options.services,
    ...(options.grafanaAssets ? { grafanaAssets: options.grafanaAssets } : {}),
    local,
    ...(options.lockWaitMs !== undefined ? { lockWaitMs: options.lockWaitMs } : {}),
    ...(options.watcherProgram ? { watcherProgram: options.watcherProgram } : {}),
    emit(event) {
      for (const listener of listeners) listener(event);
    },
    docker(host) {
      if (host !== undefined && host !== LOCAL_HOST) {
        let remote = hostClients.get(host);
        if (!remote) {
          remote = connectConfiguredHost(config, host, options.env);
          hostClients.set(host, remote);
          // As for the default host: a failed connection is tried again by the next call.
          remote.catch(() => hostClients.delete(host));
        }
        return remote;
      }
      client ??= connectDocker({ env: options.env });
      // A failed connection is not remembered: the next call tries again.
      client.catch(() => {
        client = undefined;
      });
      return client;
    },
    localGpus() {
      gpus ??= local ? detectGpusLocally() : Promise.resolve('unavailable' as const);
      return gpus;
    },
    resolve() {
      resolved ??= (async () => {
        const found = await readStackIdentity(await ctx.docker(), name);
        if (found) await adopt(found);
      })();
      resolved.catch(() => {
        resolved = undefined;
      });
      return resolved;
    },
    async reloadConfig() {
      if (!source) return false;
      await ctx.resolve();
      const next = named(await source.load({ hashKey: source.fixedHashKey ?? identity?.hashKey ?? hashKey, home: identity?.home ?? source.provisional.home }), name);
      const changed = JSON.stringify(next) !== JSON.stringify(config);
      config = next;
      return changed;
    },
    async ensureIdentity() {
      await ctx.resolve();
      if (identity) return identity;
      const made = await ensureStackIdentity(await ctx.docker(), name, {
        hashKey: source?.provisional.hashKey ?? hashKey,
        home: source?.provisional.home ?? '/',
        extraLabels: options.extraLabels,
      });
      // Another run may have made it first, with its own key: then that one is the stack's.
      await adopt(made);
      return made;
    },
  };
  return ctx;
}

/**
 * The context of one call: its own event handler and abort signal on top of the stack's.
 * @internal
 */
export function forCall(ctx: StackContext, options: { onEvent?: StackEventHandler; signal?: AbortSignal } = {}): StackContext {
  const signal = options.signal ? AbortSignal.any([ctx.signal, options.signal]) : ctx.signal;
  const hostAddresses = new Map<string, PublishAddress>();
  let shown: { base: StackConfig; resolved: number; config: StackConfig } | undefined;
  // The stack's context underneath (its config and identity are shared), this call's on top:
  // its signal, its events, its own routing (what one `stop` unrouted, the next `up` routes),
  // and the host addresses it resolved.
  return Object.create(ctx, {
    signal: { value: signal, enumerable: true },
    routing: { value: { excludedIds: new Set(), readyIds: new Set(), last: Promise.resolve() }, enumerable: true },
    hostFailures: { value: new Map(), enumerable: true },
    hostAddresses: { value: hostAddresses, enumerable: true },
    config: {
      get() {
        const base = ctx.config;
        if (hostAddresses.size === 0) return base;
        if (shown?.base !== base || shown.resolved !== hostAddresses.size) {
          shown = { base, resolved: hostAddresses.size, config: withResolvedAddresses(base, hostAddresses) };
        }
        return shown.config;
      },
      enumerable: true,
    },
    emit: {
      value(event: StackEvent) {
        ctx.emit(event);
        options.onEvent?.(event);
      },
    },
  }) as StackContext;
}

/** The config with the hosts' addresses that were names replaced by the IP addresses they resolved to. */
function withResolvedAddresses(config: StackConfig, addresses: ReadonlyMap<string, PublishAddress>): StackConfig {
  return { ...config, hosts: config.hosts.map((h) => (addresses.has(h.name) ? { ...h, address: addresses.get(h.name)!.ip } : h)) };
}

/**
 * The config under the stack's name (`-p` wins over models.yaml): also the names derived from
 * it, such as the watcher container's (`<stack>-watcher`), unless the file set one.
 */
function named(config: StackConfig, name: string): StackConfig {
  if (config.name === name) return config;
  const derived = config.watcher.containerName === `${config.name}-watcher`;
  return { ...config, name, ...(derived ? { watcher: { ...config.watcher, containerName: `${name}-watcher` } } : {}) };
}

/**
 * The config with its models' spec hashes made with another key: the key enters nothing else,
 * so the files need not be read again. @internal
 */
export function rehashed(config: StackConfig, key: string): StackConfig {
  return { ...config, models: config.models.map((m) => ({ ...m, specHash: hashModelSpec(m, key) })) };
}

/** Whether an injected client talks to a daemon on this machine (a socket, or loopback TCP). */
function isLocalClient(docker: DockerClient): boolean {
  const modem = (docker as unknown as { modem?: { socketPath?: string; host?: string } }).modem;
  if (modem?.socketPath) return true;
  return modem?.host === undefined || /^(127\.0\.0\.1|localhost|::1)$/.test(modem.host);
}
