import { posix } from 'node:path';
import { HF_CACHE_CONTAINER_PATH, formatGpuLabel, type ModelSpec, type StackConfig } from '@inferstack/config';
import { modelContainerOptions, serviceContainerOptions, serviceSpecHash, type ModelContainer, type ServiceSpec } from '@inferstack/docker-ops';
import { renderLitellmConfig } from '@inferstack/litellm-sync';
import { renderPrometheusConfig } from '@inferstack/prometheus-sync';
import type { ContainerCreateOptions } from 'dockerode';
import { Document, parseDocument } from 'yaml';
import { modelFallbackName, SecretRefs, type SecretReference } from '../compose/render.js';
import { StackInputError } from '../../errors.js';
import { secretValues } from '../../secrets.js';
import { PLUGIN_CALLBACK, PLUGIN_FILE, PLUGIN_SOURCE } from '../../gateway/plugin.js';
import { desiredDeployments } from '../../gateway/sync.js';
import {
  bytesQuantity,
  compareText,
  cpusetSize,
  envFromCreate,
  kubernetesName,
  labelValue,
  literal,
  objectsYaml,
  type EnvVar,
  type KubeObject,
  type KubeObjectRef,
} from './objects.js';

/*
 * `serve export kubernetes`: the stack as Kubernetes objects, a Kustomize directory. Every
 * container is translated from the very Docker create body `serve up` sends (modelContainerOptions,
 * serviceContainerOptions), as the compose export is, so the image, argv and environment are the
 * same on both. Secrets are references to one Secret, never values. Pure: the caller reads the
 * files it needs (the gateway's config, Grafana's) and writes the result.
 */

/** How the Hugging Face cache is kept: a PersistentVolumeClaim per model, or a directory of the node. */
export type HfCacheMode = 'pvc' | 'host-path';

/** Options of the Kubernetes export. */
export interface KubernetesOptions {
  /** @default the stack's name (made a valid namespace name) */
  namespace?: string;
  /** @default 'pvc' */
  hfCache?: HfCacheMode;
  /** Size of each model's cache claim (`pvc`). @default '100Gi' */
  hfCacheSize?: string;
  /** The node's directory for the cache (`host-path`). @default '/var/lib/inferstack/huggingface' */
  hfCachePath?: string;
  /** Storage class of every claim. @default the cluster's default class */
  storageClass?: string;
  /** Also write the Secret with the values from `.env` (secret.yaml, mode 0600). */
  withSecrets?: boolean;
  /** `runtimeClassName` of the GPU pods (e.g. `nvidia` where the NVIDIA runtime is not the default). */
  runtimeClass?: string;
  /** Also ServiceMonitors for a Prometheus Operator (servicemonitors.yaml; its CRD must be installed). */
  serviceMonitors?: boolean;
  /**
   * Labels the Prometheus Operator selects ServiceMonitors by, e.g. `{ release: 'kps' }` for
   * kube-prometheus-stack installed as `kps` (its Prometheus picks only ServiceMonitors with its
   * release label by default).
   */
  serviceMonitorLabels?: Record<string, string>;
}

/** Grafana's files, as the managed Grafana mounts them. */
export interface GrafanaFiles {
  /** The data source provisioning file. */
  datasources: string;
  /** The dashboard provider provisioning file. */
  dashboardProvider: string;
  /** Dashboard JSON files by name (`vllm.json`). */
  dashboards: ReadonlyArray<{ name: string; text: string }>;
}

/** What {@link renderKubernetes} needs. */
export interface KubernetesInput {
  config: StackConfig;
  /** The infrastructure services `serve up` runs (their create specs), in start order. */
  services: readonly ServiceSpec[];
  /** Key of the services' spec hashes (they only enter Docker labels, which are not copied). */
  hashKey: string;
  /** The LiteLLM config to add the models to (the project's gateway config, else the starter). */
  gatewayConfig: string;
  /** Where {@link gatewayConfig} comes from, for messages. */
  gatewayConfigFile?: string;
  /** Grafana's files, when Grafana or its dashboards are exported. */
  grafana?: GrafanaFiles;
  options?: KubernetesOptions;
}

/** One file of the export. */
export interface KubernetesFile {
  /** Relative to the output directory, with `/`. */
  path: string;
  text: string;
  /** 0o600 for the Secret, 0o644 otherwise. */
  mode: number;
  /** The objects it holds; for a file a ConfigMap is generated from, that ConfigMap. */
  objects: KubeObjectRef[];
}

/** The export. */
export interface RenderedKubernetes {
  namespace: string;
  /** Sorted by path. */
  files: KubernetesFile[];
  /** The Secret every secret reference points at. */
  secretName: string;
  /** Every key of that Secret the objects use, who uses it, and whether `.env` has a value. */
  secrets: SecretReference[];
  /** What works differently than on Docker, for the user to read. */
  notes: string[];
}

/** The Secret holding every secret value the objects use. */
export const SECRET_NAME = 'inferstack-secrets';
const DEFAULT_HF_CACHE_SIZE = '100Gi';
const DEFAULT_HF_CACHE_PATH = '/var/lib/inferstack/huggingface';
/** How long a model may take to load: Docker's health check start period, else an hour. */
const DEFAULT_MODEL_STARTUP_SECONDS = 3600;
const STARTUP_PERIOD_SECONDS = 10;
const SECOND_NS = 1_000_000_000;
/** GPU nodes are often tainted so that only pods asking for GPUs land there. */
const GPU_TOLERATION = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };

