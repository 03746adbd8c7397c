import { serviceContainerOptions, serviceSpecHash, type ServiceSpec } from '@inferstack/docker-ops';
import { parseDocument } from 'yaml';
import { appLabels, reference } from './labels.js';
import { envFromCreate, kubernetesName, literal, type EnvVar, type KubeObject } from './objects.js';
import { SECRET_NAME, type RenderContext } from './types.js';
import { claim, containerPorts, probes, pullPolicy, splitBind, workloadObjects } from './workload.js';

/*
 * The stack's services on Kubernetes (the gateway, Prometheus, Grafana): each a Deployment of
 * the create body `serve up` sends (serviceContainerOptions), with the files `up` writes on the
 * host as ConfigMaps. The services that have a cluster-wide form of their own are left out.
 */

/** Where the services' probes ask, and the user their pods run as (the images' own). */
export const SERVICE_KINDS: Record<string, { app: string; probe: string; fsGroup?: number }> = {
  // LiteLLM's readiness route needs no key (docs/upstream/litellm.md).
  gateway: { app: 'litellm', probe: '/health/readiness' },
  // prom/prometheus runs as nobody; the group lets it read the key file and write its data.
  prometheus: { app: 'prometheus', probe: '/-/ready', fsGroup: 65534 },
  // grafana/grafana runs as 472.
  grafana: { app: 'grafana', probe: '/api/health', fsGroup: 472 },
};

/** Whether a LiteLLM config names `callback` in `litellm_settings.callbacks`. */
export function names(configText: string, callback: string): boolean {
  const callbacks = (parseDocument(configText).toJS() as { litellm_settings?: { callbacks?: unknown } } | null)?.litellm_settings?.callbacks;
  return (Array.isArray(callbacks) ? callbacks : [callbacks]).some((c) => c === callback);
}

/** The `--config` path of the gateway's command. */
export function configFlag(spec: ServiceSpec): string | undefined {
  const i = spec.cmd?.indexOf('--config') ?? -1;
  return i >= 0 ? spec.cmd?.[i + 1] : undefined;
}

/** The Secret key of the gateway's master key, if it has one. */
export function gatewaySecretKey(c: RenderContext, gateway: ServiceSpec): string | undefined {
  const value = gateway.secretEnv?.LITELLM_MASTER_KEY;
  return value ? reference(c, 'LITELLM_MASTER_KEY', value, kubernetesName(gateway.name)) : undefined;
}

/**
 * A service's Deployment and Service, from its create body. `mount` maps each bind's container
 * path to a volume source (a ConfigMap for the files `up` writes on the host), or `skip`; named
 * Docker volumes become claims.
 */
export function serviceObjects(
  c: RenderContext,
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
  objects.unshift(
    ...workloadObjects(c, {
      name,
      labels,
      pod: {
        ...pod,
        ...(pod.serviceAccountName ? { automountServiceAccountToken: true } : {}),
        ...(kind.fsGroup !== undefined ? { securityContext: { fsGroup: kind.fsGroup } } : {}),
      },
      container,
      volumes,
      ...(port ? { port } : {}),
    }),
  );
  return objects;
}

export function skippedServiceNote(kind: string): string {
  if (kind === 'dcgm-exporter') return 'the DCGM exporter is not exported: on Kubernetes the NVIDIA GPU Operator runs it on every GPU node';
  if (kind === 'node-exporter') return "node-exporter is not exported: on Kubernetes it runs once per node, as the cluster's monitoring installs it (e.g. kube-prometheus-stack)";
  if (kind === 'gateway-db') return "the gateway's database is not exported (the gateway runs in config-file mode)";
  if (kind === 'watcher') return 'the watcher is not exported: on Kubernetes every model runs (no idle policy or swap group puts one away), and a model that scales has a HorizontalPodAutoscaler';
  return `the service ${kind} has no Kubernetes form and is not exported`;
}
