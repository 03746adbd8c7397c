import { isSecretName, type ModelSpec, type StackConfig } from '@inferstack/config';
import { modelContainerOptions, serviceContainerOptions, serviceSpecHash, startOrder, type ArgvStyle, type ServiceSpec } from '@inferstack/docker-ops';
import type { ContainerBody } from '@inferstack/docker-ops';
import { Document, isMap, isScalar } from 'yaml';
import { apiKeyEnvName } from '../../services/gateway.js';

/*
 * `serve export compose`: the stack as a compose file. Every service is translated from the very
 * Engine API create body `serve up` sends (modelContainerOptions / serviceContainerOptions), so
 * the two cannot drift apart. Secrets never enter the file: their environment entries become
 * `${NAME}` references that compose fills from .env.
 */

/** One service of a compose file (the part of the compose spec we write). */
export interface ComposeService {
  /** Absent for a model with several replicas: Compose refuses a fixed name for more than one container. */
  container_name?: string;
  image: string;
  platform?: string;
  pull_policy?: string;
  entrypoint?: string[];
  command?: string[];
  user?: string;
  environment?: Record<string, string>;
  labels?: Record<string, string>;
  expose?: string[];
  ports?: Array<{ target: number; published: string; host_ip: string; protocol: 'tcp' }>;
  volumes?: string[];
  ipc?: string;
  shm_size?: number;
  cpuset?: string;
  extra_hosts?: string[];
  deploy?: {
    /** How many containers of it run (a model with `replicas:` above 1). */
    replicas?: number;
    resources?: { reservations: { devices: Array<{ driver: string; capabilities: string[]; device_ids?: string[]; count?: 'all' | number }> } };
  };
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  restart?: string;
  depends_on?: Record<string, { condition: 'service_healthy' | 'service_started' }>;
  networks: Record<string, { aliases?: string[] }>;
}

/** A compose file. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks: Record<string, { name: string }>;
  volumes?: Record<string, { name: string }>;
}

/** A `${NAME}` the file uses, and whether the loaded settings (.env, environment) have it. */
export interface SecretReference {
  name: string;
  /** Who needs it, e.g. `litellm` or `inference-qwen`. */
  usedBy: string[];
  /** False when no setting holds the value: compose would fill in an empty string. */
  inSettings: boolean;
}

/** Options of {@link renderCompose}. */
export interface RenderComposeOptions {
  /** The infrastructure services `serve up` would run (gateway, Prometheus, exporters, Grafana), in start order. */
  services: readonly ServiceSpec[];
  /** Key of the spec-hash labels (the CLI's per-machine key), so serve recognises the containers. */
  hashKey: string;
  /** How each image takes the model (from its Entrypoint); unknown images get `--model`, as in `serve up`. */
  argvStyles?: ReadonlyMap<string, ArgvStyle>;
  /** Labels added to everything (`INFERSTACK_LABELS`). */
  extraLabels?: Record<string, string>;
  /** The stack's private network, where models with vLLM's development routes (sleep mode) live. */
  privateNetwork?: string;
}

/** The result of {@link renderCompose}. */
export interface RenderedCompose {
  compose: ComposeFile;
  secrets: SecretReference[];
  /** What the file says above a service (a model with replicas: how Compose runs them), by service name. */
  comments: Record<string, string>;
}

const SECOND_NS = 1_000_000_000;

/**
 * The compose file equivalent to what `serve up` creates for `config`: one service per model
 * (models that share a GPU wait for the one before to be healthy, as `serve up` starts them one
 * after another), the infrastructure services, the network and named volumes.
 */
export function renderCompose(config: StackConfig, options: RenderComposeOptions): RenderedCompose {
  const refs = new SecretRefs(config.settings);
  const services: Record<string, ComposeService> = {};
  const volumes = new Set<string>();

  for (const spec of options.services) {
    const create = serviceContainerOptions(spec, serviceSpecHash(spec, options.hashKey), options.extraLabels);
    const secretNames = Object.fromEntries(Object.entries(spec.secretEnv ?? {}).map(([k, v]) => [k, refs.reference(k, v, spec.name)]));
    const service = fromCreateOptions(create, secretNames, volumes);
    // The further networks `up` attaches it to once it runs (the stack's private network).
    for (const network of spec.extraNetworks ?? []) service.networks[network] = {};
    services[spec.name] = {
      ...service,
      ...(spec.pullPolicy ? { pull_policy: spec.pullPolicy } : {}),
    };
  }

  const comments: Record<string, string> = {};
  const order = startOrder(config.models);
  for (const spec of config.models) {
    const create = modelContainerOptions(spec, {
      network: config.network,
      ...(options.privateNetwork ? { privateNetwork: options.privateNetwork } : {}),
      argvStyle: options.argvStyles?.get(spec.image) ?? 'api-server',
      extraLabels: options.extraLabels,
    });
    const secretNames = Object.fromEntries(Object.entries(spec.secretEnv).map(([k, v]) => [k, refs.reference(k, v, spec.containerName, modelFallbackName(spec, k))]));
    const { container_name: containerName, ...service } = fromCreateOptions(create, secretNames, volumes);
    const after = order.get(spec.key) ?? [];
    const several = spec.replicas.max > 1;
    if (several) comments[spec.containerName] = replicasComment(spec);
    services[spec.containerName] = {
      // Several containers of one service cannot have one fixed name (Compose refuses it): they
      // are <project>-<service>-<n>, and the service's name resolves to all of them.
      ...(several ? {} : { container_name: containerName }),
      ...service,
      // Each replica gets the GPUs its service reserves, as each replica does under serve.
      ...(several ? { deploy: { replicas: composeReplicas(spec), ...service.deploy } } : {}),
      pull_policy: spec.pullPolicy,
      // serve up turns restarts on once a model is ready; compose cannot wait for that.
      restart: 'unless-stopped',
      ...(after.length > 0
        ? { depends_on: Object.fromEntries(after.map((key) => [config.models.find((m) => m.key === key)!.containerName, { condition: 'service_healthy' as const }])) }
        : {}),
    };
  }

  return {
    compose: {
      services,
      networks: Object.fromEntries([...new Set(Object.values(services).flatMap((s) => Object.keys(s.networks)))].sort().map((n) => [n, { name: n }])),
      ...(volumes.size > 0 ? { volumes: Object.fromEntries([...volumes].sort().map((v) => [v, { name: v }])) } : {}),
    },
    secrets: refs.list(),
    comments,
  };
}

