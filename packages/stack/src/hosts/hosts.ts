import { isIP } from 'node:net';
import { LOCAL_HOST, hashModelSpec, type HostSpec, type ModelSpec, type StackConfig } from '@inferstack/config';
import { connectHost, daemonId, PublishAddressError, readStackIdentity, resolvePublishAddress, type DockerClient } from '@inferstack/docker-ops';
import type { HostFailure, ReachedHost, StackContext } from '../context.js';

export type { HostFailure, ReachedHost } from '../context.js';
import { StackInputError } from '../errors.js';

/*
 * Several Docker hosts from one models.yaml (`hosts:`). Every verb works on each host in
 * parallel, each with its own client: a host that cannot be reached (or whose work fails) is
 * reported and left out, the others go on. The gateway and Prometheus run on the default host
 * and reach the models of the others at the host's `address` and the port each publishes there
 * (see endpoints.ts). With one host, none of this shows: everything is as it was.
 */

/** The host a model runs on. */
export function hostOf(spec: Pick<ModelSpec, 'host'>): string {
  return spec.host ?? LOCAL_HOST;
}

/** The hosts a model may run on: its `placementHosts` (serve places its replicas), else its one host. */
export function hostsOfModel(spec: Pick<ModelSpec, 'host' | 'placementHosts'>): string[] {
  return spec.placementHosts?.length ? spec.placementHosts : [hostOf(spec)];
}

/** Whether the config has Docker hosts besides the default one. */
export function hasSeveralHosts(config: Pick<StackConfig, 'hosts'>): boolean {
  return (config.hosts?.length ?? 1) > 1;
}

/** The config's hosts (the default one alone for configs made without `hosts`). */
export function hostsOf(config: Pick<StackConfig, 'hosts'>): HostSpec[] {
  return config.hosts?.length ? config.hosts : [{ name: LOCAL_HOST, local: true }];
}

/** A host by name. */
export function hostNamed(config: Pick<StackConfig, 'hosts'>, name: string | undefined): HostSpec | undefined {
  return hostsOf(config).find((h) => h.name === (name ?? LOCAL_HOST));
}

/**
 * The address a model of `host` publishes vLLM's port on, for the gateway on the default host;
 * undefined on the default host (the gateway reaches it on the stack's network).
 */
export function publishAddress(host: HostSpec): string | undefined {
  return host.local ? undefined : host.address;
}

/** Connect to a configured host other than the default one. @internal (the context calls it) */
export function connectConfiguredHost(config: StackConfig, name: string, env: NodeJS.ProcessEnv): Promise<DockerClient> {
  const host = hostNamed(config, name);
  if (!host) return Promise.reject(new StackInputError(`no host named "${name}" in the config`, { hint: `hosts: ${hostsOf(config).map((h) => h.name).join(', ')}` }));
  return connectHost(host, { env, ...(env.INFERSTACK_HOST_TIMEOUT_MS ? { timeoutMs: Number(env.INFERSTACK_HOST_TIMEOUT_MS) } : {}) });
}

/** Report a host's failure as an event (and return it). */
export function hostFailed(ctx: StackContext, host: string, error: unknown): HostFailure {
  const known = ctx.hostFailures.get(host);
  if (known) return known;
  const e = error instanceof Error ? error : new Error(String(error));
  const hint = (e as { hint?: string }).hint;
  const failure = { host, error: e, ...(hint ? { hint } : {}) };
  ctx.hostFailures.set(host, failure);
  ctx.emit({ type: 'host-failed', ...failure });
  return failure;
}

/**
 * Connect to `hosts` in parallel. A host that does not answer is reported (event
 * `host-failed`) and left out; with `requireDefault`, the default host is needed (the gateway
 * and Prometheus are there) and its failure is thrown as it is. With `distinct`, two names for
 * one daemon are bad input: each would take the other's models for leftovers.
 */