/** Where the services' probes ask, and the user their pods run as (the images' own). */
const SERVICE_KINDS: Record<string, { app: string; probe: string; fsGroup?: number }> = {
  // LiteLLM's readiness route needs no key (docs/upstream/litellm.md).
  gateway: { app: 'litellm', probe: '/health/readiness' },
  // prom/prometheus runs as nobody; the group lets it read the key file and write its data.
  prometheus: { app: 'prometheus', probe: '/-/ready', fsGroup: 65534 },
  // grafana/grafana runs as 472.
  grafana: { app: 'grafana', probe: '/api/health', fsGroup: 472 },
};

interface Context {
  config: StackConfig;
  namespace: string;
  partOf: string;
  refs: SecretRefs;
  values: Map<string, string>;
  notes: string[];
  options: KubernetesOptions;
}

/**
 * The stack as a Kustomize directory: per model a Deployment and a Service (and its cache claim),
 * the gateway with its LiteLLM config routing to the model Services, Prometheus discovering the
 * models in the namespace, Grafana with the dashboards, and on request ServiceMonitors for the
 * Prometheus Operator. Deterministic: the same input gives byte-equal files.
 */
export function renderKubernetes(input: KubernetesInput): RenderedKubernetes {
  const { config } = input;
  const options = input.options ?? {};
  checkOptions(options);
  const namespace = options.namespace ?? kubernetesName(config.name);
  const c: Context = { config, namespace, partOf: labelValue(config.name), refs: new SecretRefs(config.settings), values: new Map(), notes: [], options };
  const files: KubernetesFile[] = [];
  const add = (path: string, objects: KubeObject[], comment?: string) =>
    files.push({ path, text: objectsYaml(objects, comment), mode: 0o644, objects: objects.map(ref) });
  const generators: Generator[] = [];

  add('namespace.yaml', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: commonLabels(c) } }]);

  const modelNames = serviceNames(config.models);
  const shared: KubeObject[] = [];
  for (const spec of config.models) {
    const { objects, sharedClaims } = modelObjects(c, spec, modelNames.get(spec.key)!);
    add(`models/${modelNames.get(spec.key)}.yaml`, objects, ` Model ${spec.key}: ${spec.model}`);
    for (const claim of sharedClaims) if (!shared.some((s) => s.metadata.name === claim.metadata.name)) shared.push(claim);
  }
  if (shared.length > 0) add('volumes.yaml', shared, ' Named volumes of the models (Docker named volumes): check their size');
  sharedGpuNotes(c, config.models);

  const byKind = new Map(input.services.map((s) => [s.kind, s]));
  for (const s of input.services) {
    if (!SERVICE_KINDS[s.kind]) c.notes.push(skippedServiceNote(s.kind));
  }
  const gateway = byKind.get('gateway');
  const prometheus = byKind.get('prometheus');
  const grafana = byKind.get('grafana');
  const gatewayName = gateway ? kubernetesName(gateway.name) : undefined;
  const prometheusName = prometheus ? kubernetesName(prometheus.name) : undefined;

  if (gateway && gatewayName) {
    const configName = `${gatewayName}-config`;
    const configKey = posix.basename(configFlag(gateway) ?? 'config.yaml');
    // The gateway sync's own entries, for every model, at its Service: desiredDeployments reads
    // only the name, key and served name of a container.
    const containers = config.models.map((m) => ({ name: modelNames.get(m.key)!, key: m.key, servedModelName: m.servedModelName }));
    const desired = desiredDeployments(config, containers as unknown as ModelContainer[], 'config');
    const litellm = renderLitellmConfig(input.gatewayConfig, desired, configKey, { owner: config.name });
    if (holdsSecret(config, litellm.text)) {
      throw new StackInputError(`the gateway's config file ${input.gatewayConfigFile ?? config.gateway.configFile} holds a secret value, which would be readable in a ConfigMap`, {
        hint: 'refer to secrets as os.environ/NAME in it (e.g. master_key: os.environ/LITELLM_MASTER_KEY)',
      });
    }
    const path = 'files/litellm/config.yaml';
    files.push({ path, text: litellm.text, mode: 0o644, objects: [{ kind: 'ConfigMap', name: configName }] });
    // The config names inferstack's plugin (the managed gateway's config always does): the
    // module goes into the same ConfigMap, mounted beside the config, or LiteLLM fails to start.
    const plugin = names(litellm.text, PLUGIN_CALLBACK) ? [`${PLUGIN_FILE}=files/litellm/${PLUGIN_FILE}`] : [];
    if (plugin.length > 0) files.push({ path: `files/litellm/${PLUGIN_FILE}`, text: PLUGIN_SOURCE, mode: 0o644, objects: [{ kind: 'ConfigMap', name: configName }] });
    generators.push({ name: configName, files: [`${configKey}=${path}`, ...plugin] });
    if (config.gateway.sync === 'api') c.notes.push('the gateway runs in config-file mode on Kubernetes (its model list is a ConfigMap): API mode needs a database, which the export does not deploy');
    const objects = serviceObjects(c, gateway, input.hashKey, (target) => (target === posix.dirname(configFlag(gateway) ?? '') ? { name: 'config', volume: { configMap: { name: configName } } } : undefined));
    add('gateway.yaml', objects, ' The LiteLLM gateway: it routes to the model Services listed in its ConfigMap (files/litellm/config.yaml)');
  }

  if (prometheus && prometheusName) {
    const configName = `${prometheusName}-config`;
    const keyFile = 'litellm-key';
    const configFile = prometheus.cmd?.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
    const configDir = posix.dirname(configFile);
    const gatewayPort = gateway ? containerPorts(serviceContainerOptions(gateway, ''))[0] : undefined;
    const masterKey = gateway ? gatewaySecretKey(c, gateway) : undefined;
    const text = renderPrometheusConfig({
      ...(gatewayName && gatewayPort ? { gateway: { target: `${gatewayName}:${gatewayPort}`, ...(masterKey ? { bearerTokenFile: `${configDir}/${keyFile}` } : {}) } } : {}),
      modelDiscovery: { what: `Kubernetes' model Services of namespace ${namespace} (kubernetes_sd, role endpointslice)`, scrapeConfig: modelDiscovery(c) },
      extraScrapeConfigs: config.monitoring.extraScrapeConfigs,
      scrapeInterval: scrapeInterval(config),
    });
    const path = 'files/prometheus/prometheus.yml';
    files.push({ path, text, mode: 0o644, objects: [{ kind: 'ConfigMap', name: configName }] });
    generators.push({ name: configName, files: [`${posix.basename(configFile)}=${path}`] });
    const sources: unknown[] = [{ configMap: { name: configName } }];
    if (masterKey) sources.push({ secret: { name: SECRET_NAME, items: [{ key: masterKey, path: keyFile }] } });
    const account = prometheusName;
    const objects = serviceObjects(
      c,
      prometheus,
      input.hashKey,
      (target) => {
        // Readable by the group the pod's fsGroup gives the files: the image's user is in it.
        if (target === configDir) return { name: 'config', volume: { projected: { sources, defaultMode: 0o440 } } };
        // Other host directories hold target files: here Kubernetes tells Prometheus the targets.
        return target.startsWith('/etc/prometheus') ? 'skip' : undefined;
      },
      { serviceAccountName: account },
    );
    add('prometheus.yaml', [...prometheusRbac(c, account), ...objects], ' Prometheus: it finds the model Services of this namespace itself (kubernetes_sd), the gateway by its Service');
    if (config.monitoring.extraScrapeConfigs.length > 0) c.notes.push('the scrape-configs of models.yaml are kept as they are in prometheus.yml: check that their targets are reachable from the cluster');
  }

  const monitoring = config.monitoring.mode !== 'none';
  if (monitoring && input.grafana) {
    const grafanaName = grafana ? kubernetesName(grafana.name) : 'grafana';
    const dashboards = [...input.grafana.dashboards].sort((a, b) => compareText(a.name, b.name));
    const dashboardMaps: string[] = [];
    for (const d of dashboards) {
      const stem = d.name.replace(/\.json$/, '');
      const name = `${grafanaName}-dashboard-${kubernetesName(stem)}`;
      const path = `files/grafana/dashboards/${d.name}`;
      files.push({ path, text: d.text, mode: 0o644, objects: [{ kind: 'ConfigMap', name }] });
      // Stable names and the label Grafana's dashboard sidecar (kube-prometheus-stack) looks for.
      generators.push({ name, files: [`${d.name}=${path}`], labels: { grafana_dashboard: '1' }, stableName: true });
      dashboardMaps.push(name);
    }
    if (grafana && prometheusName) {
      const datasourcesName = `${grafanaName}-datasources`;
      const providerName = `${grafanaName}-dashboard-provider`;
      const prometheusPort = containerPorts(serviceContainerOptions(prometheus!, ''))[0] ?? 9090;
      const datasources = input.grafana.datasources.replace('http://prometheus:9090', `http://${prometheusName}:${prometheusPort}`);
      files.push({ path: 'files/grafana/datasources.yaml', text: datasources, mode: 0o644, objects: [{ kind: 'ConfigMap', name: datasourcesName }] });
      files.push({ path: 'files/grafana/dashboards.yaml', text: input.grafana.dashboardProvider, mode: 0o644, objects: [{ kind: 'ConfigMap', name: providerName }] });
      generators.push({ name: datasourcesName, files: ['prometheus.yaml=files/grafana/datasources.yaml'] });
      generators.push({ name: providerName, files: ['inferstack.yaml=files/grafana/dashboards.yaml'] });
      const objects = serviceObjects(c, grafana, input.hashKey, (target) => {
        if (target === '/etc/grafana/provisioning') {
          const sources = [
            { configMap: { name: datasourcesName, items: [{ key: 'prometheus.yaml', path: 'datasources/prometheus.yaml' }] } },
            { configMap: { name: providerName, items: [{ key: 'inferstack.yaml', path: 'dashboards/inferstack.yaml' }] } },
          ];
          return { name: 'provisioning', volume: { projected: { sources } } };
        }
        if (target === '/var/lib/grafana/dashboards/inferstack') return { name: 'dashboards', volume: { projected: { sources: dashboardMaps.map((name) => ({ configMap: { name } })) } } };
        return undefined;
      });
      add('grafana.yaml', objects, ' Grafana with the inferstack dashboards (ConfigMaps labelled grafana_dashboard: "1")');
    }
  }

  if (monitoring && (options.serviceMonitors || options.serviceMonitorLabels)) {
    add('servicemonitors.yaml', serviceMonitors(c, config.models.length > 0, gateway), ' For the Prometheus Operator: it scrapes the models (job vllm) and the gateway (job litellm) as the managed Prometheus does');
  } else if (config.monitoring.mode === 'external') {
    c.notes.push('monitoring is external: with the Prometheus Operator, export with ServiceMonitors (--service-monitors) so that it scrapes the models and the gateway');
  }

  const secrets = c.refs.list();
  if (options.withSecrets) {
    const data = Object.fromEntries(secrets.map((s) => [s.name, c.values.get(s.name) ?? '']));
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET_NAME, namespace, labels: commonLabels(c) }, type: 'Opaque', stringData: data };
    files.push({ path: 'secret.yaml', text: objectsYaml([secret], ' Secret values from .env: keep this file private (mode 0600), do not commit it.'), mode: 0o600, objects: [ref(secret)] });
  }
  for (const s of secrets.filter((x) => !x.inSettings)) c.notes.push(`${s.name} (for ${s.usedBy.join(', ')}) has no value in the settings: the Secret needs one`);

  const resources = files
    .filter((f) => f.path.endsWith('.yaml') && !f.path.startsWith('files/'))
    .map((f) => f.path)
    .sort((a, b) => (a === 'namespace.yaml' ? -1 : b === 'namespace.yaml' ? 1 : compareText(a, b)));
  files.push(
    kustomizationFile(
      'kustomization.yaml',
      {
        namespace,
        resources,
        ...(generators.length > 0 ? { configMapGenerator: generators.map((g) => generatorEntry(c, g)) } : {}),
      },
      [
        ` Generated by "serve export kubernetes" from ${posix.relative(config.projectDir.replaceAll('\\', '/'), config.file.replaceAll('\\', '/'))} (stack ${config.name}); changes here are overwritten.`,
        ` Apply with: kubectl apply -k <this directory>${options.serviceMonitors || options.serviceMonitorLabels ? ' (the ServiceMonitor CRD of the Prometheus Operator must be installed)' : ''}`,
        ` Secrets are references to the Secret ${SECRET_NAME}${options.withSecrets ? ' (secret.yaml)' : ', which you create ("serve export kubernetes" lists its keys)'}.`,
        ' ConfigMaps made from files/ get a content hash in their name: a changed config rolls out the pods that use it.',
      ].join('\n'),
    ),
  );

  files.sort((a, b) => compareText(a.path, b.path));
  for (const f of files) {
    if (f.path !== 'secret.yaml' && holdsSecret(config, f.text)) throw new Error(`internal error: a secret value reached ${f.path}; nothing was written`);
  }
  return { namespace, files, secretName: SECRET_NAME, secrets, notes: c.notes };
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const STORAGE_SIZE = /^[1-9][0-9]*(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Bad options are bad input, each named; nothing is rendered. */
function checkOptions(o: KubernetesOptions): void {
  const problems: string[] = [];
  if (o.namespace !== undefined && !DNS_LABEL.test(o.namespace)) problems.push(`namespace "${o.namespace}": lower-case letters, digits and -, at most 63`);
  if (o.hfCache !== undefined && o.hfCache !== 'pvc' && o.hfCache !== 'host-path') problems.push(`hfCache "${String(o.hfCache)}": pvc or host-path`);
  if (o.hfCacheSize !== undefined && !STORAGE_SIZE.test(o.hfCacheSize)) problems.push(`hf-cache-size "${o.hfCacheSize}": a size such as 200Gi`);
  if (o.hfCacheSize !== undefined && o.hfCache === 'host-path') problems.push('hf-cache-size is for the claims of --hf-cache pvc');
  if (o.hfCachePath !== undefined && (!o.hfCachePath.startsWith('/') || o.hfCache !== 'host-path')) problems.push(`hf-cache-path "${o.hfCachePath}": an absolute path, with --hf-cache host-path`);
  if (o.storageClass !== undefined && !DNS_SUBDOMAIN.test(o.storageClass)) problems.push(`storage-class "${o.storageClass}": a Kubernetes object name`);
  if (o.runtimeClass !== undefined && !DNS_SUBDOMAIN.test(o.runtimeClass)) problems.push(`runtime-class "${o.runtimeClass}": a Kubernetes object name`);
  for (const [key, value] of Object.entries(o.serviceMonitorLabels ?? {})) {
    if (!LABEL_KEY.test(key) || !/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/.test(value)) problems.push(`service monitor label ${key}=${value}: not a Kubernetes label`);
  }
  if (problems.length > 0) throw new StackInputError(`bad Kubernetes export option${problems.length > 1 ? 's' : ''}: ${problems.join('; ')}`);
}

/** Whether a secret value of the config appears in `text` (values shorter than 6 would match by chance). */
function holdsSecret(config: StackConfig, text: string): boolean {
  return secretValues(config).some((v) => v.length >= 6 && text.includes(v));
}

function ref(o: KubeObject): KubeObjectRef {
  return { kind: o.kind, name: o.metadata.name };
}

function commonLabels(c: Context): Record<string, string> {
  return { 'app.kubernetes.io/part-of': c.partOf, 'app.kubernetes.io/managed-by': 'inferstack' };
}

function appLabels(c: Context, app: string, instance: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': instance, 'app.kubernetes.io/component': component, ...commonLabels(c) };
}

/** What a Deployment selects its pods by (immutable: name and instance only). */
function selector(labels: Record<string, string>): Record<string, string> {
  return { 'app.kubernetes.io/name': labels['app.kubernetes.io/name']!, 'app.kubernetes.io/instance': labels['app.kubernetes.io/instance']! };
}

/** Each model's Service name: its container's name where that is a valid one. Throws on a clash. */
function serviceNames(models: readonly ModelSpec[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Map<string, string>();
  for (const m of models) {
    const name = kubernetesName(m.containerName);
    const other = taken.get(name);
    if (other) throw new Error(`models "${other}" and "${m.key}" would both be the Kubernetes Service ${name}`);
    taken.set(name, m.key);
    names.set(m.key, name);
  }
  return names;
}

/** The value of a vLLM flag in argv (`--x v`, `--x=v`, underscores or hyphens), if given. */
function flagValue(args: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const [flag = '', inline] = (args[i] ?? '').split(/=(.*)/s, 2);
    const normal = flag.startsWith('--') ? `--${flag.slice(2).replaceAll('_', '-')}` : flag;
    if (names.includes(normal)) return inline ?? args[i + 1];
  }
  return undefined;
}

/**
 * How many GPUs vLLM uses: tensor × pipeline × data parallel size (each 1 unless given). A model
 * with `gpus: all` gets this many on Kubernetes, which has no "every GPU of the node".
 */
export function vllmWorldSize(spec: Pick<ModelSpec, 'vllmArgs' | 'tensorParallelSize'>): number {
  const size = (names: string[]) => {
    const n = Number(flagValue(spec.vllmArgs, names));
    return Number.isInteger(n) && n > 0 ? n : 1;
  };
  return (spec.tensorParallelSize ?? size(['--tensor-parallel-size', '-tp'])) * size(['--pipeline-parallel-size', '-pp']) * size(['--data-parallel-size', '-dp']);
}

/** `nvidia.com/gpu` of a model: the listed devices' count, the world size for `all`, none for `none`. */
function gpuCount(c: Context, spec: ModelSpec, create: ContainerCreateOptions): number {
  const request = create.HostConfig?.DeviceRequests?.[0];
  if (!request) return 0;
  if (request.DeviceIDs && request.DeviceIDs.length > 0) {
    const n = request.DeviceIDs.length;
    const used = vllmWorldSize(spec);
    if (used !== n) c.notes.push(`${spec.key}: gets ${n} GPUs, as on Docker, but vLLM uses ${used} (tensor × pipeline × data parallel size): set tensor-parallel-size to ${n}, or list ${used}`);
    return n;
  }
  const n = vllmWorldSize(spec);
  c.notes.push(`${spec.key}: gpus: all becomes ${n} GPU${n === 1 ? '' : 's'} (nvidia.com/gpu: ${n}, the tensor × pipeline × data parallel size): Kubernetes has no "every GPU of the node"`);
  return n;
}

/** Docker gives models overlapping GPUs; Kubernetes gives every pod GPUs of its own. */
function sharedGpuNotes(c: Context, models: readonly ModelSpec[]): void {
  const owner = new Map<number, string>();
  for (const m of models) {
    if (m.gpus.kind !== 'devices') continue;
    for (const i of m.gpus.indices) {
      const other = owner.get(i);
      if (other) c.notes.push(`${other} and ${m.key} share GPU ${i} on Docker; on Kubernetes each pod gets whole GPUs of its own unless the device plugin shares them (time-slicing or MPS)`);
      else owner.set(i, m.key);
    }
  }
}

/** The probes of a container with vLLM's or a service's HTTP health route. */
function probes(path: string, port: string, startupSeconds: number, readiness: { period: number; timeout: number; failures: number }) {
  return {
    // Until the first success: as long as loading may take (weights download, CUDA graphs).
    startupProbe: { httpGet: { path, port }, periodSeconds: STARTUP_PERIOD_SECONDS, timeoutSeconds: readiness.timeout, failureThreshold: Math.max(1, Math.ceil(startupSeconds / STARTUP_PERIOD_SECONDS)) },
    readinessProbe: { httpGet: { path, port }, periodSeconds: readiness.period, timeoutSeconds: readiness.timeout, failureThreshold: readiness.failures },
  };
}

/** The path of a health check that runs curl against localhost (vLLM's), if it is one. */
function healthPath(create: ContainerCreateOptions): string | undefined {
  for (const word of create.Healthcheck?.Test ?? []) {
    const m = /^https?:\/\/(?:localhost|127\.0\.0\.1)(?::\d+)?(\/\S*)$/.exec(word);
    if (m) return m[1];
  }
  return undefined;
}

function containerPorts(create: ContainerCreateOptions): number[] {
  return Object.keys(create.ExposedPorts ?? {})
    .map((p) => Number.parseInt(p, 10))
    .sort((a, b) => a - b);
}

function pullPolicy(policy: ModelSpec['pullPolicy'] | undefined): string {
  return policy === 'always' ? 'Always' : policy === 'never' ? 'Never' : 'IfNotPresent';
}

/** `linux/arm64` as the node labels that select such nodes. */
function platformSelector(platform: string | undefined): Record<string, string> | undefined {
  if (!platform) return undefined;
  const [os, arch] = platform.split('/');
  return { ...(os ? { 'kubernetes.io/os': os } : {}), ...(arch ? { 'kubernetes.io/arch': arch } : {}) };
}

function claim(c: Context, name: string, size: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: c.namespace, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(c.options.storageClass ? { storageClassName: c.options.storageClass } : {}),
      resources: { requests: { storage: size } },
    },
  };
}

