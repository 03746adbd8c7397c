import { statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, relative } from 'node:path';
import { defineCommand } from 'citty';
import { ConfigError, ConfigValidationError, HF_CACHE_CONTAINER_PATH, loadConfig, type StackConfig } from '@inferstack/config';
import {
  LABEL_SERVICE,
  checkGpuPlacement,
  connectDocker,
  daemonAddress,
  detectGpusLocally,
  formatGiB,
  formatGpuProblems,
  isLocalDaemon,
  type DockerClient,
  type GpuInfo,
} from '@inferstack/docker-ops';
import { commonArgs, hashKey, secretValues, type CommandEnv } from '../context.js';
import { ExitCode } from '../errors.js';

export const doctorArgs = {
  json: { type: 'boolean', description: 'Print the checks as JSON' },
  ...commonArgs,
} as const;

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

/** 0 when all is well or there are warnings only, 2 when the config is invalid, 1 otherwise. */
export function doctorExitCode(checks: readonly Check[]): number {
  if (checks.some((c) => c.id === 'config' && c.status === 'fail')) return ExitCode.badInput;
  return checks.some((c) => c.status === 'fail') ? ExitCode.failed : ExitCode.ok;
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

/** A running container that publishes a host port. */
export interface PublishedPort {
  container: string;
  port: number;
  /** Its `inferstack.service` label, when it is one of our infrastructure containers. */
  service?: string;
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

/** `serve doctor`: is this machine ready to run the configured stack? */
export async function doctor(ctx: CommandEnv, args: { file: string; json: boolean }): Promise<number> {
  const checks: Check[] = [];
  const config = await configCheck(ctx, args.file, checks);
  const client = await daemonChecks(ctx, checks);
  if (client) await runtimeChecks(client, config, checks);
  if (config) {
    await gpuChecks(ctx, config, checks);
    await diskCheck(ctx, config, checks);
    await portChecks(ctx, client, config, checks);
    checks.push(...keyChecks(config));
  }
  const code = doctorExitCode(checks);
  print(ctx, checks, code, args.json);
  return code;
}

async function configCheck(ctx: CommandEnv, file: string, checks: Check[]): Promise<StackConfig | undefined> {
  try {
    const config = await loadConfig({ file, cwd: ctx.cwd, env: ctx.env, hashKey: hashKey(ctx.env) });
    ctx.output.addSecrets(secretValues(config));
    const n = config.models.length;
    checks.push({
      id: 'config',
      title: 'config',
      status: 'ok',
      message: `${shown(ctx.cwd, config.file)}: ${n} model${n === 1 ? '' : 's'}, gateway ${config.gateway.mode}, monitoring ${config.monitoring.mode}`,
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

async function daemonChecks(ctx: CommandEnv, checks: Check[]): Promise<DockerClient | undefined> {
  const address = daemonAddress({ env: ctx.env });
  const from = ctx.env.DOCKER_HOST ? 'from DOCKER_HOST' : 'the default socket; DOCKER_HOST is not set';
  let client: DockerClient;
  try {
    client = await connectDocker({ env: ctx.env });
  } catch (error) {
    checks.push({ id: 'docker', title: 'docker', status: 'fail', message: `no daemon answers at ${address} (${from})`, hint: (error as { hint?: string }).hint });
    return undefined;
  }
  checks.push({ id: 'docker', title: 'docker', status: 'ok', message: `daemon answers at ${address} (${from})` });
  try {
    const v = await client.version();
    const ok = apiVersionAtLeast(v.ApiVersion, MIN_API_VERSION);
    checks.push({
      id: 'docker-api',
      title: 'docker api',
      status: ok ? 'ok' : 'fail',
      message: `Docker Engine ${v.Version}, API ${v.ApiVersion} (${MIN_API_VERSION} or newer needed)`,
      ...(ok ? {} : { hint: 'upgrade Docker Engine to 20.10 or newer' }),
    });
  } catch (error) {
    checks.push({ id: 'docker-api', title: 'docker api', status: 'fail', message: `the daemon did not tell its version: ${(error as Error).message}` });
  }
  return client;
}

async function runtimeChecks(client: DockerClient, config: StackConfig | undefined, checks: Check[]): Promise<void> {
  const gpus = config ? wantsGpus(config) : true;
  let info: { Runtimes?: Record<string, unknown>; CDISpecDirs?: string[] };
  try {
    info = (await client.info()) as typeof info;
  } catch (error) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'warn', message: `the daemon did not answer "info": ${(error as Error).message}` });
    return;
  }
  const runtimes = Object.keys(info.Runtimes ?? {});
  const cdi = (info.CDISpecDirs ?? []).filter(Boolean);
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

async function gpuChecks(ctx: CommandEnv, config: StackConfig, checks: Check[]): Promise<void> {
  const needed = wantsGpus(config);
  if (!isLocalDaemon({ env: ctx.env })) {
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

async function diskCheck(ctx: CommandEnv, config: StackConfig, checks: Check[]): Promise<void> {
  const cache = config.models.flatMap((m) => m.volumes).find((v) => v.target === HF_CACHE_CONTAINER_PATH)?.source;
  if (!cache) return;
  if (!isLocalDaemon({ env: ctx.env })) {
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

async function portChecks(ctx: CommandEnv, client: DockerClient | undefined, config: StackConfig, checks: Check[]): Promise<void> {
  const wanted: Array<{ service: string; container: string; host: string; port: number }> = [];
  if (config.gateway.mode === 'managed') wanted.push({ service: 'gateway', container: config.gateway.containerName, host: config.gateway.bindAddress, port: config.gateway.port });
  if (config.monitoring.mode === 'managed') {
    const m = config.monitoring;
    wanted.push({ service: 'prometheus', container: m.prometheusContainerName, host: '127.0.0.1', port: m.prometheusPort });
    if (m.grafana.enabled) wanted.push({ service: 'grafana', container: m.grafana.containerName, host: '127.0.0.1', port: m.grafana.port });
  }
  if (wanted.length === 0) return;
  const published: PublishedPort[] = [];
  if (client) {
    try {
      for (const c of await client.listContainers()) {
        for (const p of c.Ports ?? []) {
          if (p.PublicPort) published.push({ container: (c.Names[0] ?? c.Id).replace(/^\//, ''), port: p.PublicPort, ...(c.Labels?.[LABEL_SERVICE] ? { service: c.Labels[LABEL_SERVICE] } : {}) });
        }
      }
    } catch {
      // Fall back on the listen test alone.
    }
  }
  const local = isLocalDaemon({ env: ctx.env });
  for (const w of wanted) {
    const held = published.some((p) => p.port === w.port);
    const bindable = local && !held ? await tryListen(w.host, w.port) : local ? 'free' : undefined;
    checks.push(portCheck(w, published, bindable));
  }
}

function print(ctx: CommandEnv, checks: readonly Check[], code: number, json: boolean): void {
  const o = ctx.output;
  if (json) {
    o.json({ ok: code === ExitCode.ok, exitCode: code, checks });
    return;
  }
  const width = Math.max(...checks.map((c) => c.title.length));
  for (const c of checks) {
    const mark = c.status === 'ok' ? o.green('✔') : c.status === 'warn' ? o.yellow('!') : o.red('✖');
    o.print(`${mark} ${c.title.padEnd(width)}  ${c.message}`);
    for (const d of c.details ?? []) o.print(`    ${d}`);
    if (c.hint && c.status !== 'ok') o.print(`    ${o.dim('→')} ${c.hint}`);
  }
  const warnings = checks.filter((c) => c.status === 'warn').length;
  const failures = checks.filter((c) => c.status === 'fail').length;
  o.print('');
  o.print(failures === 0 && warnings === 0 ? 'all good' : `${failures} problem${failures === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export const doctorCommand = defineCommand({
  meta: { name: 'doctor', description: 'Check Docker, the NVIDIA runtime, GPUs, disk, ports and keys for the configured stack' },
  args: doctorArgs,
});
