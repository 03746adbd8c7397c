import type { ModelSpec } from '@inferstack/config';
import type { ContainerBody } from '@inferstack/docker-ops';
import { selector } from './labels.js';
import type { KubeObject } from './objects.js';
import type { RenderContext } from './types.js';

/*
 * The one Deployment builder: a model's and a service's pods differ in their container, volumes
 * and pod fields, never in how the Deployment and its Service are put together. And what the
 * containers of both are built from: probes, ports, claims and binds of a Docker create body.
 */

const STARTUP_PERIOD_SECONDS = 10;
export const SECOND_NS = 1_000_000_000;

/** One Deployment (and its Service when the container serves HTTP). */
export interface Workload {
  name: string;
  labels: Record<string, string>;
  /** On the Deployment, its pods and its Service. */
  annotations?: Record<string, string>;
  /** Fields of the pod spec beyond what every pod sets, its container and its volumes. */
  pod?: Record<string, unknown>;
  container: Record<string, unknown>;
  volumes: readonly unknown[];
  /** The container's HTTP port (named `http`): the Service exposes it. No port, no Service. */
  port?: number;
  /** How many pods run (`spec.replicas`). @default 1 */
  replicas?: number;
  /**
   * Whether it may run several pods (a model with `replicas:` above 1, fixed or autoscaled): its
   * pods are then replaced one at a time, not all at once.
   */
  several?: boolean;
}

/** A workload's Deployment, then its Service. */
export function workloadObjects(c: RenderContext, w: Workload): KubeObject[] {
  const metadata = () => ({ name: w.name, namespace: c.namespace, labels: w.labels, ...(w.annotations ? { annotations: w.annotations } : {}) });
  const objects: KubeObject[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(),
      spec: {
        replicas: w.replicas ?? 1,
        // One pod at a time: the old one frees its GPUs and its ReadWriteOnce claims before the
        // new one can start. With several pods, one is replaced at a time (none added first, so
        // the GPUs it frees are the new one's), the others serving meanwhile, as serve replaces
        // replicas on Docker.
        strategy: w.several ? { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } : { type: 'Recreate' },
        selector: { matchLabels: selector(w.labels) },
        template: {
          metadata: { labels: w.labels, ...(w.annotations ? { annotations: w.annotations } : {}) },
          spec: { ...podBasics(), ...w.pod, containers: [w.container], ...(w.volumes.length > 0 ? { volumes: w.volumes } : {}) },
        },
      },
    },
  ];
  if (w.port) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(),
      spec: { selector: selector(w.labels), ports: [{ name: 'http', port: w.port, targetPort: 'http', protocol: 'TCP' }] },
    });
  }
  return objects;
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

/** The probes of a container with vLLM's or a service's HTTP health route. */
export function probes(path: string, port: string, startupSeconds: number, readiness: { period: number; timeout: number; failures: number }) {
  return {
    // Until the first success: as long as loading may take (weights download, CUDA graphs).
    startupProbe: { httpGet: { path, port }, periodSeconds: STARTUP_PERIOD_SECONDS, timeoutSeconds: readiness.timeout, failureThreshold: Math.max(1, Math.ceil(startupSeconds / STARTUP_PERIOD_SECONDS)) },
    readinessProbe: { httpGet: { path, port }, periodSeconds: readiness.period, timeoutSeconds: readiness.timeout, failureThreshold: readiness.failures },
  };
}

/** The path of a health check that runs curl against localhost (vLLM's), if it is one. */
export function healthPath(create: ContainerBody): string | undefined {
  for (const word of create.Healthcheck?.Test ?? []) {
    const m = /^https?:\/\/(?:localhost|127\.0\.0\.1)(?::\d+)?(\/\S*)$/.exec(word);
    if (m) return m[1];
  }
  return undefined;
}

export function containerPorts(create: ContainerBody): number[] {
  return Object.keys(create.ExposedPorts ?? {})
    .map((p) => Number.parseInt(p, 10))
    .sort((a, b) => a - b);
}

export function pullPolicy(policy: ModelSpec['pullPolicy'] | undefined): string {
  return policy === 'always' ? 'Always' : policy === 'never' ? 'Never' : 'IfNotPresent';
}

/** `linux/arm64` as the node labels that select such nodes. */
export function platformSelector(platform: string | undefined): Record<string, string> | undefined {
  if (!platform) return undefined;
  const [os, arch] = platform.split('/');
  return { ...(os ? { 'kubernetes.io/os': os } : {}), ...(arch ? { 'kubernetes.io/arch': arch } : {}) };
}

export function claim(c: RenderContext, name: string, size: string, labels: Record<string, string>): KubeObject {
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

export function splitBind(bind: string): { source: string; target: string; readOnly: boolean } {
  const parts = bind.split(':');
  return { source: parts[0] ?? '', target: parts[1] ?? '', readOnly: parts[2] === 'ro' };
}
