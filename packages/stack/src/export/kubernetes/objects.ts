import { createHash } from 'node:crypto';
import { Document } from 'yaml';

/*
 * The building blocks of `serve export kubernetes`: names and label values Kubernetes accepts,
 * quantities, environment entries, and the YAML text of a file of objects. Pure.
 */

/** A Kubernetes object as written to a file. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Kind and name of an object: how a plan names it. */
export interface KubeObjectRef {
  kind: string;
  name: string;
}

/** Code-point order: the same on every machine, whatever its locale (localeCompare is not). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * A name Kubernetes accepts for a Service, a Deployment or a namespace (an RFC 1035 label:
 * lower-case letters, digits and `-`, starting with a letter, ending with a letter or digit, at
 * most 63 characters). A name that already is one is kept, so a model's Service has its
 * container's name and the gateway reaches it at the same `http://inference-<key>:8000/v1` as on
 * Docker. Any other name is lower-cased, its other characters become `-`, and a short digest of
 * the original is appended, so two names that differ only in case or punctuation stay apart.
 */
export function kubernetesName(name: string, max = 63): string {
  if (name.length <= max && /^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(name)) return name;
  let base = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]+/, '');
  const suffix = sha(name).slice(0, 6);
  base = base.slice(0, max - suffix.length - 1).replace(/-+$/, '');
  return base ? `${base}-${suffix}` : `x-${suffix}`;
}

/**
 * A label value Kubernetes accepts (at most 63 of `A-Za-z0-9-_.`, starting and ending with a
 * letter or digit): the text itself when it is one, else {@link kubernetesName} of it.
 */
export function labelValue(text: string): string {
  return text.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/.test(text) ? text : kubernetesName(text);
}

/** Bytes as a Kubernetes quantity, in the largest binary unit that divides them (`10Gi`, `512Mi`). */
export function bytesQuantity(bytes: number): string {
  for (const [unit, size] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/**
 * Kubernetes expands `$(NAME)` in a container's args and environment values, and turns `$$`
 * into `$`. Doubling every `$` keeps the text as Docker passes it.
 */
export function literal(text: string): string {
  return text.replaceAll('$', '$$$$');
}

/** One `env` entry of a container. */
export type EnvVar = { name: string; value: string } | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

/**
 * A container's `env` from a Docker create body's `Env` (`NAME=value`, in its order): names in
 * `secrets` become references to that key of the Secret `secretName`, never values.
 */
export function envFromCreate(env: readonly string[] | undefined, secretName: string, secrets: Readonly<Record<string, string>>): EnvVar[] {
  return (env ?? []).map((item) => {
    const i = item.indexOf('=');
    const name = item.slice(0, i);
    const key = secrets[name];
    return key !== undefined ? { name, valueFrom: { secretKeyRef: { name: secretName, key } } } : { name, value: literal(item.slice(i + 1)) };
  });
}

/** The number of CPUs in a Docker cpuset (`0-3,8` is 5). */
export function cpusetSize(cpuset: string): number {
  let n = 0;
  for (const part of cpuset.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - (a ?? 0) + 1;
  }
  return n;
}

/** A file of objects: an optional comment, then the objects as YAML documents. */
export function objectsYaml(objects: readonly KubeObject[], comment?: string): string {
  return objects
    .map((o, i) => {
      const doc = new Document(o, { aliasDuplicateObjects: false });
      if (i === 0 && comment) doc.commentBefore = comment;
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