/** The containers Compose runs of a model: its fixed count, or for one that scales the least that runs, at least one. */
export function composeReplicas(spec: Pick<ModelSpec, 'replicas'>): number {
  const { min, max } = spec.replicas;
  return min === max ? max : Math.max(min, 1);
}

/** What the file says above a model with several replicas: how Compose names and runs them. */
function replicasComment(spec: ModelSpec): string {
  const { min, max } = spec.replicas;
  const n = composeReplicas(spec);
  const name = spec.containerName;
  const lines =
    min === max
      ? [` ${max} replicas (replicas: ${max}).`]
      : [
          ` replicas: {min: ${min}, max: ${max}}: Compose does not autoscale (serve's watcher does, on plain Docker).`,
          ` It runs ${n} (max(min, 1)); more by hand: docker compose up -d --scale ${name}=N (N up to ${max}).`,
        ];
  lines.push(
    ` No container_name: Compose names the containers <project>-${name}-1, -2, ...; the name ${name}`,
    ' resolves to all of them, and "serve sync" routes the gateway to each by its container name.',
  );
  if (spec.gpus.kind === 'auto') {
    const gpus = spec.gpus.count === 1 ? 'GPU' : 'GPUs';
    lines.push(` Each asks for ${spec.gpus.count} ${gpus} (count), and Docker gives each the first ${gpus}; serve places each replica where memory is free.`);
  }
  return lines.join('\n');
}

/** A model's API key is stored under a name derived from its key when .env does not hold it. */
export function modelFallbackName(spec: ModelSpec, envName: string): string {
  return envName === 'VLLM_API_KEY' ? apiKeyEnvName(spec.key) : envName;
}

/**
 * Names for secret values: the setting that holds the value (`HF_TOKEN`, or `QWEN_API_KEY` for a
 * model whose `api-key: "${QWEN_API_KEY}"`), else the variable's own name.
 */
export class SecretRefs {
  private readonly used = new Map<string, SecretReference>();

  constructor(private readonly settings: Record<string, string>) {}

  reference(envName: string, value: string, usedBy: string, fallback = envName): string {
    let name = this.settings[envName] === value ? envName : undefined;
    if (!name) {
      const holders = Object.keys(this.settings)
        .filter((k) => this.settings[k] === value)
        .sort((a, b) => Number(isSecretName(b)) - Number(isSecretName(a)) || a.localeCompare(b));
      name = holders[0];
    }
    const ref = this.used.get(name ?? fallback) ?? { name: name ?? fallback, usedBy: [], inSettings: name !== undefined };
    if (!ref.usedBy.includes(usedBy)) ref.usedBy.push(usedBy);
    this.used.set(ref.name, ref);
    return ref.name;
  }

