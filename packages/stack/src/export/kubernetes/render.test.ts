import { parseConfig, type StackConfig } from '@inferstack/config';
import { modelContainerOptions } from '@inferstack/docker-ops';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { StackInputError } from '../../errors.js';
import { diffKubernetesFiles } from './diff.js';
import { vllmWorldSize } from './gpus.js';
import { renderKubernetes } from './render.js';
import type { KubernetesOptions, RenderedKubernetes } from './types.js';
import type { KubeObject } from './objects.js';
import { STARTER_CONFIG } from '../../gateway/files.js';
import { gatewayServiceSpec } from '../../services/gateway.js';
import { grafanaSpec, nodeExporterSpec, prometheusSpec } from '../../services/monitoring.js';

const SETTINGS = {
  HF_TOKEN: 'hf_secret_token_value_123456',
  LITELLM_MASTER_KEY: 'sk-master-0123456789abcdef0123456789abcdef',
  QWEN_API_KEY: 'qwen-vllm-key-0123456789abcdef',
  GRAFANA_ADMIN_PASSWORD: 'grafana-password-0123456789',
};

const MODELS = `name: prod
models:
  - big:
      model: Qwen/Qwen3-32B
      gpus: [0, 1]
      tensor-parallel-size: 2
      cpuset-cpus: "0-7"
      shm-size: 16g
      api-key: "\${QWEN_API_KEY}"
      chat-template: "{{ '$' }}(x)"
      volumes: ["models:/models:ro", "/srv/data:/data"]
  - org/small:
      model: Qwen/Qwen3-0.6B
      gpus: [2]
      max-model-len: 4096
      env: {VLLM_LOGGING_LEVEL: DEBUG}
  - every:
      model: meta-llama/Llama-3.1-70B-Instruct
      gpus: all
      gpu-memory-utilization: 0.05
      additional_flags: [-tp, "4", --pipeline-parallel-size=2]
  - cpu:
      model: demo/tiny
      gpus: none
`;

const GRAFANA = {
  datasources: 'datasources:\n  - url: http://prometheus:9090\n',
  dashboardProvider: 'providers: []\n',
  dashboards: [
    { name: 'vllm.json', text: '{"title":"vLLM"}\n' },
    { name: 'overview.json', text: '{"title":"Overview"}\n' },
  ],
};

function config(yaml = MODELS, settings: Record<string, string> = SETTINGS): StackConfig {
  return parseConfig(yaml, { file: '/p/model_config/models.yaml', projectDir: '/p', homeDir: '/home/u', settings, hashKey: 'k' });
}

function render(c = config(), options: KubernetesOptions = {}, gatewayConfig = STARTER_CONFIG): RenderedKubernetes {
  const services = [gatewayServiceSpec(c, { modelKeysInEnv: true }), nodeExporterSpec(c), prometheusSpec(c), grafanaSpec(c, '/dash')];
  return renderKubernetes({ config: c, services, hashKey: 'k', gatewayConfig, grafana: GRAFANA, options });
}

