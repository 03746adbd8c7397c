// Offline schema validation of Kubernetes objects, for tests of `serve export kubernetes`. No API
// server needed: use it on every object an export writes; use test/support/kube.ts (a real API
// server) for what only the server checks.
//
// Two npm packages, because neither checks everything on its own:
// - kubernetes-models (and @kubernetes-models/prometheus-operator) ship JSON-Schema validators
//   compiled from the Kubernetes OpenAPI spec (1.36) and from the Prometheus Operator CRDs: types,
//   required fields, enums, int32/int64 ranges, patterns. They do NOT reject unknown fields (their
//   schemas allow additional properties), and a misspelt field is exactly the mistake an exporter
//   makes.
// - @kubernetes/client-node (the official client, generated from the same 1.36 spec) carries, per
//   API type, the list of its fields and their types. Walking an object along those lists finds
//   every field Kubernetes does not know, like the API server does under fieldValidation=Strict.
//   For the ServiceMonitor CRD, the same walk runs over the CRD schema in kube-crds.ts.
// kubernetes-types alone was not enough: it is TypeScript declarations only, nothing at run time.
import * as clientModels from '@kubernetes/client-node/dist/gen/models/all.js';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { type CrdSchema, SERVICE_MONITOR_SCHEMA } from './kube-crds.js';

/** A kubernetes-models class: its prototype's `validate` checks `this` and throws on problems. */
interface ModelClass {
  prototype: { validate(): void };
}

interface KindSupport {
  model: ModelClass;
  /** The @kubernetes/client-node type whose field list is the kind's (built-in kinds). */
  fields?: string;
  /** The CRD schema whose properties are the kind's fields (custom resources). */
  schema?: CrdSchema;
}

/** The kinds `serve export kubernetes` writes; add a line here for another one. */
const KINDS: Record<string, KindSupport> = {
  'apps/v1 Deployment': { model: Deployment, fields: 'V1Deployment' },
  'v1 Service': { model: Service, fields: 'V1Service' },
  'v1 ConfigMap': { model: ConfigMap, fields: 'V1ConfigMap' },
  'v1 Secret': { model: Secret, fields: 'V1Secret' },
  'v1 PersistentVolumeClaim': { model: PersistentVolumeClaim, fields: 'V1PersistentVolumeClaim' },
  'v1 Namespace': { model: Namespace, fields: 'V1Namespace' },
  // A model that scales (replicas: {min, max}).
  'autoscaling/v2 HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler, fields: 'V2HorizontalPodAutoscaler' },
  // What the exported Prometheus needs for its Kubernetes service discovery.
  'v1 ServiceAccount': { model: ServiceAccount, fields: 'V1ServiceAccount' },
  'rbac.authorization.k8s.io/v1 Role': { model: Role, fields: 'V1Role' },
  'rbac.authorization.k8s.io/v1 RoleBinding': { model: RoleBinding, fields: 'V1RoleBinding' },
  'monitoring.coreos.com/v1 ServiceMonitor': { model: ServiceMonitor, schema: SERVICE_MONITOR_SCHEMA },
};

/** The apiVersion/kind pairs validateKubernetesObject knows, as `apiVersion kind`. */
export const VALIDATED_KINDS: readonly string[] = Object.keys(KINDS);

/**
 * Check one Kubernetes object (as it would be serialised to YAML) offline.
 * @returns the problems, one line each as `path: what is wrong` (path in the object, e.g.
 *   `spec.template.spec.containers[0].imagee: unknown field`); empty when the object is valid.
 */
export function validateKubernetesObject(obj: unknown): string[] {
  if (!isPlainObject(obj)) return ['(root): must be an object'];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['(root): apiVersion and kind must be strings'];
  const support = KINDS[`${apiVersion} ${kind}`];
  if (!support) return [`(root): no schema for ${apiVersion} ${kind} (known: ${VALIDATED_KINDS.join(', ')})`];

  const problems: string[] = [];
  // The validator runs on the object as given: constructing the model would fill in apiVersion
  // and kind and hide a missing one.
  try {
    support.model.prototype.validate.call(obj);
  } catch (error) {
    const errors = (error as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) throw error;
    for (const e of errors) problems.push(`${formatPointer(obj, e.instancePath)}: ${e.message ?? e.keyword}`);
  }
  if (support.fields) walkType(support.fields, obj, '', problems);
  if (support.schema) {
    const { metadata, ...rest } = obj;
    walkSchema(support.schema, rest, '', problems);
    // The API server checks a custom resource's metadata like any object's.
    if (metadata !== undefined) walkType('V1ObjectMeta', metadata, 'metadata', problems);
  }
  return [...new Set(problems)];
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
}

interface Attribute {
  baseName: string;
  type: string;
}

const models = clientModels as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>;
const fieldCache = new Map<string, Map<string, string> | null>();

/** The fields of a @kubernetes/client-node type (name → type), or null for a primitive. */
function fieldsOf(type: string): Map<string, string> | null {
  let fields = fieldCache.get(type);
  if (fields === undefined) {
    const attributes = models[type]?.getAttributeTypeMap?.();
    fields = attributes ? new Map(attributes.map((a) => [a.baseName, a.type])) : null;
    fieldCache.set(type, fields);
  }
  return fields;
}

/** Report unknown fields of `value` read as client-node type `type` (types are checked elsewhere). */
function walkType(type: string, value: unknown, path: string, problems: string[]): void {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, i) => walkType(array[1]!, item, `${path}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isPlainObject(value)) for (const [key, item] of Object.entries(value as object)) walkType(map[1]!, item, child(path, key), problems);
    return;
  }
  const fields = fieldsOf(type);
  if (!fields || !isPlainObject(value)) return; // string, number, IntOrString, any, ...: nothing below
  for (const [key, item] of Object.entries(value)) {
    const fieldType = fields.get(key);
    if (fieldType === undefined) problems.push(`${child(path, key)}: unknown field`);
    else walkType(fieldType, item, child(path, key), problems);
  }
}

/** Report unknown fields of `value` under a structural CRD schema, as the API server prunes them. */
function walkSchema(schema: CrdSchema, value: unknown, path: string, problems: string[]): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] || schema['x-kubernetes-int-or-string']) return;
  if (schema.items && Array.isArray(value)) {
    value.forEach((item, i) => walkSchema(schema.items!, item, `${path}[${i}]`, problems));
    return;
  }
  if (!isPlainObject(value)) return;
  if (schema.additionalProperties) {
    for (const [key, item] of Object.entries(value)) walkSchema(schema.additionalProperties, item, child(path, key), problems);
    return;
  }
  if (schema.type !== 'object') return;
  for (const [key, item] of Object.entries(value)) {
    const property = schema.properties?.[key];
    if (!property) problems.push(`${child(path, key)}: unknown field`);
    else walkSchema(property, item, child(path, key), problems);
  }
}

function child(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** A JSON pointer (`/spec/ports/0/port`) as a path like `spec.ports[0].port`, following `root`. */
function formatPointer(root: unknown, pointer: string): string {
  if (!pointer) return '(root)';
  let path = '';
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path = Array.isArray(node) ? `${path}[${key}]` : child(path, key);
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
