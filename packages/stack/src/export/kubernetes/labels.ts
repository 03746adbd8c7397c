import type { KubeObject, KubeObjectRef } from './objects.js';
import type { RenderContext } from './types.js';

/* The labels every object of the export carries, and the references to the one Secret. */

export function ref(o: KubeObject): KubeObjectRef {
  return { kind: o.kind, name: o.metadata.name };
}

export function commonLabels(c: RenderContext): Record<string, string> {
  return { 'app.kubernetes.io/part-of': c.partOf, 'app.kubernetes.io/managed-by': 'inferstack' };
}

export function appLabels(c: RenderContext, app: string, instance: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': instance, 'app.kubernetes.io/component': component, ...commonLabels(c) };
}

/** What a Deployment selects its pods by (immutable: name and instance only). */
export function selector(labels: Record<string, string>): Record<string, string> {
  return { 'app.kubernetes.io/name': labels['app.kubernetes.io/name']!, 'app.kubernetes.io/instance': labels['app.kubernetes.io/instance']! };
}

/** A reference to a secret value (its key in the Secret), remembering the value for --with-secrets. */
export function reference(c: RenderContext, envName: string, value: string, usedBy: string, fallback?: string): string {
  const key = c.refs.reference(envName, value, usedBy, fallback);
  c.values.set(key, value);
  return key;
}
