import { parseAllDocuments } from 'yaml';
import { compareText, type KubeObjectRef } from './objects.js';
import type { KubernetesFile } from './types.js';

/*
 * What an export would change in a directory that holds an earlier one: per file added, changed,
 * removed or unchanged, and per object inside (a Deployment changed, a Service added). Pure.
 */

/** What happens to one object of a changed file. */
export interface KubernetesObjectChange extends KubeObjectRef {
  action: 'add' | 'change' | 'remove';
}

/** What happens to one file. */
export interface KubernetesFileChange {
  path: string;
  action: 'add' | 'change' | 'remove' | 'keep';
  /** The objects that are added, changed or removed (empty for a kept file, and for kustomization.yaml). */
  objects: KubernetesObjectChange[];
}

/** Objects of a YAML file by `Kind/name`, as canonical JSON; undefined when it holds none. */
function objectsOf(text: string): Map<string, { ref: KubeObjectRef; json: string }> | undefined {
  let docs;
  try {
    docs = parseAllDocuments(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(docs)) return undefined;
  const out = new Map<string, { ref: KubeObjectRef; json: string }>();
  for (const doc of docs) {
    if (doc.errors.length > 0) return undefined;
    const o = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (o === null) continue;
    if (typeof o?.kind !== 'string' || typeof o.metadata?.name !== 'string') return undefined;
    const ref = { kind: o.kind, name: o.metadata.name };
    out.set(`${ref.kind}/${ref.name}`, { ref, json: JSON.stringify(o) });
  }
  return out;
}

/**
 * The changes `next` makes to the files of an earlier export (`previous`, by relative path).
 * Files of `previous` that `next` does not have are removed; sorted by path.
 */
export function diffKubernetesFiles(previous: ReadonlyMap<string, string>, next: readonly KubernetesFile[]): KubernetesFileChange[] {
  const changes: KubernetesFileChange[] = [];
  const nextPaths = new Set(next.map((f) => f.path));
  for (const file of next) {
    const old = previous.get(file.path);
    if (old === undefined) {
      changes.push({ path: file.path, action: 'add', objects: file.objects.map((o) => ({ ...o, action: 'add' })) });
    } else if (old === file.text) {
      changes.push({ path: file.path, action: 'keep', objects: [] });
    } else {
      changes.push({ path: file.path, action: 'change', objects: objectChanges(file, old) });
    }
  }
  for (const [path, text] of previous) {
    if (nextPaths.has(path)) continue;
    const objects = path.startsWith('files/') ? [] : [...(objectsOf(text)?.values() ?? [])].map(({ ref }) => ({ ...ref, action: 'remove' as const }));
    changes.push({ path, action: 'remove', objects });
  }
  return changes.sort((a, b) => compareText(a.path, b.path));
}

function objectChanges(file: Pick<KubernetesFile, 'path' | 'text' | 'objects'>, old: string): KubernetesObjectChange[] {
  // A file a ConfigMap is made from: that ConfigMap changes.
  if (file.path.startsWith('files/')) return file.objects.map((o) => ({ ...o, action: 'change' }));
  const before = objectsOf(old);
  const after = objectsOf(file.text);
  if (!before || !after) return file.objects.map((o) => ({ ...o, action: 'change' }));
  const out: KubernetesObjectChange[] = [];
  for (const [key, now] of after) {
    const was = before.get(key);
    if (!was) out.push({ ...now.ref, action: 'add' });
    else if (was.json !== now.json) out.push({ ...now.ref, action: 'change' });
  }
  for (const [key, was] of before) if (!after.has(key)) out.push({ ...was.ref, action: 'remove' });
  return out;
}

/** Whether any file would be added, changed or removed. */
export function hasKubernetesChanges(changes: readonly KubernetesFileChange[]): boolean {
  return changes.some((c) => c.action !== 'keep');
}