  list(): SecretReference[] {
    return [...this.used.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Compose interpolates `$`: a literal one is written `$$`. */
function literal(text: string): string {
  return text.replaceAll('$', '$$$$');
}

function seconds(ns: number | undefined): string | undefined {
  return ns === undefined ? undefined : `${ns / SECOND_NS}s`;
}

/** Translate an Engine API create body into a compose service; `secretNames` maps env names to `${...}`. */
export function fromCreateOptions(create: ContainerBody, secretNames: Record<string, string>, namedVolumes: Set<string>): ComposeService {
  const host = create.HostConfig ?? {};
  const environment: Record<string, string> = {};
  for (const item of create.Env ?? []) {
    const i = item.indexOf('=');
    const name = item.slice(0, i);
    const ref = secretNames[name];
    environment[name] = ref !== undefined ? `\${${ref}}` : literal(item.slice(i + 1));
  }
  const published = new Set<string>();
  const ports: NonNullable<ComposeService['ports']> = [];
  for (const [port, bindings] of Object.entries(host.PortBindings ?? {}) as Array<[string, Array<{ HostIp?: string; HostPort?: string }>]>) {
    published.add(port);
    for (const b of bindings) ports.push({ target: Number.parseInt(port, 10), published: b.HostPort ?? '', host_ip: b.HostIp ?? '127.0.0.1', protocol: 'tcp' });
  }
  const expose = Object.keys(create.ExposedPorts ?? {})
    .filter((p) => !published.has(p))
    .map((p) => p.replace(/\/tcp$/, ''));
  const volumes = (host.Binds ?? []).map((bind) => {
    const source = bind.split(':')[0] ?? '';
    if (source && !source.startsWith('/')) namedVolumes.add(source);
    return literal(bind);
  });
  const devices = (host.DeviceRequests ?? []).map((d) => ({
    driver: d.Driver ?? 'nvidia',
    ...(d.DeviceIDs && d.DeviceIDs.length > 0 ? { device_ids: d.DeviceIDs } : { count: d.Count === -1 || d.Count === undefined ? ('all' as const) : d.Count }),
    capabilities: (d.Capabilities ?? [['gpu']]).flat(),
  }));
  const networks: ComposeService['networks'] = {};
  for (const [name, endpoint] of Object.entries(create.NetworkingConfig?.EndpointsConfig ?? {})) {
    const aliases = (endpoint as { Aliases?: string[] }).Aliases ?? [];
    networks[name] = aliases.length > 0 ? { aliases } : {};
  }
  const hc = create.Healthcheck;
  const restart = host.RestartPolicy?.Name;
  return {
    container_name: create.name ?? '',
    image: create.Image ?? '',
    ...(create.platform ? { platform: create.platform } : {}),
    ...(create.Entrypoint ? { entrypoint: [create.Entrypoint].flat().map(literal) } : {}),
    ...(create.Cmd ? { command: [create.Cmd].flat().map(literal) } : {}),
    ...(create.User ? { user: create.User } : {}),
    ...(Object.keys(environment).length > 0 ? { environment } : {}),
    labels: Object.fromEntries(Object.entries(create.Labels ?? {}).map(([k, v]) => [k, literal(v)])),
    ...(expose.length > 0 ? { expose } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    ...(volumes.length > 0 ? { volumes } : {}),
    ...(host.IpcMode ? { ipc: host.IpcMode } : {}),
    ...(host.ShmSize ? { shm_size: host.ShmSize } : {}),
    ...(host.CpusetCpus ? { cpuset: host.CpusetCpus } : {}),
    ...(host.ExtraHosts?.length ? { extra_hosts: host.ExtraHosts.map(literal) } : {}),
    ...(devices.length > 0 ? { deploy: { resources: { reservations: { devices } } } } : {}),
    ...(hc?.Test
      ? {
          healthcheck: {
            test: hc.Test.map(literal),
            ...(hc.Interval ? { interval: seconds(hc.Interval) } : {}),
            ...(hc.Timeout ? { timeout: seconds(hc.Timeout) } : {}),
            ...(hc.Retries ? { retries: hc.Retries } : {}),
            ...(hc.StartPeriod ? { start_period: seconds(hc.StartPeriod) } : {}),
          },
        }
      : {}),
    ...(restart && restart !== 'no' ? { restart } : {}),
    networks,
  };
}

/**
 * The file's text: a header saying where it came from and how secrets get in, then the YAML.
 * Throws when a secret value would appear in it (a bug: they are all references).
 */
export function composeYaml(rendered: RenderedCompose, options: { source: string; envFile: string; secretValues: readonly string[] }): string {
  const doc = new Document(rendered.compose);
  const services = doc.get('services', true);
  if (isMap(services)) {
    for (const pair of services.items) {
      const comment = isScalar(pair.key) ? rendered.comments[String(pair.key.value)] : undefined;
      if (comment && isScalar(pair.key)) pair.key.commentBefore = comment;
    }
  }
  const needed = rendered.secrets.map((s) => s.name);
  doc.commentBefore = [
    ` Generated by "serve export compose" from ${options.source}; serve up creates the same containers.`,
    ` No secret is written here: ${needed.length > 0 ? needed.map((n) => `\${${n}}`).join(', ') : 'the ${...} references'} come from ${options.envFile}`,
    ` (docker compose reads .env from the project directory, or pass --env-file ${options.envFile}).`,
    ' Models sharing a GPU start one after another (depends_on: service_healthy), as with serve up.',
    ...(Object.keys(rendered.comments).length > 0 ? [' A model with replicas is one service of several containers (deploy.replicas); Compose starts them together, also where they share a GPU.'] : []),
    ' The gateway routes to the models listed in its config file: run "serve sync" once the models are up.',
  ].join('\n');
  const text = doc.toString({ lineWidth: 0 });
  for (const secret of options.secretValues) {
    if (secret.length >= 6 && text.includes(secret)) throw new Error('internal error: a secret value reached the compose file; nothing was written');
  }
  return text;
}
