import { defaultSleep } from './_retry.js';
import type { LitellmClient } from './client.js';
import {
  LitellmAuthError,
  LitellmHttpError,
  LitellmNoDatabaseError,
  LitellmSyncError,
  LitellmUnreachableError,
} from './errors.js';
import type { GatewayChange, GatewayEntry } from './types.js';

/** Options of {@link applyGatewaySyncApi}. */
export interface ApplyApiOptions {
  client: LitellmClient;
  /** Changes sent at the same time (a replace is always delete-then-add, in order). @default 4 */
  concurrency?: number;
  /**
   * How long to read `/model/info` back until it shows the wanted state. The worker that answers
   * may be one that has not reloaded from the database yet (LiteLLM: every 30 s by default), so
   * with several workers this needs to be longer than that. `false`: no read-back, for a caller
   * that asks every worker itself (`verified` stays false; `ok` means no change failed).
   * @default { timeoutMs: 35000, intervalMs: 250 }
   */
  verify?: { timeoutMs?: number; intervalMs?: number } | false;
  signal?: AbortSignal;
  /** @default node:timers/promises setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Date.now */
  now?: () => number;
}

/** A change that could not be applied, with the reason. */
export interface FailedGatewayChange {
  change: GatewayChange;
  error: Error;
}

/** What {@link applyGatewaySyncApi} did. */
export interface GatewaySyncReport {
  /** Every change applied and `/model/info` shows the wanted state (without a read-back: every change applied). */
  ok: boolean;
  /** Ids added / replaced / removed (the new id for replacements). */
  added: string[];
  replaced: string[];
  removed: string[];
  failed: FailedGatewayChange[];
  /** `/model/info` showed the wanted state before the verify timeout. */
  verified: boolean;
  /** Ids whose wanted state `/model/info` did not show (when not verified). */
  pending: string[];
  durationMs: number;
}

/**
 * Applies a plan through LiteLLM's admin API (a proxy with a database), then reads `/model/info`
 * back until it shows the result. Changes that fail are reported, not thrown, so one bad entry
 * does not hide the rest; errors that make every further call fail are thrown. A `conflict`
 * (an id of the proxy's config file) is reported as failed without a call.
 *
 * The read-back asks whichever worker answers: with several workers (or replicas) it proves the
 * change reached the database and that worker, not the others, which load it when they next
 * reload from the database (LiteLLM: every `proxy_config_reload_interval_seconds`, 30 s by
 * default). inferstack's managed gateway asks every worker through its plugin afterwards.
 *
 * @throws {LitellmNoDatabaseError} the proxy has no database: use config-file mode
 * @throws {LitellmAuthError} wrong or missing master key
 * @throws {LitellmUnreachableError} the proxy cannot be reached (after retries)
 */