function splitBind(bind: string): { source: string; target: string; readOnly: boolean } {
  const parts = bind.split(':');
  return { source: parts[0] ?? '', target: parts[1] ?? '', readOnly: parts[2] === 'ro' };
}

/** A model: its Deployment, its Service, its cache claim; named volumes it shares go elsewhere. */
function modelObjects(c: Context, spec: ModelSpec, name: string): { objects: KubeObject[]; sharedClaims: KubeObject[] } {
  // `--model X`: every vLLM image accepts it, and the file does not depend on which images the
  // local daemon happens to have (see the README).
  const create = modelContainerOptions(spec, { network: c.config.network, argvStyle: 'api-server' });
  const labels = appLabels(c, 'vllm', name, 'model');
  const gpus = gpuCount(c, spec, create);
  const annotations = { 'inferstack/model': spec.key, 'inferstack/served-model-name': spec.servedModelName, 'inferstack/gpus': gpus > 0 ? String(gpus) : 'none' };
  const secretKeys = Object.fromEntries(Object.entries(spec.secretEnv).map(([k, v]) => [k, reference(c, k, v, name, modelFallbackName(spec, k))]));
  const env = envFromCreate(create.Env, SECRET_NAME, secretKeys);
  const host = create.HostConfig ?? {};

  const objects: KubeObject[] = [];
  const sharedClaims: KubeObject[] = [];
  const volumes: unknown[] = [];
  const mounts: unknown[] = [];
  (host.Binds ?? []).forEach((bind, i) => {
    const { source, target, readOnly } = splitBind(bind);
    let volume: Record<string, unknown>;
    let volumeName: string;
    if (target === HF_CACHE_CONTAINER_PATH) {
      volumeName = 'hf-cache';
      if (c.options.hfCache === 'host-path') {
        volume = { hostPath: { path: c.options.hfCachePath ?? DEFAULT_HF_CACHE_PATH, type: 'DirectoryOrCreate' } };
      } else {
        const claimName = `${name}-hf-cache`;
        objects.push(claim(c, claimName, c.options.hfCacheSize ?? DEFAULT_HF_CACHE_SIZE, labels));
        volume = { persistentVolumeClaim: { claimName } };
      }
    } else if (source.startsWith('/')) {
      volumeName = `volume-${i}`;
      volume = { hostPath: { path: source, type: 'Directory' } };
      c.notes.push(`${spec.key}: the host directory ${source} becomes a hostPath volume: it must exist on the node the pod runs on`);
    } else {
      volumeName = `volume-${i}`;
      const claimName = kubernetesName(source);
      sharedClaims.push(claim(c, claimName, '10Gi', commonLabels(c)));
      volume = { persistentVolumeClaim: { claimName } };
      c.notes.push(`${spec.key}: the Docker volume ${source} becomes the PersistentVolumeClaim ${claimName} (10Gi, in volumes.yaml): check its size`);
    }
    volumes.push({ name: volumeName, ...volume });
    mounts.push({ name: volumeName, mountPath: target, ...(readOnly ? { readOnly: true } : {}) });
  });
  // Docker runs models with the host's IPC namespace, whose /dev/shm NCCL uses between GPUs; a
  // pod gets a memory-backed /dev/shm instead, as large as shm-size (unbounded when unset).
  volumes.push({ name: 'shm', emptyDir: { medium: 'Memory', ...(host.ShmSize ? { sizeLimit: bytesQuantity(host.ShmSize) } : {}) } });
  mounts.push({ name: 'shm', mountPath: '/dev/shm' });

  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (gpus > 0) limits['nvidia.com/gpu'] = String(gpus);
  if (host.CpusetCpus) {
    requests.cpu = String(cpusetSize(host.CpusetCpus));
    c.notes.push(`${spec.key}: cpuset-cpus ${host.CpusetCpus} becomes a request of ${requests.cpu} CPUs (pods are not pinned to CPUs unless the kubelet's static CPU manager is on)`);
  }
  const port = containerPorts(create)[0] ?? 8000;
  const startupSeconds = create.Healthcheck?.StartPeriod ? create.Healthcheck.StartPeriod / SECOND_NS : DEFAULT_MODEL_STARTUP_SECONDS;
  const health = healthPath(create) ?? '/health';
  const container = {
    name: 'vllm',
    image: create.Image,
    imagePullPolicy: pullPolicy(spec.pullPolicy),
    args: [create.Cmd ?? []].flat().map(literal),
    ...(env.length > 0 ? { env } : {}),
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    ...(Object.keys(limits).length + Object.keys(requests).length > 0
      ? { resources: { ...(Object.keys(limits).length > 0 ? { limits } : {}), ...(Object.keys(requests).length > 0 ? { requests } : {}) } }
      : {}),
    ...probes(health, 'http', startupSeconds, {
      period: (create.Healthcheck?.Interval ?? 5 * SECOND_NS) / SECOND_NS,
      timeout: (create.Healthcheck?.Timeout ?? 3 * SECOND_NS) / SECOND_NS,
      failures: create.Healthcheck?.Retries ?? 3,
    }),
    volumeMounts: mounts,
  };
  const nodeSelector = platformSelector(create.platform);
  objects.unshift(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: c.namespace, labels, annotations },
      spec: {
        replicas: 1,
        // The old pod must free its GPUs (and its cache claim) before the new one can start.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selector(labels) },
        template: {
          metadata: { labels, annotations },
          spec: {
            ...podBasics(),
            ...(gpus > 0 && c.options.runtimeClass ? { runtimeClassName: c.options.runtimeClass } : {}),
            ...(nodeSelector ? { nodeSelector } : {}),
            ...(gpus > 0 ? { tolerations: [GPU_TOLERATION] } : {}),
            containers: [container],
            volumes,
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: c.namespace, labels, annotations },
      spec: { selector: selector(labels), ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
    },
  );
  return { objects, sharedClaims };
}

/** What every pod of the stack sets. */
function podBasics() {
  return {
    // No SERVICE_HOST/PORT variables for every Service of the namespace: a Service named vllm
    // would set VLLM_PORT, which vLLM reads as its own internal port base.
    enableServiceLinks: false,
    automountServiceAccountToken: false,
  };
}

/** A reference to a secret value (its key in the Secret), remembering the value for --with-secrets. */
function reference(c: Context, envName: string, value: string, usedBy: string, fallback?: string): string {
  const key = c.refs.reference(envName, value, usedBy, fallback);
  c.values.set(key, value);
  return key;
}

/** Whether a LiteLLM config names `callback` in `litellm_settings.callbacks`. */
function names(configText: string, callback: string): boolean {
  const callbacks = (parseDocument(configText).toJS() as { litellm_settings?: { callbacks?: unknown } } | null)?.litellm_settings?.callbacks;
  return (Array.isArray(callbacks) ? callbacks : [callbacks]).some((c) => c === callback);
}

/** The `--config` path of the gateway's command. */
function configFlag(spec: ServiceSpec): string | undefined {
  const i = spec.cmd?.indexOf('--config') ?? -1;
  return i >= 0 ? spec.cmd?.[i + 1] : undefined;
}

/** The Secret key of the gateway's master key, if it has one. */
function gatewaySecretKey(c: Context, gateway: ServiceSpec): string | undefined {
  const value = gateway.secretEnv?.LITELLM_MASTER_KEY;
  return value ? reference(c, 'LITELLM_MASTER_KEY', value, kubernetesName(gateway.name)) : undefined;
}

/**
 * A service's Deployment and Service, from its create body. `mount` maps each bind's container
 * path to a volume source (a ConfigMap for the files `up` writes on the host), or `skip`; named
 * Docker volumes become claims.
 */
function serviceObjects(
  c: Context,
  spec: ServiceSpec,
  hashKey: string,
  mount: (target: string) => { name: string; volume: Record<string, unknown> } | 'skip' | undefined,
  pod: Record<string, unknown> = {},
): KubeObject[] {
  const kind = SERVICE_KINDS[spec.kind]!;
  const create = serviceContainerOptions(spec, serviceSpecHash(spec, hashKey));
  const name = kubernetesName(spec.name);
  const labels = appLabels(c, kind.app, name, spec.kind === 'gateway' ? 'gateway' : 'monitoring');
  const secretKeys = Object.fromEntries(Object.entries(spec.secretEnv ?? {}).map(([k, v]) => [k, reference(c, k, v, name)]));
  const env: EnvVar[] = envFromCreate(create.Env, SECRET_NAME, secretKeys);
  const objects: KubeObject[] = [];
  const volumes: unknown[] = [];
  const mounts: unknown[] = [];
  for (const bind of create.HostConfig?.Binds ?? []) {
    const { source, target, readOnly } = splitBind(bind);
    let mapped = mount(target);
    if (mapped === 'skip') continue;
    if (!mapped && !source.startsWith('/')) {
      // A Docker named volume (the service's data) becomes a claim of its own.
      const claimName = kubernetesName(source);
      objects.push(claim(c, claimName, spec.kind === 'prometheus' ? '20Gi' : '1Gi', labels));
      mapped = { name: 'data', volume: { persistentVolumeClaim: { claimName } } };
    }
    if (!mapped) {
      c.notes.push(`${spec.name}: the host directory ${source} (${target}) is not exported`);
      continue;
    }
    volumes.push({ name: mapped.name, ...mapped.volume });
    mounts.push({ name: mapped.name, mountPath: target, ...(readOnly ? { readOnly: true } : {}) });
  }
  const port = containerPorts(create)[0];
  const container = {
    name: kind.app,
    image: create.Image,
    imagePullPolicy: pullPolicy(spec.pullPolicy),
    ...(create.Entrypoint ? { command: [create.Entrypoint].flat().map(literal) } : {}),
    ...(create.Cmd ? { args: [create.Cmd].flat().map(literal) } : {}),
    ...(env.length > 0 ? { env } : {}),
    ...(port ? { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] } : {}),
    // A few seconds normally; five minutes before the pod counts as failed.
    ...(port ? probes(kind.probe, 'http', 300, { period: 10, timeout: 3, failures: 3 }) : {}),
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
  objects.unshift({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: c.namespace, labels },
    spec: {
      replicas: 1,
      // Its data claim is ReadWriteOnce: one pod at a time.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector(labels) },
      template: {
        metadata: { labels },
        spec: {
          ...podBasics(),
          ...pod,
          ...(pod.serviceAccountName ? { automountServiceAccountToken: true } : {}),
          ...(kind.fsGroup !== undefined ? { securityContext: { fsGroup: kind.fsGroup } } : {}),
          containers: [container],
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
    },
  });
  if (port) {
    objects.splice(1, 0, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: c.namespace, labels },
      spec: { selector: selector(labels), ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
    });
  }
  return objects;
}

function skippedServiceNote(kind: string): string {
  if (kind === 'dcgm-exporter') return 'the DCGM exporter is not exported: on Kubernetes the NVIDIA GPU Operator runs it on every GPU node';
  if (kind === 'node-exporter') return "node-exporter is not exported: on Kubernetes it runs once per node, as the cluster's monitoring installs it (e.g. kube-prometheus-stack)";
  if (kind === 'gateway-db') return "the gateway's database is not exported (the gateway runs in config-file mode)";
  return `the service ${kind} has no Kubernetes form and is not exported`;
}

const DEFAULT_SCRAPE_INTERVAL = '15s';
function scrapeInterval(config: StackConfig): string {
  return config.settings.PROMETHEUS_SCRAPE_INTERVAL ?? DEFAULT_SCRAPE_INTERVAL;
}

/** Prometheus' meta label of a Kubernetes label or annotation name (`app.kubernetes.io/x` → `app_kubernetes_io_x`). */
function metaName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** The labels a model's series get, as on Docker (the file_sd labels), from its Service. */
const MODEL_TARGET_LABELS: ReadonlyArray<[string, string]> = [
  ['__meta_kubernetes_service_annotation_inferstack_model', 'model'],
  ['__meta_kubernetes_service_annotation_inferstack_served_model_name', 'served_model_name'],
  ['__meta_kubernetes_service_annotation_inferstack_gpus', 'gpus'],
  ['__meta_kubernetes_service_name', 'container'],
  ['__meta_kubernetes_pod_node_name', 'host'],
];

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The model job's discovery: the ready endpoints of this stack's model Services in the namespace. */
function modelDiscovery(c: Context): Record<string, unknown> {
  return {
    kubernetes_sd_configs: [{ role: 'endpointslice', namespaces: { names: [c.namespace] } }],
    relabel_configs: [
      {
        source_labels: [
          `__meta_kubernetes_service_label_${metaName('app.kubernetes.io/component')}`,
          `__meta_kubernetes_service_label_${metaName('app.kubernetes.io/part-of')}`,
          '__meta_kubernetes_endpointslice_port_name',
        ],
        regex: `model;${escapeRegex(c.partOf)};http`,
        action: 'keep',
      },
      // As on Docker, a model that is still loading is no target.
      { source_labels: ['__meta_kubernetes_endpointslice_endpoint_conditions_ready'], regex: 'true', action: 'keep' },
      ...MODEL_TARGET_LABELS.map(([source, target]) => ({ source_labels: [source], target_label: target })),
    ],
  };
}

/** Namespaced read access to what Prometheus' Kubernetes discovery watches. */
function prometheusRbac(c: Context, account: string): KubeObject[] {
  const labels = appLabels(c, 'prometheus', account, 'monitoring');
  const meta = { name: account, namespace: c.namespace, labels };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta,
      rules: [
        { apiGroups: [''], resources: ['services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account },
      subjects: [{ kind: 'ServiceAccount', name: account, namespace: c.namespace }],
    },
  ];
}

/**
 * ServiceMonitors for the Prometheus Operator: the models (job `vllm`) and the gateway (job
 * `litellm`, with its key), labelled like the managed Prometheus labels them, so the dashboards
 * work on either.
 */
function serviceMonitors(c: Context, models: boolean, gateway: ServiceSpec | undefined): KubeObject[] {
  const out: KubeObject[] = [];
  const interval = scrapeInterval(c.config);
  const namespaceSelector = { matchNames: [c.namespace] };
  if (models) {
    out.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'vllm', namespace: c.namespace, labels: { ...commonLabels(c), ...c.options.serviceMonitorLabels } },
      spec: {
        // The job label is the Services' app.kubernetes.io/name: vllm, as the dashboards expect.
        jobLabel: 'app.kubernetes.io/name',
        selector: { matchLabels: { 'app.kubernetes.io/component': 'model', 'app.kubernetes.io/part-of': c.partOf } },
        namespaceSelector,
        endpoints: [
          {
            port: 'http',
            path: '/metrics',
            interval,
            relabelings: MODEL_TARGET_LABELS.map(([source, target]) => ({ sourceLabels: [source], targetLabel: target })),
          },
        ],
      },
    });
  }
  if (gateway) {
    const name = kubernetesName(gateway.name);
    const key = gatewaySecretKey(c, gateway);
    out.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'litellm', namespace: c.namespace, labels: { ...commonLabels(c), ...c.options.serviceMonitorLabels } },
      spec: {
        jobLabel: 'app.kubernetes.io/name',
        selector: { matchLabels: { 'app.kubernetes.io/instance': name, 'app.kubernetes.io/part-of': c.partOf } },
        namespaceSelector,
        endpoints: [
          {
            port: 'http',
            // LiteLLM serves its metrics at /metrics/ and asks for the key there.
            path: '/metrics/',
            interval,
            ...(key ? { authorization: { type: 'Bearer', credentials: { name: SECRET_NAME, key } } } : {}),
          },
        ],
      },
    });
  }
  return out;
}

interface Generator {
  name: string;
  files: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** No content hash in the name (dashboards: found by label, reloaded in place). */
  stableName?: boolean;
}

function generatorEntry(c: Context, g: Generator): Record<string, unknown> {
  return {
    name: g.name,
    files: g.files,
    options: {
      labels: { ...commonLabels(c), ...g.labels },
      ...(g.annotations ? { annotations: g.annotations } : {}),
      ...(g.stableName ? { disableNameSuffixHash: true } : {}),
    },
  };
}

function kustomizationFile(path: string, body: Record<string, unknown>, comment: string): KubernetesFile {
  const doc = new Document({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...body });
  doc.commentBefore = comment;
  return { path, text: doc.toString({ lineWidth: 0 }), mode: 0o644, objects: [] };
}
