import type { SyncOutcome, SyncResult } from '@inferstack/stack';

/** The sync part of `--json` output. */
export function syncJson(r: SyncResult) {
  const one = <T extends object>(x: SyncOutcome<T>) => ('skipped' in x ? { skipped: true } : x.ok ? { ok: true, ...x.result } : { ok: false, error: x.error.message });
  return {
    serving: r.serving.map((c) => c.key),
    gateway: one(r.gateway),
    monitoring: one(r.monitoring),
    // Hosts that could not be asked: their models' routes and targets were left as they were.
    ...(r.unknownHosts?.length ? { unknownHosts: r.unknownHosts } : {}),
  };
}
