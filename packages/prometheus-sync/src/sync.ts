import type { PrometheusClient } from './client.js';
import type { TargetHealth, TargetsReport, WaitUntil } from './target-report.js';
import { ReloadUnavailableError } from './errors.js';
import { DEFAULT_JOB_NAMES } from './prometheus-config.js';
import { type FileSdGroup, type RunningModelTarget, renderTargets } from './targets.js';
import { writeTargetsFile } from './targets-file.js';

/** How to confirm that Prometheus applied the new targets. */
export interface ConfirmOptions {
  /** @default 'known' (see {@link WaitUntil}) */
  until?: WaitUntil;
  /** @default 20000 (Prometheus 2.x applies discovery changes after 0–10 s) */
  timeoutMs?: number;
  /**
   * The file_sd job reading the targets file; stale targets in it must disappear too. `null`
   * looks the targets up in every job and ignores extra ones.
   * @default 'vllm' (the job of {@link renderPrometheusConfig})
   */
  job?: string | null;
  /** Pause between polls, in ms. @default 250 */
  intervalMs?: number;
}

/** Options of {@link syncPrometheusTargets}. */
export interface SyncPrometheusTargetsOptions {
  /** The model containers that are running now (not merely configured). */
  models: readonly RunningModelTarget[];
  /**
   * Host path of the file_sd file Prometheus reads. Mount its directory into the Prometheus
   * container (not the file alone: the atomic rename would be invisible through a file mount).
   */
  targetsFile: string;
  /** Tells Prometheus to reload and confirms the result. Without it the file is only written. */
  client?: PrometheusClient;
  /**
   * Another way to make Prometheus reload, e.g. SIGHUP through the Docker API. Used when the
   * lifecycle API is off (the client's reload throws {@link ReloadUnavailableError}), or alone
   * when there is no client.
   */
  reload?: () => Promise<void>;
  /** Reload even when the file did not change. @default false */
  forceReload?: boolean;
  /** Wait until Prometheus lists exactly these targets; `false` skips. Needs `client`. @default {} */
  confirm?: ConfirmOptions | false;
  signal?: AbortSignal;
  /** Clock in ms, for timings. @default performance.now */
  now?: () => number;
}

/** How Prometheus learnt about a change. */
export type ReloadMethod =
  /** `POST /-/reload` */
  | 'api'
  /** the caller's `reload` (e.g. SIGHUP) */
  | 'fallback'
  /** lifecycle API off and no fallback: Prometheus' file watch (and `refresh_interval`) picks the change up */
  | 'watch'
  /** nothing to reload: the file did not change, or neither a client nor a fallback was given */
  | 'none';

/** One model target after a sync. */
export interface SyncedTarget {
  /** `<container>:<port>`. */
  target: string;
  /** The model key. */
  model: string;
  servedModelName: string;
  /** Whether Prometheus lists the target (false when unconfirmed). */
  known: boolean;
  /** `unknown` until the first scrape, or when unconfirmed. */
  health: TargetHealth;
  /** Why the last scrape failed; empty otherwise. */
  lastError: string;
}

/** What {@link syncPrometheusTargets} did and found. */
export interface SyncPrometheusTargetsResult {
  /** Whether the targets file was rewritten. */
  changed: boolean;
  reloaded: ReloadMethod;
  /** True when Prometheus was seen to list exactly the running models' targets. */
  confirmed: boolean;
  /** One per running model, sorted by target. */
  targets: SyncedTarget[];
  /** Stale targets Prometheus still listed at the end of the wait. */
  stale: string[];
  /** Things worth telling the user; none of them means the deployment failed. */
  warnings: string[];
  /** The groups written. */
  groups: FileSdGroup[];
  /** Where the time went, in ms. */
  timings: { writeMs: number; reloadMs: number; confirmMs: number; totalMs: number };
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * Points Prometheus at the model containers that are running: renders the file_sd groups,
 * writes the targets file when it changed, tells Prometheus to reload (`POST /-/reload`, or the
 * `reload` fallback), and waits until Prometheus lists exactly those targets, reporting each
 * one's health.
 *
 * The file is written before Prometheus is contacted, so a Prometheus that is down reads the
 * right targets when it starts; the error then tells the caller it could not confirm.
 *
 * @throws {PrometheusConfigError} the models do not make valid targets (nothing is written)
 * @throws {TargetsFileError} the targets file cannot be written
 * @throws {PrometheusUnreachableError} Prometheus does not answer (the file is written)
 * @throws {ReloadFailedError} Prometheus cannot load its configuration
 */
export async function syncPrometheusTargets(options: SyncPrometheusTargetsOptions): Promise<SyncPrometheusTargetsResult> {
  const now = options.now ?? (() => performance.now());
  const { client, signal } = options;
  const warnings: string[] = [];
  const t0 = now();

  const groups = renderTargets(options.models);
  const { changed } = await writeTargetsFile(options.targetsFile, groups);
  const t1 = now();

  let reloaded: ReloadMethod = 'none';
  if (changed || options.forceReload) {
    if (client) {
      try {
        await client.reload({ signal });
        reloaded = 'api';
      } catch (error) {
        if (!(error instanceof ReloadUnavailableError)) throw error;
        if (options.reload) {
          await options.reload();
          reloaded = 'fallback';
        } else {
          reloaded = 'watch';
          warnings.push(
            "Prometheus' lifecycle API is off (no --web.enable-lifecycle): relying on its file watch to pick up the new targets",
          );
        }
      }
    } else if (options.reload) {
      await options.reload();
      reloaded = 'fallback';
    }
  }
  const t2 = now();

  const byModel = new Map(options.models.map((m) => [m.address, m]));
  const expected = groups.flatMap((g) => g.targets);
  let report: TargetsReport | undefined;
  const confirm = options.confirm === false ? undefined : (options.confirm ?? {});
  if (client && confirm) {
    const job = confirm.job === undefined ? DEFAULT_JOB_NAMES.models : confirm.job;
    report = await client.waitForTargets(expected, {
      until: confirm.until ?? 'known',
      timeoutMs: confirm.timeoutMs ?? 20_000,
      intervalMs: confirm.intervalMs ?? 250,
      ...(job === null ? {} : { job }),
      ...(signal ? { signal } : {}),
    });
    const seconds = (report.elapsedMs / 1000).toFixed(1);
    for (const t of report.missing) warnings.push(`Prometheus does not list the target ${t} after ${seconds}s`);
    for (const t of report.unexpected) warnings.push(`Prometheus still scrapes the removed target ${t} after ${seconds}s`);
  } else if (!client) {
    warnings.push('no Prometheus client: targets written but not confirmed');
  }
  const t3 = now();

  const targets: SyncedTarget[] = expected.map((target, i) => {
    const model = byModel.get(target);
    const status = report?.targets[i];
    return {
      target,
      model: model?.key ?? '',
      servedModelName: model?.servedModelName ?? '',
      known: status?.known ?? false,
      health: status?.health ?? 'unknown',
      lastError: status?.lastError ?? '',
    };
  });
  for (const t of targets) if (t.health === 'down') warnings.push(`${t.target} (${t.model}) is down: ${t.lastError || 'scrape failed'}`);

  return {
    changed,
    reloaded,
    confirmed: report?.settled ?? false,
    targets,
    stale: report?.unexpected ?? [],
    warnings,
    groups,
    timings: { writeMs: round(t1 - t0), reloadMs: round(t2 - t1), confirmMs: round(t3 - t2), totalMs: round(t3 - t0) },
  };
}