export async function reachHosts(
  ctx: StackContext,
  options: { hosts?: readonly HostSpec[]; requireDefault?: boolean; distinct?: boolean } = {},
): Promise<{ reached: ReachedHost[]; failed: HostFailure[] }> {
  // A host that failed earlier in this call is not asked again (nor reported twice).
  const known = (options.hosts ?? hostsOf(ctx.config)).filter((h) => ctx.hostFailures.has(h.name));
  const hosts = (options.hosts ?? hostsOf(ctx.config)).filter((h) => !ctx.hostFailures.has(h.name));
  const settled = await Promise.allSettled(
    hosts.map(async (host) => {
      const [docker] = await Promise.all([ctx.docker(host.local ? undefined : host.name), resolveHostAddress(ctx, host)]);
      // The host as this call sees it: its address an IP address (see resolveHostAddress).
      return { host: hostNamed(ctx.config, host.name) ?? host, docker };
    }),
  );
  const reached: ReachedHost[] = [];
  const failed: HostFailure[] = known.map((h) => ctx.hostFailures.get(h.name)!);
  settled.forEach((r, i) => {
    const host = hosts[i]!;
    if (r.status === 'fulfilled') reached.push(r.value);
    else if (host.local && (options.requireDefault || hosts.length === 1)) throw r.reason;
    else failed.push(hostFailed(ctx, host.name, r.reason));
  });
  if (options.distinct && reached.length > 1) await requireDistinctDaemons(reached);
  return { reached, failed };
}

/**
 * Resolve the address of another host when it is a name (`address: gpu2.lan`, or the endpoint's
 * host name), once per call: Docker publishes on an IP address only (a name there would open the
 * models on every interface), the gateway and Prometheus should reach what was published, and
 * drift is told by comparing IP addresses. A name that does not resolve to one usable address
 * fails the host (with the advice to write the IP), before anything changes there.
 */
async function resolveHostAddress(ctx: StackContext, host: HostSpec): Promise<void> {
  if (host.local || host.address === undefined || isIP(host.address) || ctx.hostAddresses.has(host.name)) return;
  const resolved = await resolvePublishAddress(host.address).catch((error: unknown) => {
    throw error instanceof PublishAddressError
      ? new PublishAddressError(error.address, error.message, {
          cause: error.cause,
          hint: `write the IP address the gateway's host reaches ${host.name} on: hosts: ${host.name}: address: <IP> in models.yaml (its models publish their port there only)`,
        })
      : error;
  });
  ctx.hostAddresses.set(host.name, resolved);
}

/** What the call resolved, one line per host whose address is a name: for the plan. */
export function addressNotes(ctx: Pick<StackContext, 'hostAddresses'>): string[] {
  return [...ctx.hostAddresses].map(([name, a]) => `host ${name}: address ${a.address} resolves to ${a.ip}; its models publish there`);
}

async function requireDistinctDaemons(reached: readonly ReachedHost[]): Promise<void> {
  const ids = await Promise.all(reached.map((r) => daemonId(r.docker)));
  const seen = new Map<string, string>();
  ids.forEach((id, i) => {
    const name = reached[i]!.host.name;
    const other = id ? seen.get(id) : undefined;
    if (other !== undefined) {
      throw new StackInputError(`hosts "${other}" and "${name}" are the same Docker daemon (ID ${id.slice(0, 12)})`, {
        hint: `give each daemon one name: remove "${name}" from hosts: and run its models on "${other}" (the default host "${LOCAL_HOST}" is the daemon DOCKER_HOST names, else the local socket)`,
      });
    }
    if (id) seen.set(id, name);
  });
}

/**
 * The key of the secret digests in the spec hashes of `host`'s containers: the stack's, unless
 * the host already holds an identity of the stack with another key (it was the default host of
 * this stack before, say) and no key is fixed: then that one, so that nothing there looks changed.
 */
export async function hostHashKey(ctx: StackContext, reached: ReachedHost): Promise<string> {
  if (reached.host.local || ctx.fixedHashKey) return ctx.hashKey;
  const identity = await readStackIdentity(reached.docker, ctx.name);
  return identity?.hashKey ?? ctx.hashKey;
}

/** The models of `models` that run on `host`, their spec hashes made with `hashKey`. */
export function modelsOnHost(models: readonly ModelSpec[], host: string, hashKey: string, stackKey: string): ModelSpec[] {
  const mine = models.filter((m) => hostsOfModel(m).includes(host));
  return hashKey === stackKey ? mine : mine.map((m) => ({ ...m, specHash: hashModelSpec(m, hashKey) }));
}

/**
 * Run `work` on every reached host at once; a host whose work throws is reported (and left
 * out of the results), the others' results are kept.
 */
