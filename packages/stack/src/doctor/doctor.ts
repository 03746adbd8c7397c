import { statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError, ConfigValidationError, HF_CACHE_CONTAINER_PATH, loadConfig, type StackConfig } from '@inferstack/config';
import {
  checkGpuPlacement,
  connectDocker,
  daemonAddress,
  daemonRuntimes,
  daemonVersion,
  detectGpusLocally,
  formatGiB,
  formatGpuProblems,
  isLocalDaemon,
  publishedPorts,
  type DockerClient,
  type GpuInfo,
  type PublishedPort,
} from '@inferstack/docker-ops';
import { shownPath } from '../_paths.js';
import { hostsOf, insecureTransports } from '../hosts/hosts.js';

/** How a check came out: fine, worth a look, or something that will not work. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `serve doctor`. Never holds a secret value. */
export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  message: string;
  hint?: string;
  details?: string[];
}

/** The Engine API version `serve` needs (Docker 20.10): DeviceRequests, healthcheck start period, ... */
export const MIN_API_VERSION = '1.41';

/** Free space under which the Hugging Face cache gets a warning: one 7B model is ~15 GiB. */
export const LOW_DISK_BYTES = 50 * 1024 ** 3;

/** Shortest key that is not called weak. */
export const MIN_KEY_LENGTH = 32;

/** Keys from tutorials and defaults: the first ones anyone tries. */
const KNOWN_DEFAULT_KEYS = ['sk-1234', 'sk-1234567890', 'admin', 'changeme', 'change-me', 'password', 'secret', 'sk-admin', 'sk-test', 'test', 'litellm', 'grafana'];

/**
 * Why a key is weak, or `undefined` when it is not: a well-known default, or shorter than
 * {@link MIN_KEY_LENGTH}. The answer never quotes the key.
 */
export function keyWeakness(value: string): string | undefined {
  if (KNOWN_DEFAULT_KEYS.includes(value.trim().toLowerCase())) return 'is a well-known default';
  if (value.length < MIN_KEY_LENGTH) return `is only ${value.length} characters (${MIN_KEY_LENGTH} or more wanted)`;
  return undefined;
}

/** Whether a bind address is every interface (`0.0.0.0`, `::`). */
export function isAllInterfaces(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]' || /^0+(:0+)*::?$/.test(address);
}

/** Whether a bind address is this machine only. */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || address === 'localhost';
}

/** `1.41` ≥ `1.41`, `1.9` < `1.41`: Engine API versions compared as numbers. */
export function apiVersionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Hugging Face repos that usually ask you to accept a licence first (a hint, not a rule). */
export function looksGated(model: string): boolean {
  return /^(meta-llama|mistralai|CohereForAI|CohereLabs|black-forest-labs)\//i.test(model) || /^google\/(\w+-)?gemma/i.test(model);
}

/** Whether any model (or the DCGM exporter) asks for GPUs. */
export function wantsGpus(config: StackConfig): boolean {
  return config.models.some((m) => m.gpus.kind !== 'none') || config.monitoring.dcgmExporter.enabled === true;
}

/** How the checks came out as a whole: `config-invalid` before `broken`; warnings alone are `ok`. */
export type DoctorVerdict = 'ok' | 'broken' | 'config-invalid';

/** The verdict of a list of checks. */
export function doctorVerdict(checks: readonly Check[]): DoctorVerdict {
  if (checks.some((c) => c.id === 'config' && c.status === 'fail')) return 'config-invalid';
  return checks.some((c) => c.status === 'fail') ? 'broken' : 'ok';
}

/**
 * The keys in `.env` and how exposed the gateway is. A gateway on another address than loopback
 * with a weak or default master key is an error: anyone on the network could use it.
 */