function objects(r: RenderedKubernetes, path: string): KubeObject[] {
  const file = r.files.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} in ${r.files.map((f) => f.path).join(', ')}`);
  return parseAllDocuments(file.text).map((d) => d.toJS() as KubeObject);
}

function find(r: RenderedKubernetes, path: string, kind: string): any {
  return objects(r, path).find((o) => o.kind === kind);
}

describe('renderKubernetes', () => {
  it('writes a namespace, a file per model, the gateway, Prometheus, Grafana and the kustomization', () => {
    const r = render();
    expect(r.namespace).toBe('prod');
    expect(r.files.map((f) => f.path)).toEqual([
      'files/grafana/dashboards.yaml',
      'files/grafana/dashboards/overview.json',
      'files/grafana/dashboards/vllm.json',
      'files/grafana/datasources.yaml',
      'files/litellm/config.yaml',
      // The config names inferstack's plugin: the module is exported beside it.
      'files/litellm/inferstack_gateway.py',
      'files/prometheus/prometheus.yml',
      'gateway.yaml',
      'grafana.yaml',
      'kustomization.yaml',
      'models/inference-big.yaml',
      'models/inference-cpu.yaml',
      'models/inference-every.yaml',
      'models/inference-org--small.yaml',
      'namespace.yaml',
      'prometheus.yaml',
      'volumes.yaml',
    ]);
    const k = parseYaml(r.files.find((f) => f.path === 'kustomization.yaml')!.text);
    expect(k.namespace).toBe('prod');
    expect(k.resources[0]).toBe('namespace.yaml');
    expect([...k.resources].sort()).toEqual(r.files.filter((f) => f.path.endsWith('.yaml') && !f.path.startsWith('files/') && f.path !== 'kustomization.yaml').map((f) => f.path).sort());
    expect(k.configMapGenerator.map((g: { name: string; files: string[] }) => [g.name, g.files])).toEqual([
      ['litellm-config', ['config.yaml=files/litellm/config.yaml', 'inferstack_gateway.py=files/litellm/inferstack_gateway.py']],
      ['prometheus-config', ['prometheus.yml=files/prometheus/prometheus.yml']],
      ['grafana-dashboard-overview', ['overview.json=files/grafana/dashboards/overview.json']],
      ['grafana-dashboard-vllm', ['vllm.json=files/grafana/dashboards/vllm.json']],
      ['grafana-datasources', ['prometheus.yaml=files/grafana/datasources.yaml']],
      ['grafana-dashboard-provider', ['inferstack.yaml=files/grafana/dashboards.yaml']],
    ]);
    // Dashboards keep their names (the Grafana sidecar finds them by label); configs get a hash.
    const dashboard = k.configMapGenerator.find((g: { name: string }) => g.name === 'grafana-dashboard-vllm');
    expect(dashboard.options).toMatchObject({ labels: { grafana_dashboard: '1' }, disableNameSuffixHash: true });
    expect(k.configMapGenerator[0].options.disableNameSuffixHash).toBeUndefined();
    expect(r.notes).toEqual(expect.arrayContaining([expect.stringContaining('node-exporter is not exported')]));
  });

  it('gives each model container the image, args and environment of serve up, secrets as Secret references', () => {
    const c = config();
    const r = render(c);
    for (const spec of c.models) {
      const create = modelContainerOptions(spec, { network: c.network, argvStyle: 'api-server' });
      const name = spec.containerName;
      const d = find(r, `models/${name}.yaml`, 'Deployment');
      const container = d.spec.template.spec.containers[0];
      expect(container.image).toBe(create.Image);
      // Kubernetes turns $$ into $, so the doubled text is vLLM's argv.
      expect(container.args.map((a: string) => a.replaceAll('$$', '$'))).toEqual(create.Cmd);
      const env = (create.Env ?? []).map((e) => e.split('=')[0]);
      expect(container.env.map((e: { name: string }) => e.name)).toEqual(env);
      for (const e of container.env) {
        if (e.name in spec.secretEnv) expect(e).toEqual({ name: e.name, valueFrom: { secretKeyRef: { name: 'inferstack-secrets', key: expect.any(String) } } });
        else expect(e.value.replaceAll('$$', '$')).toBe(spec.env[e.name]);
      }
      expect(d.metadata.annotations).toEqual({ 'inferstack/model': spec.key, 'inferstack/served-model-name': spec.servedModelName, 'inferstack/gpus': expect.any(String) });
      expect(find(r, `models/${name}.yaml`, 'Service').spec).toEqual({
        selector: { 'app.kubernetes.io/name': 'vllm', 'app.kubernetes.io/instance': name },
        ports: [{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' }],
      });
    }
    const big = find(r, 'models/inference-big.yaml', 'Deployment').spec.template.spec.containers[0];
    expect(big.env).toEqual(
      expect.arrayContaining([
        { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 'inferstack-secrets', key: 'HF_TOKEN' } } },
        { name: 'VLLM_API_KEY', valueFrom: { secretKeyRef: { name: 'inferstack-secrets', key: 'QWEN_API_KEY' } } },
      ]),
    );
    expect(big.args).toContain("{{ '$$' }}(x)");
    expect(r.secrets.map((s) => [s.name, s.usedBy])).toEqual([
      ['GRAFANA_ADMIN_PASSWORD', ['grafana']],
      ['HF_TOKEN', ['inference-big', 'inference-org--small', 'inference-every', 'inference-cpu']],
      ['LITELLM_MASTER_KEY', ['litellm']],
      ['QWEN_API_KEY', ['inference-big', 'litellm']],
    ]);
  });

  it('asks for GPUs as the selection and the parallel sizes say; memory-backed /dev/shm; CPUs; Recreate; probes with an hour to load', () => {
    const r = render();
    const pod = (name: string) => find(r, `models/${name}.yaml`, 'Deployment').spec.template.spec;
    expect(pod('inference-big').containers[0].resources).toEqual({ limits: { 'nvidia.com/gpu': '2' }, requests: { cpu: '8' } });
    expect(pod('inference-org--small').containers[0].resources).toEqual({ limits: { 'nvidia.com/gpu': '1' } });
    // gpus: all → what vLLM uses: 4 (tensor) × 2 (pipeline).
    expect(pod('inference-every').containers[0].resources).toEqual({ limits: { 'nvidia.com/gpu': '8' } });
    expect(find(r, 'models/inference-every.yaml', 'Deployment').metadata.annotations['inferstack/gpus']).toBe('8');
    expect(r.notes).toEqual(expect.arrayContaining([expect.stringContaining('every: gpus: all becomes 8 GPUs')]));
    expect(pod('inference-cpu').containers[0].resources).toBeUndefined();
    // gpus: auto is a count already: no note that it became one.
    const auto = render(config('models:\n  - a: {model: x/a, gpus: auto, tensor-parallel-size: 2}\n'));
    expect(find(auto, 'models/inference-a.yaml', 'Deployment').spec.template.spec.containers[0].resources).toEqual({ limits: { 'nvidia.com/gpu': '2' } });
    expect(auto.notes.filter((n) => n.includes('GPU'))).toEqual([]);
    expect(pod('inference-cpu').tolerations).toBeUndefined();
    expect(pod('inference-big').tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod('inference-big').volumes.find((v: { name: string }) => v.name === 'shm')).toEqual({ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '16Gi' } });
    expect(pod('inference-cpu').volumes.find((v: { name: string }) => v.name === 'shm')).toEqual({ name: 'shm', emptyDir: { medium: 'Memory' } });
    expect(pod('inference-big')).toMatchObject({ enableServiceLinks: false, automountServiceAccountToken: false });
    expect(find(r, 'models/inference-big.yaml', 'Deployment').spec.strategy).toEqual({ type: 'Recreate' });
    const c = pod('inference-big').containers[0];
    expect(c.startupProbe).toEqual({ httpGet: { path: '/health', port: 'http' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 360 });
    expect(c.readinessProbe).toEqual({ httpGet: { path: '/health', port: 'http' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 });
    expect(c.livenessProbe).toBeUndefined();
  });

  it('keeps the HF cache in a claim per model, or in a directory of the node; other volumes as claims or host paths', () => {
    const r = render();
    const claims = objects(r, 'models/inference-big.yaml').filter((o) => o.kind === 'PersistentVolumeClaim');
    expect(claims.map((o: any) => [o.metadata.name, o.spec])).toEqual([['inference-big-hf-cache', { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } } }]]);
    const pod = find(r, 'models/inference-big.yaml', 'Deployment').spec.template.spec;
    expect(pod.volumes.slice(0, 3)).toEqual([
      { name: 'hf-cache', persistentVolumeClaim: { claimName: 'inference-big-hf-cache' } },
      { name: 'volume-1', persistentVolumeClaim: { claimName: 'models' } },
      { name: 'volume-2', hostPath: { path: '/srv/data', type: 'Directory' } },
    ]);
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'volume-1', mountPath: '/models', readOnly: true });
    expect(objects(r, 'volumes.yaml').map((o) => o.metadata.name)).toEqual(['models']);

    const hostPath = render(config(), { hfCache: 'host-path', hfCachePath: '/data/hf', storageClass: 'fast-ssd' });
    expect(objects(hostPath, 'models/inference-big.yaml').map((o) => o.kind)).toEqual(['Deployment', 'Service']);
    expect(find(hostPath, 'models/inference-big.yaml', 'Deployment').spec.template.spec.volumes[0]).toEqual({ name: 'hf-cache', hostPath: { path: '/data/hf', type: 'DirectoryOrCreate' } });
    expect(find(hostPath, 'volumes.yaml', 'PersistentVolumeClaim').spec.storageClassName).toBe('fast-ssd');
    const sized = render(config(), { hfCacheSize: '500Gi', runtimeClass: 'nvidia' });
    expect(find(sized, 'models/inference-big.yaml', 'PersistentVolumeClaim').spec.resources.requests.storage).toBe('500Gi');
    expect(find(sized, 'models/inference-big.yaml', 'Deployment').spec.template.spec.runtimeClassName).toBe('nvidia');
    expect(find(sized, 'models/inference-cpu.yaml', 'Deployment').spec.template.spec.runtimeClassName).toBeUndefined();
  });

  it('routes the gateway to the model Services, keys by environment only', () => {
    const r = render();
    const litellm = parseYaml(r.files.find((f) => f.path === 'files/litellm/config.yaml')!.text);
    expect(litellm.model_list.map((e: any) => [e.model_name, e.litellm_params.api_base, e.litellm_params.api_key, e.model_info.inferstack_stack])).toEqual([
      ['Qwen/Qwen3-0.6B', 'http://inference-org--small:8000/v1', undefined, 'prod'],
      ['Qwen/Qwen3-32B', 'http://inference-big:8000/v1', 'os.environ/INFERSTACK_VLLM_KEY_BIG', 'prod'],
      ['demo/tiny', 'http://inference-cpu:8000/v1', undefined, 'prod'],
      ['meta-llama/Llama-3.1-70B-Instruct', 'http://inference-every:8000/v1', undefined, 'prod'],
    ]);
    expect(litellm.general_settings.master_key).toBe('os.environ/LITELLM_MASTER_KEY');
    const gateway = find(r, 'gateway.yaml', 'Deployment').spec.template.spec;
    expect(gateway.containers[0].env).toEqual(
      expect.arrayContaining([{ name: 'INFERSTACK_VLLM_KEY_BIG', valueFrom: { secretKeyRef: { name: 'inferstack-secrets', key: 'QWEN_API_KEY' } } }]),
    );
    expect(gateway.containers[0].readinessProbe.httpGet).toEqual({ path: '/health/readiness', port: 'http' });
    expect(gateway.volumes).toEqual([{ name: 'config', configMap: { name: 'litellm-config' } }]);
    expect(gateway.containers[0].volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/litellm', readOnly: true }]);
  });

  it('keeps what the user wrote in the gateway config, and refuses one that holds a secret', () => {
    const own = STARTER_CONFIG.replace('routing_strategy: least-busy', 'routing_strategy: least-busy\n  num_retries: 2');
    const litellm = parseYaml(render(config(), {}, own).files.find((f) => f.path === 'files/litellm/config.yaml')!.text);
    expect(litellm.router_settings).toEqual({ routing_strategy: 'least-busy', num_retries: 2 });
    const leaking = STARTER_CONFIG.replace('os.environ/LITELLM_MASTER_KEY', SETTINGS.LITELLM_MASTER_KEY);
    expect(() => render(config(), {}, leaking)).toThrow(StackInputError);
    expect(() => render(config(), {}, leaking)).toThrow(/holds a secret value/);
  });

  it('lets Prometheus discover the namespace\'s model Services and scrape the gateway with the key from the Secret', () => {
    const r = render();
    const prom = parseYaml(r.files.find((f) => f.path === 'files/prometheus/prometheus.yml')!.text);
    const vllm = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'vllm');
    expect(vllm.kubernetes_sd_configs).toEqual([{ role: 'endpointslice', namespaces: { names: ['prod'] } }]);
    expect(vllm.relabel_configs[0]).toMatchObject({ regex: 'model;prod;http', action: 'keep' });
    expect(prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'litellm')).toMatchObject({
      static_configs: [{ targets: ['litellm:4000'] }],
      authorization: { credentials_file: '/etc/prometheus/inferstack/litellm-key' },
    });
    const kinds = objects(r, 'prometheus.yaml').map((o) => o.kind);
    expect(kinds).toEqual(['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Service', 'PersistentVolumeClaim']);
    const pod = find(r, 'prometheus.yaml', 'Deployment').spec.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: 'prometheus', automountServiceAccountToken: true, securityContext: { fsGroup: 65534 } });
    expect(pod.volumes[0].projected.sources).toEqual([
      { configMap: { name: 'prometheus-config' } },
      { secret: { name: 'inferstack-secrets', items: [{ key: 'LITELLM_MASTER_KEY', path: 'litellm-key' }] } },
    ]);
    const datasources = r.files.find((f) => f.path === 'files/grafana/datasources.yaml')!.text;
    expect(datasources).toContain('url: http://prometheus:9090');
  });

  it('writes ServiceMonitors only when asked, with the job names the dashboards use', () => {
    expect(render().files.some((f) => f.path === 'servicemonitors.yaml')).toBe(false);
    const r = render(config(), { serviceMonitors: true });
    const monitors = objects(r, 'servicemonitors.yaml') as any[];
    expect(monitors.map((m) => [m.metadata.name, m.spec.jobLabel, m.spec.endpoints[0].path])).toEqual([
      ['vllm', 'app.kubernetes.io/name', '/metrics'],
      ['litellm', 'app.kubernetes.io/name', '/metrics/'],
    ]);
    expect(parseYaml(r.files.find((f) => f.path === 'kustomization.yaml')!.text).resources).toContain('servicemonitors.yaml');
    // kube-prometheus-stack's Prometheus selects ServiceMonitors by its release label.
    const labelled = objects(render(config(), { serviceMonitorLabels: { release: 'kps' } }), 'servicemonitors.yaml');
    expect(labelled.map((m) => m.metadata.labels)).toEqual([
      { 'app.kubernetes.io/part-of': 'prod', 'app.kubernetes.io/managed-by': 'inferstack', release: 'kps' },
      { 'app.kubernetes.io/part-of': 'prod', 'app.kubernetes.io/managed-by': 'inferstack', release: 'kps' },
    ]);
    expect(() => render(config(), { serviceMonitorLabels: { 'bad key!': 'x' } })).toThrow(/service monitor label/);
  });

  it('writes no secret value anywhere; with withSecrets, only secret.yaml (0600) holds them', () => {
    const r = render();
    for (const f of r.files) for (const v of Object.values(SETTINGS)) expect(f.text, f.path).not.toContain(v);
    const withSecrets = render(config(), { withSecrets: true });
    const file = withSecrets.files.find((f) => f.path === 'secret.yaml')!;
    expect(file.mode).toBe(0o600);
    expect(parseYaml(file.text.split('\n').filter((l) => !l.startsWith('#')).join('\n')).stringData).toEqual({
      GRAFANA_ADMIN_PASSWORD: SETTINGS.GRAFANA_ADMIN_PASSWORD,
      HF_TOKEN: SETTINGS.HF_TOKEN,
      LITELLM_MASTER_KEY: SETTINGS.LITELLM_MASTER_KEY,
      QWEN_API_KEY: SETTINGS.QWEN_API_KEY,
    });
    expect(parseYaml(withSecrets.files.find((f) => f.path === 'kustomization.yaml')!.text).resources).toContain('secret.yaml');
    for (const f of withSecrets.files.filter((x) => x.path !== 'secret.yaml')) expect(f.mode).toBe(0o644);
  });

  it('is deterministic, and one changed model changes its file (and the gateway config only when routing changes)', () => {
    const before = render();
    expect(render().files).toEqual(before.files);
    const diff = (a: RenderedKubernetes, b: RenderedKubernetes) => b.files.filter((f) => a.files.find((x) => x.path === f.path)?.text !== f.text).map((f) => f.path);
    // A new line above the others shifts their source lines, which no file mentions.
    expect(diff(before, render(config(MODELS.replace('max-model-len: 4096', 'max-model-len: 8192\n      enforce-eager: true'))))).toEqual(['models/inference-org--small.yaml']);
    expect(diff(before, render(config(MODELS.replace('max-model-len: 4096', 'max-model-len: 4096\n      served-model-name: small'))))).toEqual([
      'files/litellm/config.yaml',
      'models/inference-org--small.yaml',
    ]);
  });

  it('notes what works differently: GPUs shared on Docker, a cpuset, host directories', () => {
    const shared = `models:
  - a: {model: x/a, gpus: [0], gpu-memory-utilization: 0.4}
  - b: {model: x/b, gpus: [0], gpu-memory-utilization: 0.4}
