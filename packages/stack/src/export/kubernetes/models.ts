import { HF_CACHE_CONTAINER_PATH, type ModelSpec } from '@inferstack/config';
import { modelContainerOptions } from '@inferstack/docker-ops';
import { modelFallbackName } from '../compose/render.js';
import { autoscaler, podCount, scales } from './autoscaling.js';
import { gpuCount } from './gpus.js';
import { appLabels, commonLabels, reference } from './labels.js';
import { bytesQuantity, cpusetSize, envFromCreate, kubernetesName, literal, type KubeObject } from './objects.js';
import { SECRET_NAME, type RenderContext } from './types.js';
import { claim, containerPorts, healthPath, platformSelector, probes, pullPolicy, SECOND_NS, splitBind, workloadObjects } from './workload.js';

/*
 * A model on Kubernetes: a Deployment of the very container `serve up` creates on Docker
 * (modelContainerOptions), as many pods as its replicas, its Service (over all of them), its
 * HorizontalPodAutoscaler when it scales, its Hugging Face cache (a claim or a node directory).
 */

const DEFAULT_HF_CACHE_SIZE = '100Gi';
const DEFAULT_HF_CACHE_PATH = '/var/lib/inferstack/huggingface';
/** How long a model may take to load: Docker's health check start period, else an hour. */
const DEFAULT_MODEL_STARTUP_SECONDS = 3600;
/** GPU nodes are often tainted so that only pods asking for GPUs land there. */
const GPU_TOLERATION = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };

/** Each model's Service name: its container's name where that is a valid one. Throws on a clash. */
export function serviceNames(models: readonly ModelSpec[]): Map<string, string> {
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

/** A model: its Deployment, its Service, its autoscaler, its cache claim; named volumes it shares go elsewhere. */
export function modelObjects(c: RenderContext, spec: ModelSpec, name: string): { objects: KubeObject[]; sharedClaims: KubeObject[] } {
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
        if (spec.replicas.max > 1) {
          c.notes.push(`${spec.key}: its pods share the cache claim ${claimName} (ReadWriteOnce): they run on the node that mounts it; with --hf-cache host-path each node keeps a cache of its own`);
        }
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
  const pod = {
    ...(gpus > 0 && c.options.runtimeClass ? { runtimeClassName: c.options.runtimeClass } : {}),
    ...(nodeSelector ? { nodeSelector } : {}),
    ...(gpus > 0 ? { tolerations: [GPU_TOLERATION] } : {}),
  };
  const workload = workloadObjects(c, { name, labels, annotations, pod, container, volumes, port, replicas: podCount(spec), several: spec.replicas.max > 1 });
  // The autoscaler is labelled like the Deployment it scales.
  if (scales(spec)) workload.push(autoscaler(c, spec, name, { name, namespace: c.namespace, labels, annotations }));
  objects.unshift(...workload);
  return { objects, sharedClaims };
}