export function keyChecks(config: StackConfig): Check[] {
  const checks: Check[] = [];
  const g = config.gateway;
  if (g.mode === 'managed') {
    const where = `${g.bindAddress.includes(':') ? `[${g.bindAddress}]` : g.bindAddress}:${g.port}`;
    const exposed = !isLoopback(g.bindAddress);
    if (!exposed) {
      checks.push({ id: 'gateway-bind', title: 'gateway bind', status: 'ok', message: `published on ${where}: this machine only` });
    } else {
      checks.push({
        id: 'gateway-bind',
        title: 'gateway bind',
        status: 'warn',
        message: isAllInterfaces(g.bindAddress)
          ? `published on all interfaces (${where}): anyone who reaches this machine reaches the gateway`
          : `published on ${where}: reachable from that network`,
        hint: 'keep "bind: 127.0.0.1" and put a TLS reverse proxy or a firewall in front; if open on purpose, use long random keys',
      });
    }
    const key = g.masterKey;
    const weak = key ? keyWeakness(key) : undefined;
    if (!key) {
      checks.push({
        id: 'master-key',
        title: 'master key',
        status: 'fail',
        message: 'LITELLM_MASTER_KEY is not set: serve up will not start the gateway without it',
        hint: 'add LITELLM_MASTER_KEY=sk-<48 random hex digits> to .env (e.g. "sk-$(openssl rand -hex 24)")',
      });
    } else if (weak) {
      checks.push({
        id: 'master-key',
        title: 'master key',
        status: exposed ? 'fail' : 'warn',
        message: exposed
          ? `LITELLM_MASTER_KEY ${weak}, and the gateway is published on ${where}: anyone on the network can use it`
          : `LITELLM_MASTER_KEY ${weak} (tolerable only while the gateway listens on this machine alone)`,
        hint: 'replace it in .env with "sk-" and 48 random hex digits (e.g. "sk-$(openssl rand -hex 24)"), then run serve up',
      });
    } else {
      checks.push({ id: 'master-key', title: 'master key', status: 'ok', message: 'LITELLM_MASTER_KEY is set and strong' });
    }
    const saltWeak = g.saltKey ? keyWeakness(g.saltKey) : undefined;
    if (saltWeak) {
      checks.push({ id: 'salt-key', title: 'salt key', status: 'warn', message: `LITELLM_SALT_KEY ${saltWeak}`, hint: 'set a long random LITELLM_SALT_KEY before the gateway stores any credential' });
    } else if (!g.saltKey && g.sync === 'api') {
      checks.push({ id: 'salt-key', title: 'salt key', status: 'warn', message: 'LITELLM_SALT_KEY is not set: LiteLLM encrypts stored credentials with the master key', hint: 'set LITELLM_SALT_KEY in .env now; it cannot be changed once credentials are stored' });
    }
  }
  const grafana = config.monitoring.grafana;
  if (config.monitoring.mode === 'managed' && grafana.enabled) {
    const weak = grafana.adminPassword ? keyWeakness(grafana.adminPassword) : undefined;
    if (!grafana.adminPassword) {
      checks.push({ id: 'grafana-password', title: 'grafana password', status: 'warn', message: 'GRAFANA_ADMIN_PASSWORD is not set: Grafana keeps admin/admin', hint: 'set GRAFANA_ADMIN_PASSWORD in .env' });
    } else if (weak) {
      checks.push({ id: 'grafana-password', title: 'grafana password', status: 'warn', message: `GRAFANA_ADMIN_PASSWORD ${weak} (Grafana is published on 127.0.0.1 only)`, hint: 'use a long random password' });
    } else {
      checks.push({ id: 'grafana-password', title: 'grafana password', status: 'ok', message: 'GRAFANA_ADMIN_PASSWORD is set and strong' });
    }
  }
  const gated = config.models.filter((m) => looksGated(m.model));
  if (config.settings.HF_TOKEN) {
    checks.push({ id: 'hf-token', title: 'HF_TOKEN', status: 'ok', message: 'set' });
  } else if (gated.length > 0) {
    checks.push({
      id: 'hf-token',
      title: 'HF_TOKEN',
      status: 'warn',
      message: `not set, and ${gated.map((m) => m.model).join(', ')} look${gated.length === 1 ? 's' : ''} gated on Hugging Face`,
      hint: 'accept the licence on the model page and put a token in .env: HF_TOKEN=hf_...',
    });
  } else {
    checks.push({ id: 'hf-token', title: 'HF_TOKEN', status: 'ok', message: 'not set (only gated models need it)' });
  }
  return checks;
}