export async function onEachHost<T>(
  ctx: StackContext,
  reached: readonly ReachedHost[],
  work: (host: ReachedHost) => Promise<T>,
): Promise<{ results: Array<{ host: HostSpec; value: T }>; failed: HostFailure[] }> {
  const settled = await Promise.allSettled(reached.map((r) => work(r)));
  const results: Array<{ host: HostSpec; value: T }> = [];
  const failed: HostFailure[] = [];
  settled.forEach((s, i) => {
    const host = reached[i]!.host;
    if (s.status === 'fulfilled') results.push({ host, value: s.value });
    else failed.push(hostFailed(ctx, host.name, s.reason));
  });
  return { results, failed };
}

/**
 * Warnings about what the config opens on the network: the models published on another host's
 * address without an `api-key` because that host says `allow-open-models: true` (anyone who
 * reaches the address can use them; without that key the config is refused), and Docker APIs
 * reached without TLS ({@link insecureTransportWarnings}).
 */
export function exposureWarnings(config: StackConfig, env: NodeJS.ProcessEnv = {}): string[] {
  const out: string[] = [];
  for (const m of config.models) {
    for (const name of hostsOfModel(m)) {
      const host = hostNamed(config, name);
      const address = host ? publishAddress(host) : undefined;
      if (!address || m.apiKey || isLoopbackAddress(address)) continue;
      out.push(`model "${m.key}" on host ${host!.name} is published on ${address} without an api-key (allow-open-models: true): anyone who reaches ${address} can use it`);
    }
  }
  return [...out, ...insecureTransportWarnings(config, env)];
}

/** A Docker API reached over plain `tcp://` on another machine: see {@link insecureTransports}. */
export interface InsecureTransport {
  /** The host's name (`local` for the default host). */
  host: string;
  message: string;
  hint: string;
}

/**
 * Docker APIs reached over plain `tcp://` (no TLS) on another machine: the Engine API then
 * carries every container body in clear text (the HF token, API keys and master keys are in
 * their environment), and whoever reaches the port controls the daemon. A loopback address is
 * left alone: nothing crosses the network (an SSH tunnel, say). For the default host, `env`
 * says (`DOCKER_HOST` without `DOCKER_TLS_VERIFY`).
 */
export function insecureTransports(config: Pick<StackConfig, 'hosts'>, env: NodeJS.ProcessEnv = {}): InsecureTransport[] {
  const risk = 'every container body crosses the network in clear text, the HF token and API keys included, and whoever reaches the port controls the daemon';
  const out: InsecureTransport[] = [];
  const plainTcp = (endpoint: string | undefined): boolean => {
    if (!endpoint?.startsWith('tcp://')) return false;
    try {
      return !isLoopbackAddress(new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1'));
    } catch {
      return false;
    }
  };
  if (plainTcp(env.DOCKER_HOST) && !env.DOCKER_TLS_VERIFY) {
    out.push({ host: LOCAL_HOST, message: `the default host: its Docker API (DOCKER_HOST=${env.DOCKER_HOST}) has no TLS: ${risk}`, hint: 'set DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH, or use ssh://' });
  }
  for (const h of hostsOf(config)) {
    if (h.local || h.tls || !plainTcp(h.endpoint)) continue;
    out.push({ host: h.name, message: `host ${h.name}: its Docker API (${h.endpoint}) has no tls: ${risk}`, hint: 'add tls: {ca, cert, key} for a daemon with --tlsverify, or use ssh://' });
  }
  return out;
}

/** {@link insecureTransports} as warning lines. */
export function insecureTransportWarnings(config: Pick<StackConfig, 'hosts'>, env: NodeJS.ProcessEnv = {}): string[] {
  return insecureTransports(config, env).map((t) => `${t.message} (${t.hint})`);
}

function isLoopbackAddress(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/**
 * The model keys configured on `hosts` (hosts that could not be asked: their routes stay). A
 * model placed over several hosts keeps all its routes while one of them could not be asked.
 */
export function keptModels(config: StackConfig, hosts: ReadonlySet<string>): Set<string> {
  return new Set(hosts.size === 0 ? [] : config.models.filter((m) => hostsOfModel(m).some((h) => hosts.has(h))).map((m) => m.key));
}
