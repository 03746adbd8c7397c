import { posix } from 'node:path';
import type { StackConfig } from '@inferstack/config';
import { serviceContainerOptions, type ServiceSpec } from '@inferstack/docker-ops';
import { renderPrometheusConfig } from '@inferstack/prometheus-sync';
import type { ExportFiles } from './kustomization.js';
import { appLabels, commonLabels } from './labels.js';
import { compareText, kubernetesName, type KubeObject } from './objects.js';
import { gatewaySecretKey, serviceObjects } from './services.js';
import { SECRET_NAME, type KubernetesInput, type RenderContext } from './types.js';
import { containerPorts } from './workload.js';

/*
 * Monitoring on Kubernetes: Prometheus finds the model Services itself (kubernetes_sd) with the
 * labels the Docker stack's targets get, its read access, and ServiceMonitors for the
 * Prometheus Operator. And Grafana with the dashboards.
 */

/** Prometheus' config and objects (prometheus.yaml): it scrapes the gateway by its Service. */
export function prometheusPart(c: RenderContext, out: ExportFiles, input: KubernetesInput, prometheus: ServiceSpec, gateway: ServiceSpec | undefined): void {
  const { config } = c;
  const prometheusName = kubernetesName(prometheus.name);
  const configName = `${prometheusName}-config`;
  const keyFile = 'litellm-key';
  const configFile = prometheus.cmd?.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
  const configDir = posix.dirname(configFile);
  const gatewayName = gateway ? kubernetesName(gateway.name) : undefined;
  const gatewayPort = gateway ? containerPorts(serviceContainerOptions(gateway, ''))[0] : undefined;
  const masterKey = gateway ? gatewaySecretKey(c, gateway) : undefined;
  const text = renderPrometheusConfig({
    ...(gatewayName && gatewayPort ? { gateway: { target: `${gatewayName}:${gatewayPort}`, ...(masterKey ? { bearerTokenFile: `${configDir}/${keyFile}` } : {}) } } : {}),
    modelDiscovery: { what: `Kubernetes' model Services of namespace ${c.namespace} (kubernetes_sd, role endpointslice)`, scrapeConfig: modelDiscovery(c) },
    extraScrapeConfigs: config.monitoring.extraScrapeConfigs,
    scrapeInterval: scrapeInterval(config),
  });
  const path = 'files/prometheus/prometheus.yml';
  out.configMapFile(path, text, configName);
  out.generators.push({ name: configName, files: [`${posix.basename(configFile)}=${path}`] });
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
  out.objects('prometheus.yaml', [...prometheusRbac(c, account), ...objects], ' Prometheus: it finds the model Services of this namespace itself (kubernetes_sd), the gateway by its Service');
  if (config.monitoring.extraScrapeConfigs.length > 0) c.notes.push('the scrape-configs of models.yaml are kept as they are in prometheus.yml: check that their targets are reachable from the cluster');
}

/**
 * The dashboards as ConfigMaps (also for a Grafana of the cluster's, by their label) and, with a
 * managed Grafana and Prometheus, Grafana itself (grafana.yaml).
 */
export function grafanaPart(c: RenderContext, out: ExportFiles, input: KubernetesInput, files: NonNullable<KubernetesInput['grafana']>, grafana: ServiceSpec | undefined, prometheus: ServiceSpec | undefined): void {
  const grafanaName = grafana ? kubernetesName(grafana.name) : 'grafana';
  const dashboards = [...files.dashboards].sort((a, b) => compareText(a.name, b.name));
  const dashboardMaps: string[] = [];
  for (const d of dashboards) {
    const stem = d.name.replace(/\.json$/, '');
    const name = `${grafanaName}-dashboard-${kubernetesName(stem)}`;
    const path = `files/grafana/dashboards/${d.name}`;
    out.configMapFile(path, d.text, name);
    // Stable names and the label Grafana's dashboard sidecar (kube-prometheus-stack) looks for.
    out.generators.push({ name, files: [`${d.name}=${path}`], labels: { grafana_dashboard: '1' }, stableName: true });
    dashboardMaps.push(name);
  }
  if (!grafana || !prometheus) return;
  const prometheusName = kubernetesName(prometheus.name);
  const datasourcesName = `${grafanaName}-datasources`;
  const providerName = `${grafanaName}-dashboard-provider`;
  const prometheusPort = containerPorts(serviceContainerOptions(prometheus, ''))[0] ?? 9090;
  const datasources = files.datasources.replace('http://prometheus:9090', `http://${prometheusName}:${prometheusPort}`);
  out.configMapFile('files/grafana/datasources.yaml', datasources, datasourcesName);
  out.configMapFile('files/grafana/dashboards.yaml', files.dashboardProvider, providerName);
  out.generators.push({ name: datasourcesName, files: ['prometheus.yaml=files/grafana/datasources.yaml'] });
  out.generators.push({ name: providerName, files: ['inferstack.yaml=files/grafana/dashboards.yaml'] });
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
  out.objects('grafana.yaml', objects, ' Grafana with the inferstack dashboards (ConfigMaps labelled grafana_dashboard: "1")');
}

const DEFAULT_SCRAPE_INTERVAL = '15s';
export function scrapeInterval(config: StackConfig): string {
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

/** Where a model's series come from on Kubernetes (the ServiceMonitors' targets get them from the operator). */
const POD_TARGET_LABELS: ReadonlyArray<[string, string]> = [
  ['__meta_kubernetes_namespace', 'namespace'],
  ['__meta_kubernetes_pod_name', 'pod'],
  // A model's pods have no index: the pod's name tells its replicas apart on the dashboards.
  ['__meta_kubernetes_pod_name', 'replica'],
];

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The model job's discovery: the ready endpoints of this stack's model Services in the namespace. */
export function modelDiscovery(c: RenderContext): Record<string, unknown> {
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
      // Which pod (of a model's replicas) in which namespace, as the Prometheus Operator labels its
      // targets: what a custom metrics adapter maps the queue to the pods of an HPA by.
      ...POD_TARGET_LABELS.map(([source, target]) => ({ source_labels: [source], target_label: target })),
    ],
  };
}

/** Namespaced read access to what Prometheus' Kubernetes discovery watches. */
export function prometheusRbac(c: RenderContext, account: string): KubeObject[] {
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
export function serviceMonitors(c: RenderContext, models: boolean, gateway: ServiceSpec | undefined): KubeObject[] {
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