/**
 * How `serve` reaches each Docker host: a `tcp://` endpoint without TLS (or `DOCKER_HOST` without
 * `DOCKER_TLS_VERIFY`) on another machine carries every container body, secrets included, in
 * clear text, and gives the daemon to whoever reaches the port. Nothing to say with the default
 * socket alone.
 */
export function transportChecks(config: StackConfig, env: NodeJS.ProcessEnv): Check[] {
  const hostNames = hostsOf(config).filter((h) => !h.local).map((h) => h.name);
  const checks: Check[] = [];
  const insecure = insecureTransports(config, env);
  for (const t of insecure) checks.push({ id: `docker-tls-${t.host}`, title: 'docker tls', status: 'warn', message: t.message, hint: t.hint });
  if (insecure.length === 0 && (hostNames.length > 0 || env.DOCKER_HOST?.startsWith('tcp://'))) {
    checks.push({ id: 'docker-tls', title: 'docker tls', status: 'ok', message: 'every Docker API is reached over TLS, SSH, a socket or loopback' });
  }
  return checks;
}

/**
 * Whether a port the config publishes is usable: free, or held by the very container that
 * should hold it. `bindable` is the result of trying to listen on it here (undefined when the
 * daemon is remote and that says nothing).
 */
export function portCheck(
  what: { service: string; container: string; host: string; port: number },
  published: readonly PublishedPort[],
  bindable: 'free' | 'in-use' | 'no-address' | 'not-tested' | undefined,
): Check {
  const id = `port-${what.service}`;
  const title = `port ${what.port}`;
  const where = `${what.host.includes(':') ? `[${what.host}]` : what.host}:${what.port}`;
  const holder = published.find((p) => p.port === what.port);
  if (holder) {
    if (holder.container === what.container && holder.service) return { id, title, status: 'ok', message: `${what.service}: in use by our ${what.container} container` };
    return {
      id,
      title,
      status: 'fail',
      message: `${what.service} wants ${where}, but container ${holder.container} publishes port ${what.port}`,
      hint: `stop that container, or give ${what.service} another port in models.yaml`,
    };
  }
  switch (bindable) {
    case 'in-use':
      return { id, title, status: 'fail', message: `${what.service} wants ${where}, but another program listens there`, hint: `find it with "ss -ltnp 'sport = :${what.port}'", or give ${what.service} another port in models.yaml` };
    case 'no-address':
      return { id, title, status: 'fail', message: `${what.service} wants ${where}, but this machine has no address ${what.host}`, hint: 'use 127.0.0.1, 0.0.0.0 or an address of this machine' };
    case 'not-tested':
      return { id, title, status: 'ok', message: `${what.service}: ${where} (below 1024: only Docker, as root, can test it)` };
    case undefined:
      return { id, title, status: 'ok', message: `${what.service}: no container publishes ${what.port} (the daemon is remote: its host's other programs were not checked)` };
    default:
      return { id, title, status: 'ok', message: `${what.service}: ${where} is free` };
  }
}

/** Try to listen on host:port here. */
async function tryListen(host: string, port: number): Promise<'free' | 'in-use' | 'no-address' | 'not-tested'> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('in-use');
      else if (error.code === 'EADDRNOTAVAIL') resolve('no-address');
      else resolve('not-tested');
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/** Options of {@link doctor}. */
export interface DoctorOptions {
  /** The models file, relative to `cwd`. @default 'model_config/models.yaml' */
  configPath?: string;
  /** @default process.cwd() */
  cwd?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** What {@link doctor} found. Holds no secret value. */
export interface DoctorReport {
  verdict: DoctorVerdict;
  checks: Check[];
  /** The loaded config, when it is valid (for masking its secrets in what is shown). */
  config?: StackConfig;
}

/**
 * Is this machine ready to run the configured stack? The config, the daemon and its API
 * version, the NVIDIA runtime, the GPUs and whether the models fit them, the disk of the
 * Hugging Face cache, the ports, the keys. An invalid config is a check like the others: the
 * rest still run.
 */
export async function doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const checks: Check[] = [];
  const config = await configCheck(cwd, env, options.configPath, checks);
  const client = await daemonChecks(env, checks);
  if (client) await runtimeChecks(client, config, checks);
  if (config) {
    const local = isLocalDaemon({ env });
    await gpuChecks(local, config, checks);
    await diskCheck(local, config, checks);
    await portChecks(local, client, config, checks);
    checks.push(...keyChecks(config));
    checks.push(...transportChecks(config, env));
  }
  return { verdict: doctorVerdict(checks), checks, ...(config ? { config } : {}) };
}