`;
    const r = render(config(shared));
    expect(r.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^a and b share GPU 0 on Docker/)]));
    const idle = render(config('models:\n  - two: {model: x/two, gpus: [0, 1]}\n'));
    expect(idle.notes).toEqual(expect.arrayContaining(['two: gets 2 GPUs, as on Docker, but vLLM uses 1 (tensor × pipeline × data parallel size): set tensor-parallel-size to 2, or list 1']));
    expect(render().notes.filter((n) => n.includes('but vLLM uses'))).toEqual([]);
    expect(render().notes).toEqual(
      expect.arrayContaining([expect.stringContaining('cpuset-cpus 0-7 becomes a request of 8 CPUs'), expect.stringContaining('/srv/data becomes a hostPath volume')]),
    );
  });

  it('runs as many pods as replicas says, one replaced at a time; a model that scales gets a HorizontalPodAutoscaler on vLLM\'s queue', () => {
    const r = render(
      config(`name: prod
models:
  - fixed: {model: x/fixed, gpus: [0], gpu-memory-utilization: 0.3, replicas: 3}
  - scaling: {model: x/scaling, gpus: auto, tensor-parallel-size: 2, replicas: {min: 2, max: 5, down-after: 90s}}
  - zero: {model: x/zero, gpus: none, idle: {after: 10m}, replicas: {min: 0, max: 2}}
  - one: {model: x/one, gpus: none}
