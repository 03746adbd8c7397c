import type { StackConfig } from '@inferstack/config';
import { StackInputError } from '../../errors.js';
import { secretValues } from '../../secrets.js';
import type { KubernetesOptions } from './types.js';

/* What the export refuses: bad options, a secret value that would land in a file. */

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const STORAGE_SIZE = /^[1-9][0-9]*(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Bad options are bad input, each named; nothing is rendered. */
export function checkOptions(o: KubernetesOptions): void {
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
export function holdsSecret(config: StackConfig, text: string): boolean {
  return secretValues(config).some((v) => v.length >= 6 && text.includes(v));
}
