/*
 * What Prometheus says about targets: the shapes of `GET /api/v1/targets`, reading its entries,
 * and the pure report of how the targets we expect stand ({@link reportTargets}), which
 * `waitForTargets` in client.ts polls for.
 */

/** A target's health as Prometheus reports it: `unknown` until its first scrape. */
export type TargetHealth = 'up' | 'down' | 'unknown';

/** One entry of `activeTargets` in `GET /api/v1/targets`. */
export interface ActiveTarget {
  /** Labels before relabelling, including `__address__` and the file_sd labels. */
  discoveredLabels: Record<string, string>;
  /** Labels after relabelling: `job`, `instance` and ours. */
  labels: Record<string, string>;
  /** The job (scrape pool) the target belongs to. */
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  /** Why the last scrape failed; empty when it worked. */
  lastError: string;
  /** RFC 3339 time of the last scrape (`0001-01-01T00:00:00Z` before the first). */
  lastScrape: string;
  lastScrapeDuration: number;
  health: TargetHealth;
  scrapeInterval?: string;
  scrapeTimeout?: string;
}

/** One entry of `droppedTargets`: discovered, then dropped by relabelling. */
export interface DroppedTarget {
  discoveredLabels: Record<string, string>;
}

/** The answer of `GET /api/v1/targets`. */
export interface TargetsResult {
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
}

/** What {@link PrometheusClient.waitForTargets} waits for, beyond every expected target being listed. */
export type WaitUntil = 'known' | 'scraped' | 'up';

/** What Prometheus says about one expected target. */
export interface TargetStatus {
  /** The address, as expected (`<container>:8000`). */
  target: string;
  /** Whether Prometheus lists it. */
  known: boolean;
  /** `unknown` when not listed or not scraped yet. */
  health: TargetHealth;
  /** Why the last scrape failed; empty when it worked or none happened. */
  lastError: string;
  /** Time of the last scrape, when there was one. */
  lastScrape?: string;
  /** The job it was found in. */
  scrapePool?: string;
  /** Its labels after relabelling (empty when not listed). */
  labels: Record<string, string>;
}

/** The answer of {@link PrometheusClient.waitForTargets}. */
export interface TargetsReport {
  /** True when the condition held before the timeout. */
  settled: boolean;
  /** One entry per expected target, in the order given. */
  targets: TargetStatus[];
  /** Expected targets Prometheus does not list. */
  missing: string[];
  /** Targets of `job` that were not expected (stale ones still scraped). Always empty without `job`. */
  unexpected: string[];
  /** How long the wait took, in ms. */
  elapsedMs: number;
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The string-valued entries of a JSON object; nothing for anything else. */
export function asStringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function asHealth(value: unknown): TargetHealth {
  return value === 'up' || value === 'down' ? value : 'unknown';
}

/** One entry of `activeTargets` as Prometheus sent it, with defaults for what is missing. */
export function toActiveTarget(raw: unknown): ActiveTarget {
  const t = isRecord(raw) ? raw : {};
  const target: ActiveTarget = {
    discoveredLabels: asStringRecord(t.discoveredLabels),
    labels: asStringRecord(t.labels),
    scrapePool: typeof t.scrapePool === 'string' ? t.scrapePool : '',
    scrapeUrl: typeof t.scrapeUrl === 'string' ? t.scrapeUrl : '',
    globalUrl: typeof t.globalUrl === 'string' ? t.globalUrl : '',
    lastError: typeof t.lastError === 'string' ? t.lastError : '',
    lastScrape: typeof t.lastScrape === 'string' ? t.lastScrape : '',
    lastScrapeDuration: typeof t.lastScrapeDuration === 'number' ? t.lastScrapeDuration : 0,
    health: asHealth(t.health),
  };
  if (typeof t.scrapeInterval === 'string') target.scrapeInterval = t.scrapeInterval;
  if (typeof t.scrapeTimeout === 'string') target.scrapeTimeout = t.scrapeTimeout;
  return target;
}

/** The address Prometheus was given for a target (before relabelling may rename `instance`). */
function addressOf(target: ActiveTarget): string {
  return target.discoveredLabels.__address__ ?? target.labels.instance ?? '';
}

/** Pure: the report for `expected` from one `targets()` answer. */
export function reportTargets(
  expected: readonly string[],
  active: readonly ActiveTarget[],
  options: { job?: string; until?: WaitUntil; elapsedMs?: number } = {},
): TargetsReport {
  const until = options.until ?? 'known';
  const pool = options.job === undefined ? active : active.filter((t) => t.scrapePool === options.job);
  const byAddress = new Map<string, ActiveTarget>();
  for (const t of pool) {
    const address = addressOf(t);
    if (!byAddress.has(address)) byAddress.set(address, t);
  }
  const wanted = new Set(expected);
  const targets: TargetStatus[] = expected.map((target) => {
    const t = byAddress.get(target);
    if (!t) return { target, known: false, health: 'unknown', lastError: '', labels: {} };
    const status: TargetStatus = { target, known: true, health: t.health, lastError: t.lastError, scrapePool: t.scrapePool, labels: t.labels };
    if (t.health !== 'unknown') status.lastScrape = t.lastScrape;
    return status;
  });
  const missing = targets.filter((t) => !t.known).map((t) => t.target);
  const unexpected = options.job === undefined ? [] : [...byAddress.keys()].filter((a) => !wanted.has(a)).sort();
  const healthy = targets.every((t) =>
    until === 'known' ? true : until === 'scraped' ? t.health !== 'unknown' : t.health === 'up',
  );
  return {
    settled: missing.length === 0 && unexpected.length === 0 && healthy,
    targets,
    missing,
    unexpected,
    elapsedMs: options.elapsedMs ?? 0,
  };
}
