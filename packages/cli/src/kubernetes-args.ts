import type { HfCacheMode, KubernetesExportOptions } from '@inferstack/stack';
import { CliError } from './errors.js';

/** Where `serve export kubernetes` writes when no directory is given. */
export const DEFAULT_KUBERNETES_DIR = 'k8s';

/** The flags of the Kubernetes export, shared by `serve export kubernetes` and `serve plan --target kubernetes`. */
export const kubernetesArgs = {
  out: { type: 'string', description: `Directory of the Kubernetes files (default ${DEFAULT_KUBERNETES_DIR})`, valueHint: 'DIR' },
  namespace: { type: 'string', description: "Kubernetes namespace (default: the stack's name)", valueHint: 'NAME' },
  'hf-cache': { type: 'string', description: 'The Hugging Face cache: pvc (a claim per model, default) or host-path (a directory of the node)', valueHint: 'pvc|host-path' },
  'hf-cache-size': { type: 'string', description: 'Size of each model cache claim (default 100Gi)', valueHint: 'SIZE' },
  'hf-cache-path': { type: 'string', description: "The node's cache directory with --hf-cache host-path (default /var/lib/inferstack/huggingface)", valueHint: 'PATH' },
  'storage-class': { type: 'string', description: "Storage class of the claims (default: the cluster's)", valueHint: 'NAME' },
  'runtime-class': { type: 'string', description: 'runtimeClassName of the GPU pods, e.g. nvidia', valueHint: 'NAME' },
  'service-monitors': { type: 'boolean', description: 'Also ServiceMonitors for the Prometheus Operator' },
  'service-monitor-labels': { type: 'string', description: 'Labels of the ServiceMonitors, e.g. release=kps for kube-prometheus-stack (implies --service-monitors)', valueHint: 'K=V[,K=V]' },
  'with-secrets': { type: 'boolean', description: 'Also write secret.yaml with the values from .env (mode 0600; keep it private)' },
} as const;

/** The Kubernetes flags given on the command line (to refuse them where they mean nothing). */
export function givenKubernetesFlags(args: Record<string, unknown>): string[] {
  return Object.keys(kubernetesArgs).filter((k) => args[k] !== undefined && args[k] !== false);
}

const HF_CACHE_MODES: readonly HfCacheMode[] = ['pvc', 'host-path'];

/** The stack's export options from the parsed flags (their values are checked by the stack). */
export function kubernetesOptions(args: Record<string, unknown>): KubernetesExportOptions {
  const text = (name: string) => (typeof args[name] === 'string' ? (args[name] as string) : undefined);
  const hfCache = text('hf-cache');
  if (hfCache !== undefined && !HF_CACHE_MODES.includes(hfCache as HfCacheMode)) {
    throw new CliError(`--hf-cache takes ${HF_CACHE_MODES.join(' or ')}, not "${hfCache}"`);
  }
  const labels = text('service-monitor-labels');
  const serviceMonitorLabels: Record<string, string> = {};
  for (const pair of labels?.split(',') ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new CliError(`--service-monitor-labels takes KEY=VALUE pairs separated by commas, not "${pair}"`);
    serviceMonitorLabels[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  const options: KubernetesExportOptions = {
    ...(text('namespace') !== undefined ? { namespace: text('namespace') } : {}),
    ...(hfCache !== undefined ? { hfCache: hfCache as HfCacheMode } : {}),
    ...(text('hf-cache-size') !== undefined ? { hfCacheSize: text('hf-cache-size') } : {}),
    ...(text('hf-cache-path') !== undefined ? { hfCachePath: text('hf-cache-path') } : {}),
    ...(text('storage-class') !== undefined ? { storageClass: text('storage-class') } : {}),
    ...(text('runtime-class') !== undefined ? { runtimeClass: text('runtime-class') } : {}),
    ...(args['service-monitors'] || labels !== undefined ? { serviceMonitors: true } : {}),
    ...(labels !== undefined ? { serviceMonitorLabels } : {}),
    ...(args['with-secrets'] ? { withSecrets: true } : {}),
  };
  return options;
}
