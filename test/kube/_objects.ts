// Objects like those `serve export kubernetes` will write, shared by the offline validation and the
// API server tests: each good one must pass both, each bad one must fail both.
import type { KubeObject } from '../support/kube.js';

export const NAMESPACE = 'inferstack-test';

/** A vLLM model server: one GPU, a model cache volume, the API key from a Secret. */
export function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'vllm-qwen', namespace: NAMESPACE, labels: { 'app.kubernetes.io/name': 'vllm', 'app.kubernetes.io/instance': 'qwen' } },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { 'app.kubernetes.io/instance': 'qwen' } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'vllm', 'app.kubernetes.io/instance': 'qwen' } },
        spec: {
          containers: [
            {
              name: 'vllm',
              image: 'vllm/vllm-openai:v0.11.0',
              args: ['--model', 'Qwen/Qwen3-0.6B', '--port', '8000', '--gpu-memory-utilization', '0.9'],
              ports: [{ name: 'http', containerPort: 8000 }],
              env: [{ name: 'VLLM_API_KEY', valueFrom: { secretKeyRef: { name: 'inferstack-keys', key: 'VLLM_API_KEY' } } }],
              resources: { limits: { 'nvidia.com/gpu': 1, memory: '24Gi' }, requests: { cpu: '2', memory: '16Gi' } },
              readinessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 5, failureThreshold: 120 },
              volumeMounts: [{ name: 'hf-cache', mountPath: '/root/.cache/huggingface' }, { name: 'shm', mountPath: '/dev/shm' }],
            },
          ],
          volumes: [
            { name: 'hf-cache', persistentVolumeClaim: { claimName: 'hf-cache' } },
            { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '8Gi' } },
          ],
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        },
      },
    },
  };
}

export function service(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'vllm-qwen', namespace: NAMESPACE, labels: { 'app.kubernetes.io/instance': 'qwen' } },
    spec: { selector: { 'app.kubernetes.io/instance': 'qwen' }, ports: [{ name: 'http', port: 8000, targetPort: 'http' }] },
  };
}

export function configMap(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'litellm-config', namespace: NAMESPACE },
    data: { 'config.yaml': 'model_list:\n  - model_name: qwen\n    litellm_params:\n      model: hosted_vllm/Qwen/Qwen3-0.6B\n' },
  };
}

export function secret(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'inferstack-keys', namespace: NAMESPACE },
    type: 'Opaque',
    stringData: { VLLM_API_KEY: 'not-a-real-key' },
  };
}

export function persistentVolumeClaim(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'hf-cache', namespace: NAMESPACE },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } } },
  };
}

export function namespace(): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'inferstack' } } };
}

export function serviceMonitor(): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'vllm', namespace: NAMESPACE, labels: { release: 'prometheus' } },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'vllm' } },
      namespaceSelector: { matchNames: [NAMESPACE] },
      endpoints: [{ port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s', authorization: { credentials: { name: 'inferstack-keys', key: 'VLLM_API_KEY' } } }],
    },
  };
}

/** The autoscaler of a model that scales: on vLLM's queue per pod, as a custom metrics adapter serves it. */
export function horizontalPodAutoscaler(): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'vllm-qwen', namespace: NAMESPACE, labels: { 'app.kubernetes.io/instance': 'qwen' } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'vllm-qwen' },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [{ type: 'Pods', pods: { metric: { name: 'vllm_num_requests_waiting' }, target: { type: 'AverageValue', averageValue: '1' } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

export const GOOD: Record<string, () => KubeObject> = { namespace, deployment, service, configMap, secret, persistentVolumeClaim, serviceMonitor, horizontalPodAutoscaler };

/** Apply `edit` to a fresh copy of `make()`. */
export function edited(make: () => KubeObject, edit: (o: any) => void): KubeObject {
  const o = make();
  edit(o);
  return o;
}

/**
 * Objects both the offline validator and the API server must reject: `path` is where the offline
 * validator reports the fault, `server` how the API server's message names it (server-side apply
 * names list items by their keys, e.g. `containers[name="vllm"]`).
 */
export const BAD: { name: string; object: () => KubeObject; path: string; server: string }[] = [
  {
    name: 'a misspelt container field',
    object: () => edited(deployment, (o) => (o.spec.template.spec.containers[0].imagee = 'x')),
    path: 'spec.template.spec.containers[0].imagee',
    server: '.spec.template.spec.containers[name="vllm"].imagee: field not declared in schema',
  },
  { name: 'an unknown field in spec', object: () => edited(deployment, (o) => (o.spec.replica = 2)), path: 'spec.replica', server: '.spec.replica: field not declared in schema' },
  {
    name: 'a container without a name',
    object: () => edited(deployment, (o) => delete o.spec.template.spec.containers[0].name),
    path: 'spec.template.spec.containers[0]',
    server: 'spec.template.spec.containers[0].name: Required value',
  },
  { name: 'replicas as a string', object: () => edited(deployment, (o) => (o.spec.replicas = 'two')), path: 'spec.replicas', server: '.spec.replicas: expected numeric' },
  { name: 'a port as a string', object: () => edited(service, (o) => (o.spec.ports[0].port = '8000')), path: 'spec.ports[0].port', server: '.spec.ports[port="8000",protocol="TCP"].port: expected numeric' },
  { name: 'a number in ConfigMap data', object: () => edited(configMap, (o) => (o.data.replicas = 3)), path: 'data.replicas', server: '.data.replicas: expected string' },
  { name: 'an unknown metadata field', object: () => edited(configMap, (o) => (o.metadata.label = { a: 'b' })), path: 'metadata.label', server: '.metadata.label: field not declared in schema' },
  {
    name: 'an HPA target without its type',
    object: () => edited(horizontalPodAutoscaler, (o) => delete o.spec.metrics[0].pods.target.type),
    path: 'spec.metrics[0].pods.target',
    server: 'spec.metrics[0].pods.target.type: Required value',
  },
  { name: 'an unknown PVC field', object: () => edited(persistentVolumeClaim, (o) => (o.spec.storageClass = 'fast')), path: 'spec.storageClass', server: '.spec.storageClass: field not declared in schema' },
  {
    name: 'a misspelt ServiceMonitor endpoint field',
    object: () => edited(serviceMonitor, (o) => (o.spec.endpoints[0].scrapeInterval = '15s')),
    path: 'spec.endpoints[0].scrapeInterval',
    server: '.spec.endpoints[0].scrapeInterval: field not declared in schema',
  },
  { name: 'a ServiceMonitor interval that is no duration', object: () => edited(serviceMonitor, (o) => (o.spec.endpoints[0].interval = '15 seconds')), path: 'spec.endpoints[0].interval', server: 'spec.endpoints[0].interval: Invalid value: "15 seconds"' },
];
