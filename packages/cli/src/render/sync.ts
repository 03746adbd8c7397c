import { TargetsFileError } from '@inferstack/prometheus-sync';
import type { SyncOutcome, SyncResult } from '@inferstack/stack';

/** What to do when the gateway or Prometheus could not be synced. */
export function syncFailureHint(what: 'gateway' | 'prometheus', error: Error): string {
  const own = (error as { hint?: string }).hint;
  if (what === 'gateway') return own ?? 'the model containers were left as they are; run "serve sync" once the gateway answers';
  // Waiting for Prometheus does not help when the targets file cannot be written.
  return error instanceof TargetsFileError
    ? 'monitoring.prometheus.targets-dir must be a directory serve can write; the deployment itself is fine, run "serve sync" once it is'
    : 'the deployment itself is fine; run "serve sync" once Prometheus answers';
}

/** The sync part of `--json` output. */
export function syncJson(r: SyncResult) {
  const one = <T extends object>(x: SyncOutcome<T>) => ('skipped' in x ? { skipped: true } : x.ok ? { ok: true, ...x.result } : { ok: false, error: x.error.message });
  return { serving: r.serving.map((c) => c.key), gateway: one(r.gateway), monitoring: one(r.monitoring) };
}
