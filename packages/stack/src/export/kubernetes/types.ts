import type { StackConfig } from '@inferstack/config';
import type { ServiceSpec } from '@inferstack/docker-ops';
import type { SecretRefs, SecretReference } from '../compose/render.js';
import type { KubeObjectRef } from './objects.js';

/*
 * The Kubernetes export's input, options and result, and the context its parts share while
 * rendering (what each part adds to: notes, secret references).
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
  /**
   * The kinds of configured services left out without a spec, because they have no Kubernetes
   * form (`watcher`): each is named in a note, as a service of `services` without one is.
   */
  otherServices?: readonly string[];
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

/** What the parts of one export share: the stack, the names it decided, the secrets it referenced, the notes. */
export interface RenderContext {
  config: StackConfig;
  namespace: string;
  partOf: string;
  refs: SecretRefs;
  values: Map<string, string>;
  notes: string[];
  options: KubernetesOptions;
}