export async function applyGatewaySyncApi(
  changes: GatewayChange[],
  options: ApplyApiOptions,
): Promise<GatewaySyncReport> {
  const { client, signal } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const started = now();
  const report: GatewaySyncReport = {
    ok: false,
    added: [],
    replaced: [],
    removed: [],
    failed: [],
    verified: false,
    pending: [],
    durationMs: 0,
  };
  let fatal: unknown;

  const remove = async (id: string, entry: GatewayEntry): Promise<void> => {
    try {
      await client.deleteModel(id, signal ? { signal } : {});
    } catch (error) {
      if (error instanceof LitellmHttpError && error.status === 400 && /not found/i.test(error.litellmMessage)) {
        // A model from the proxy's config file is "not found in db" too, but it is still there.
        if (entry.model_info.db_model === false) {
          throw new LitellmSyncError(
            `deployment ${id} comes from the gateway's config file; the admin API cannot delete it`,
            { cause: error, hint: "remove it from LiteLLM's config.yaml, or use config-file sync" },
          );
        }
        return; // already gone (another run, or a worker that saw it first)
      }
      throw error;
    }
  };

  const applyOne = async (change: GatewayChange): Promise<void> => {
    switch (change.kind) {
      case 'add':
        await client.addModel(change.entry, signal ? { signal } : {});
        report.added.push(change.entry.model_info.id);
        return;
      case 'replace':
        if (change.fromId === change.entry.model_info.id) {
          // Same id (a changed entry): it must go before it can be added again.
          await remove(change.fromId, change.from);
          await client.addModel(change.entry, signal ? { signal } : {});
        } else {
          // A migration: add ours first, so the model never disappears from the gateway.
          await client.addModel(change.entry, signal ? { signal } : {});
          await remove(change.fromId, change.from);
        }
        report.replaced.push(change.entry.model_info.id);
        return;
      case 'remove':
        await remove(change.id, change.entry);
        report.removed.push(change.id);
        return;
      case 'conflict': {
        const id = change.entry.model_info.id;
        throw new LitellmSyncError(
          `deployment ${id} (${change.entry.model_name}) is not written: the gateway's config file has an entry with this id (${change.existing.model_name}), which the admin API would silently replace`,
          { hint: `remove the entry with id ${id} from the gateway's config file (LiteLLM's config.yaml) and restart it, or use config-file sync (gateway sync: config)` },
        );
      }
    }
  };

  // Refusals are reported without a call. Adds (and replacements) first, all of them, then
  // deletions: a route moved from one backend to another never disappears in between.
  const phases = [changes.filter((c) => c.kind === 'conflict'), changes.filter((c) => c.kind === 'add' || c.kind === 'replace'), changes.filter((c) => c.kind === 'remove')];
  let queue: GatewayChange[] = [];
  const worker = async (): Promise<void> => {
    for (let change = queue.shift(); change !== undefined && fatal === undefined; change = queue.shift()) {
      signal?.throwIfAborted();
      try {
        await applyOne(change);
      } catch (error) {
        if (signal?.aborted) throw error;
        if (
          error instanceof LitellmNoDatabaseError ||
          error instanceof LitellmAuthError ||
          error instanceof LitellmUnreachableError
        ) {
          fatal ??= error;
          return;
        }
        report.failed.push({ change, error: error instanceof Error ? error : new Error(String(error)) });
      }
    }
  };
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  for (const phase of phases) {
    queue = [...phase];
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, phase.length)) }, worker));
    if (fatal !== undefined) throw fatal;
  }

  if (options.verify === false) {
    report.ok = report.failed.length === 0;
    report.durationMs = now() - started;
    return report;
  }

  // Read back. Failed changes are left out: their state is not expected to hold.
  const failedIds = new Set(report.failed.map((failure) => failure.change));
  const expectations = changes.filter((change) => !failedIds.has(change));
  const timeoutMs = options.verify?.timeoutMs ?? 35_000;
  const intervalMs = options.verify?.intervalMs ?? 250;
  const deadline = now() + timeoutMs;
  for (;;) {
    const entries = await client.modelInfo(signal ? { signal } : {});
    const pending = unmet(expectations, entries);
    if (pending.length === 0) {
      report.verified = true;
      report.pending = [];
      break;
    }
    report.pending = pending;
    if (now() + intervalMs > deadline) break;
    await sleep(intervalMs, signal);
  }

  report.ok = report.verified && report.failed.length === 0;
  report.durationMs = now() - started;
  return report;
}

/** Ids whose wanted state the entries do not show yet. */
function unmet(changes: GatewayChange[], entries: GatewayEntry[]): string[] {
  const specs = new Map<string, string[]>();
  for (const entry of entries) {
    const id = entry.model_info.id;
    if (typeof id !== 'string') continue;
    const list = specs.get(id) ?? [];
    list.push(String(entry.model_info.inferstack_spec ?? ''));
    specs.set(id, list);
  }
  const pending: string[] = [];
  for (const change of changes) {
    if (change.kind === 'conflict') continue;
    if (change.kind === 'remove') {
      if (specs.has(change.id)) pending.push(change.id);
      continue;
    }
    const id = change.entry.model_info.id;
    const present = specs.get(id);
    // Exactly one entry with our id, carrying the new digest.
    if (present?.length !== 1 || present[0] !== change.entry.model_info.inferstack_spec) pending.push(id);
    if (change.kind === 'replace' && change.fromId !== id && specs.has(change.fromId)) pending.push(change.fromId);
  }
  return [...new Set(pending)].sort();
}
