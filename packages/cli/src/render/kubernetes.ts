import type { KubernetesExport, KubernetesFileChange } from '@inferstack/stack';
import { type Output, table } from '../output.js';

const SYMBOL: Record<KubernetesFileChange['action'], string> = { add: '+', change: '~', remove: '-', keep: '=' };

function objects(c: KubernetesFileChange): string {
  if (c.action === 'keep') return '';
  if (c.objects.length === 0) return c.action === 'change' ? 'changed' : '';
  return c.objects.map((o) => (c.action === 'change' ? `${o.kind}/${o.name} ${o.action === 'change' ? 'changed' : o.action === 'add' ? 'added' : 'removed'}` : `${o.kind}/${o.name}`)).join(', ');
}

/** Counts of a set of changes: `2 added, 1 changed, 12 unchanged`. */
export function changeCounts(changes: readonly KubernetesFileChange[]): string {
  const words: Record<KubernetesFileChange['action'], string> = { add: 'added', change: 'changed', remove: 'removed', keep: 'unchanged' };
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(words[c.action], (counts.get(words[c.action]) ?? 0) + 1);
  return ['added', 'changed', 'removed', 'unchanged'].filter((w) => counts.has(w)).map((w) => `${counts.get(w)} ${w}`).join(', ');
}

/** What an export changes in a directory, one row per file that changes (unchanged ones counted). */
export function printKubernetesChanges(print: (line: string) => void, changes: readonly KubernetesFileChange[]): void {
  const rows = changes.filter((c) => c.action !== 'keep').map((c) => [SYMBOL[c.action], c.path, objects(c)]);
  if (rows.length > 0) for (const line of table(['', 'FILE', 'OBJECTS'], rows)) print(line);
  else print('no file would change');
  print('');
  print(`${changes.length} files: ${changeCounts(changes) || 'none'}`);
}

/** The notes of an export (what works differently from Docker) and the Secret it needs. */
export function printKubernetesAdvice(out: Output, r: KubernetesExport, shownDir: string): void {
  for (const note of r.notes) out.warn(`${note}`);
  if (r.secrets.length === 0) return;
  const keys = r.secrets.map((s) => s.name);
  if (r.files.some((f) => f.path === 'secret.yaml')) {
    out.warn(`${shownDir}/secret.yaml holds the secret values (${keys.join(', ')}; mode 0600): keep it out of version control`);
  } else {
    out.info(`  the pods need the Secret ${r.secretName} in namespace ${r.namespace}, with ${keys.join(', ')}; create it first, e.g.`);
    out.info(`    kubectl create namespace ${r.namespace}`);
    out.info(`    kubectl -n ${r.namespace} create secret generic ${r.secretName} ${keys.map((k) => `--from-literal=${k}=...`).join(' ')}`);
    out.info('  (or export again with --with-secrets to write it from .env)');
  }
}
