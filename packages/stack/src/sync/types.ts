import type { ModelContainer } from '@inferstack/docker-ops';
import type { GatewaySyncResult } from '../gateway/types.js';

/* What the gateway and Prometheus syncs report, as plain types (read by the events and the verbs without the syncs' code). */

/** What a monitoring sync did. */
export interface MonitoringSyncResult {
  changed: boolean;
  targets: Array<{ target: string; model: string; health: string; lastError?: string }>;
  warnings: string[];
}

/** The outcome of one integration sync: its result, the error that stopped it (and what to do), or skipped (configured off). */
export type SyncOutcome<T> = { ok: true; result: T } | { ok: false; error: Error; hint: string } | { ok: true; skipped: true };

/** What a sync of the gateway and Prometheus did. */
export interface SyncResult {
  /** The model containers that serve, which the gateway and Prometheus now point at. */
  serving: ModelContainer[];
  gateway: SyncOutcome<GatewaySyncResult>;
  monitoring: SyncOutcome<MonitoringSyncResult>;
  /**
   * Docker hosts that could not be asked which of their models serve: their models' routes and
   * targets were left as they were.
   */
  unknownHosts: string[];
  /** Both went well (or were off), and every host could be asked. */
  ok: boolean;
}