`),
    );
    const kinds = (name: string) => objects(r, `models/${name}.yaml`).map((o) => o.kind);
    const deployment = (name: string) => find(r, `models/${name}.yaml`, 'Deployment');
    const oneAtATime = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };

    expect(kinds('inference-fixed')).toEqual(['Deployment', 'Service', 'PersistentVolumeClaim']);
    expect(deployment('inference-fixed').spec).toMatchObject({ replicas: 3, strategy: oneAtATime });
    expect(deployment('inference-fixed').spec.template.spec.containers[0].resources).toEqual({ limits: { 'nvidia.com/gpu': '1' } });

    expect(kinds('inference-scaling')).toEqual(['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PersistentVolumeClaim']);
    expect(deployment('inference-scaling').spec).toMatchObject({ replicas: 2, strategy: oneAtATime });
    const hpa = find(r, 'models/inference-scaling.yaml', 'HorizontalPodAutoscaler');
    expect(hpa).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'inference-scaling', namespace: 'prod', labels: deployment('inference-scaling').metadata.labels, annotations: deployment('inference-scaling').metadata.annotations },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'inference-scaling' },
        minReplicas: 2,
        maxReplicas: 5,
        metrics: [{ type: 'Pods', pods: { metric: { name: 'vllm_num_requests_waiting' }, target: { type: 'AverageValue', averageValue: '1' } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 90 } },
      },
    });
    // The file says what the cluster needs for it: an adapter, and its rule.
    const text = r.files.find((f) => f.path === 'models/inference-scaling.yaml')!.text;
    expect(text.split('\n').slice(0, 3)).toEqual([
      '# Model scaling: x/scaling',
      "# It scales between 2 and 5 pods on vLLM's queue (the HorizontalPodAutoscaler below), which needs a",
      '# custom metrics adapter serving vllm:num_requests_waiting per pod as vllm_num_requests_waiting, e.g.',
    ]);
    expect(text).toContain(`#     name: {matches: "^vllm:num_requests_waiting$", as: "vllm_num_requests_waiting"}`);

    // min 0: a plain HPA keeps one pod; down-after defaults to serve's 5 minutes.
    expect(deployment('inference-zero').spec.replicas).toBe(1);
    expect(find(r, 'models/inference-zero.yaml', 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 1, maxReplicas: 2, behavior: { scaleDown: { stabilizationWindowSeconds: 300 } } });

    // One replica: as before, no autoscaler, Recreate.
    expect(kinds('inference-one')).toEqual(['Deployment', 'Service', 'PersistentVolumeClaim']);
    expect(deployment('inference-one').spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    expect(r.files.find((f) => f.path === 'models/inference-one.yaml')!.text.split('\n')[0]).toBe('# Model one: x/one');

    expect(r.notes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^scaling, zero scale with a HorizontalPodAutoscaler on the pods metric vllm_num_requests_waiting: the cluster needs a custom metrics adapter/),
        'zero: replicas min 0 becomes minReplicas 1: a HorizontalPodAutoscaler keeps one pod at least (putting the last one away, as its idle policy does on Docker, needs something like KEDA)',
        expect.stringMatching(/^fixed: its pods share the cache claim inference-fixed-hf-cache \(ReadWriteOnce\)/),
      ]),
    );
    expect(r.notes.filter((n) => n.startsWith('one:'))).toEqual([]);
    // What the adapter maps the queue to pods by: the series of each pod carry its namespace and name.
    const prom = parseYaml(r.files.find((f) => f.path === 'files/prometheus/prometheus.yml')!.text);
    const relabel = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'vllm').relabel_configs;
    expect(relabel).toEqual(
      expect.arrayContaining([
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'replica' },
      ]),
    );
  });

  it('replicas: 1 exports as before; a changed count changes only the model\'s file; a down-after above an hour is an hour', () => {
    const before = render();
    const one = render(config(MODELS.replace('model: demo/tiny', 'model: demo/tiny\n      replicas: 1')));
    expect(one.files).toEqual(before.files);
    expect(one.notes).toEqual(before.notes);
    const three = render(config(MODELS.replace('model: demo/tiny', 'model: demo/tiny\n      replicas: 3')));
    expect(three.files.filter((f) => before.files.find((x) => x.path === f.path)?.text !== f.text).map((f) => f.path)).toEqual(['models/inference-cpu.yaml']);
    // The plan of an earlier export names the autoscaler a model that now scales gains, and loses.
    const scaling = render(config(MODELS.replace('model: demo/tiny', 'model: demo/tiny\n      replicas: {min: 1, max: 3}')));
    const changed = (from: RenderedKubernetes, to: RenderedKubernetes) =>
      diffKubernetesFiles(new Map(from.files.map((f) => [f.path, f.text])), to.files).filter((c) => c.action !== 'keep');
    expect(changed(before, scaling)).toEqual([
      {
        path: 'models/inference-cpu.yaml',
        action: 'change',
        objects: [
          { kind: 'Deployment', name: 'inference-cpu', action: 'change' },
          { kind: 'HorizontalPodAutoscaler', name: 'inference-cpu', action: 'add' },
        ],
      },
    ]);
    expect(changed(scaling, before)[0]!.objects).toEqual([
      { kind: 'Deployment', name: 'inference-cpu', action: 'change' },
      { kind: 'HorizontalPodAutoscaler', name: 'inference-cpu', action: 'remove' },
    ]);

    const long = render(config('models:\n  - a: {model: x/a, gpus: none, replicas: {min: 1, max: 2, down-after: 2h}}\n'));
    expect(find(long, 'models/inference-a.yaml', 'HorizontalPodAutoscaler').spec.behavior).toEqual({ scaleDown: { stabilizationWindowSeconds: 3600 } });
    expect(long.notes).toEqual(expect.arrayContaining(['a: down-after 7200s is longer than a HorizontalPodAutoscaler waits (at most 3600s): it takes a pod away after an hour without a queue']));
  });

  it('makes names Kubernetes accepts, and takes the namespace as given', () => {
    const r = render(config('name: my_stack\nmodels:\n  - Qwen_3.5: {model: q/q, gpus: none}\n'));
    expect(r.namespace).toMatch(/^my-stack-[0-9a-f]{6}$/);
    const file = r.files.find((f) => f.path.startsWith('models/'))!;
    expect(file.path).toMatch(/^models\/inference-qwen-3-5-[0-9a-f]{6}\.yaml$/);
    // The gateway calls the Service by that name.
    const name = file.path.slice('models/'.length, -'.yaml'.length);
    expect(r.files.find((f) => f.path === 'files/litellm/config.yaml')!.text).toContain(`api_base: http://${name}:8000/v1`);
    expect(find(r, file.path, 'Deployment').metadata.labels['app.kubernetes.io/part-of']).toBe('my_stack');
    expect(render(config(), { namespace: 'inference' }).namespace).toBe('inference');
  });

  it('refuses bad options, naming each', () => {
    expect(() => render(config(), { namespace: 'Bad_NS', hfCacheSize: 'lots', hfCachePath: 'relative' })).toThrow(StackInputError);
    expect(() => render(config(), { namespace: 'Bad_NS', hfCacheSize: 'lots', hfCachePath: 'relative' })).toThrow(/namespace "Bad_NS".*hf-cache-size "lots".*hf-cache-path "relative"/);
    expect(() => render(config(), { storageClass: 'not a name' })).toThrow(/storage-class/);
  });

  it('leaves the gateway, Prometheus and Grafana out when the config does not run them', () => {
    const c = config(`gateway: {mode: none}\nmonitoring: {mode: none}\nmodels:\n  - a: {model: x/a, gpus: none}\n`);
    const r = renderKubernetes({ config: c, services: [], otherServices: ['watcher'], hashKey: 'k', gatewayConfig: STARTER_CONFIG });
    expect(r.files.map((f) => f.path)).toEqual(['kustomization.yaml', 'models/inference-a.yaml', 'namespace.yaml']);
    // A service without a Kubernetes form, given by its kind only (the export builds no spec for it).
    expect(r.notes).toEqual([expect.stringMatching(/^the watcher is not exported: on Kubernetes every model runs/)]);
  });
});

describe('vllmWorldSize', () => {
  it('multiplies tensor, pipeline and data parallel sizes, in any spelling', () => {
    expect(vllmWorldSize({ vllmArgs: [] })).toBe(1);
    expect(vllmWorldSize({ vllmArgs: [], tensorParallelSize: 2 })).toBe(2);
    expect(vllmWorldSize({ vllmArgs: ['-tp', '4', '--pipeline_parallel_size', '2'] })).toBe(8);
    expect(vllmWorldSize({ vllmArgs: ['--tensor-parallel-size=2', '--data-parallel-size', '3'] })).toBe(6);
    expect(vllmWorldSize({ vllmArgs: ['--tensor-parallel-size', 'x'] })).toBe(1);
  });
});