async function configCheck(cwd: string, env: NodeJS.ProcessEnv, file: string | undefined, checks: Check[]): Promise<StackConfig | undefined> {
  try {
    const config = await loadConfig({ cwd, env, ...(file !== undefined ? { file } : {}) });
    const n = config.models.length;
    checks.push({
      id: 'config',
      title: 'config',
      status: 'ok',
      message: `${shownPath(cwd, config.file)}: ${n} model${n === 1 ? '' : 's'}, gateway ${config.gateway.mode}, monitoring ${config.monitoring.mode}`,
    });
    return config;
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      checks.push({
        id: 'config',
        title: 'config',
        status: 'fail',
        message: `${error.issues.length} problem${error.issues.length === 1 ? '' : 's'} in the configuration`,
        details: error.format().split('\n'),
        hint: 'fix them; "serve plan" checks again',
      });
    } else if (error instanceof ConfigError) {
      checks.push({ id: 'config', title: 'config', status: 'fail', message: error.message, hint: (error as { hint?: string }).hint ?? 'run "serve init" to start a project' });
    } else {
      throw error;
    }
    return undefined;
  }
}

async function daemonChecks(env: NodeJS.ProcessEnv, checks: Check[]): Promise<DockerClient | undefined> {
  const address = daemonAddress({ env });
  const from = env.DOCKER_HOST ? 'from DOCKER_HOST' : 'the default socket; DOCKER_HOST is not set';
  let client: DockerClient;
  try {
    client = await connectDocker({ env });
  } catch (error) {
    checks.push({ id: 'docker', title: 'docker', status: 'fail', message: `no daemon answers at ${address} (${from})`, hint: (error as { hint?: string }).hint });
    return undefined;
  }
  checks.push({ id: 'docker', title: 'docker', status: 'ok', message: `daemon answers at ${address} (${from})` });
  try {
    const v = await daemonVersion(client);
    const ok = apiVersionAtLeast(v.apiVersion, MIN_API_VERSION);
    checks.push({
      id: 'docker-api',
      title: 'docker api',
      status: ok ? 'ok' : 'fail',
      message: `Docker Engine ${v.version}, API ${v.apiVersion} (${MIN_API_VERSION} or newer needed)`,
      ...(ok ? {} : { hint: 'upgrade Docker Engine to 20.10 or newer' }),
    });
  } catch (error) {
    checks.push({ id: 'docker-api', title: 'docker api', status: 'fail', message: `the daemon did not tell its version: ${(error as Error).message}` });
  }
  return client;
}

async function runtimeChecks(client: DockerClient, config: StackConfig | undefined, checks: Check[]): Promise<void> {
  const gpus = config ? wantsGpus(config) : true;
  let runtimes: string[];
  let cdi: string[];
  try {
    ({ runtimes, cdiSpecDirs: cdi } = await daemonRuntimes(client));
  } catch (error) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'warn', message: `the daemon did not answer "info": ${(error as Error).message}` });
    return;
  }
  if (runtimes.includes('nvidia')) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'ok', message: 'the nvidia runtime is registered with Docker' });
  } else if (cdi.length > 0) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'ok', message: `CDI is on (${cdi.join(', ')}): GPUs are given through CDI specs` });
  } else if (gpus) {
    checks.push({
      id: 'nvidia-runtime',
      title: 'nvidia runtime',
      status: 'warn',
      message: `no NVIDIA runtime (Docker has ${runtimes.join(', ') || 'no runtimes listed'}) and no CDI: models with GPUs will not start`,
      hint: 'install the NVIDIA Container Toolkit, run "sudo nvidia-ctk runtime configure --runtime=docker" and restart Docker',
    });
  } else {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'ok', message: 'no NVIDIA runtime, and no model asks for GPUs' });
  }
}

async function gpuChecks(local: boolean, config: StackConfig, checks: Check[]): Promise<void> {
  const needed = wantsGpus(config);
  if (!local) {
    checks.push({ id: 'gpus', title: 'gpus', status: 'ok', message: 'not checked: the daemon is on another host (serve up checks them there)' });
    return;
  }
  const found = await detectGpusLocally();
  if (found === 'unavailable' || found.length === 0) {
    checks.push(
      needed
        ? { id: 'gpus', title: 'gpus', status: 'warn', message: 'nvidia-smi sees no GPU here, but the config asks for GPUs', hint: 'install the NVIDIA driver, or set "gpus: none" for CPU-only images' }
        : { id: 'gpus', title: 'gpus', status: 'ok', message: 'no GPU here, and no model asks for one' },
    );
    return;
  }
  checks.push({ id: 'gpus', title: 'gpus', status: 'ok', message: `${found.length} GPU${found.length === 1 ? '' : 's'}: ${found.map(describeGpu).join('; ')}` });
  const problems = checkGpuPlacement({ gpus: found, models: config.models });
  const structural = problems.filter((p) => p.kind !== 'insufficient-memory');
  const memory = problems.filter((p) => p.kind === 'insufficient-memory');
  if (structural.length > 0) {
    checks.push({ id: 'gpu-placement', title: 'gpu placement', status: 'fail', message: 'the models do not fit the GPUs of this machine', details: formatGpuProblems(structural), hint: 'fix gpus / tensor-parallel-size in models.yaml' });
  }
  if (memory.length > 0) {
    checks.push({
      id: 'gpu-memory',
      title: 'gpu memory',
      status: 'warn',
      message: 'not enough free GPU memory right now (models already running hold some of it)',
      details: formatGpuProblems(memory),
    });
  }
}

function describeGpu(g: GpuInfo): string {
  return `${g.index} ${g.name ?? 'GPU'} (${formatGiB(g.totalMiB)}, ${formatGiB(g.freeMiB)} free)`;
}

async function diskCheck(local: boolean, config: StackConfig, checks: Check[]): Promise<void> {
  const cache = config.models.flatMap((m) => m.volumes).find((v) => v.target === HF_CACHE_CONTAINER_PATH)?.source;
  if (!cache) return;
  if (!local) {
    checks.push({ id: 'disk', title: 'disk', status: 'ok', message: `not checked: the Hugging Face cache ${cache} is on the daemon's host` });
    return;
  }
  // The cache may not exist yet: measure the disk it will be on.
  let path = cache;
  let missing = false;
  for (;;) {
    try {
      const s = await statfs(path);
      const free = s.bavail * s.bsize;
      const low = free < LOW_DISK_BYTES;
      checks.push({
        id: 'disk',
        title: 'disk',
        status: low ? 'warn' : 'ok',
        message: `${gib(free)} free for the Hugging Face cache ${cache}${missing ? ' (not created yet)' : ''}`,
        ...(low ? { hint: `models take several GiB each (a 7B model ~15 GiB): free space, or point HUGGINGFACE_CACHE in .env at a larger disk (${gib(LOW_DISK_BYTES)} or more)` } : {}),
      });
      return;
    } catch {
      const parent = dirname(path);
      if (parent === path) return;
      missing = true;
      path = parent;
    }
  }
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

async function portChecks(local: boolean, client: DockerClient | undefined, config: StackConfig, checks: Check[]): Promise<void> {
  const wanted: Array<{ service: string; container: string; host: string; port: number }> = [];
  if (config.gateway.mode === 'managed') wanted.push({ service: 'gateway', container: config.gateway.containerName, host: config.gateway.bindAddress, port: config.gateway.port });
  if (config.monitoring.mode === 'managed') {
    const m = config.monitoring;
    wanted.push({ service: 'prometheus', container: m.prometheusContainerName, host: '127.0.0.1', port: m.prometheusPort });
    if (m.grafana.enabled) wanted.push({ service: 'grafana', container: m.grafana.containerName, host: '127.0.0.1', port: m.grafana.port });
  }
  if (wanted.length === 0) return;
  // Without the daemon's list, the listen test alone.
  const published: PublishedPort[] = client ? await publishedPorts(client).catch(() => []) : [];
  for (const w of wanted) {
    const held = published.some((p) => p.port === w.port);
    const bindable = local && !held ? await tryListen(w.host, w.port) : local ? 'free' : undefined;
    checks.push(portCheck(w, published, bindable));
  }
}
