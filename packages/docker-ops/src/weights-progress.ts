/*
 * Download progress people can read: bytes done of the total, the rate over the last seconds and
 * the time left, computed on our side from the byte counts the pull program reports (the client's
 * own progress bars are off: they are meant for a terminal, not for a log). Pure.
 */

/** Rate and time left after a new byte count. */
export interface ProgressRate {
  /** Bytes per second over the window; undefined until the window spans a second. */
  bytesPerSecond?: number;
  /** Seconds to the total at that rate; undefined without a rate. */
  etaSeconds?: number;
}

/** Turns byte counts over time into a rate and an ETA (see {@link createProgressMeter}). */
export interface ProgressMeter {
  /** Record `doneBytes` (of everything, already present included) at `atMs`. */
  update(doneBytes: number, atMs: number): ProgressRate;
  /** Another total (a retry listed the repo again). */
  setTotal(totalBytes: number): void;
}

/**
 * A meter over a sliding window (default 10 s): steady enough to read, quick to follow a change of
 * speed. A count that goes back (a huggingface_hub 1.x/2.x client restarts a failed file from 0)
 * starts the window again rather than showing a negative rate.
 */
export function createProgressMeter(options: { totalBytes: number; windowMs?: number }): ProgressMeter {
  const windowMs = options.windowMs ?? 10_000;
  let total = options.totalBytes;
  let samples: Array<{ at: number; done: number }> = [];
  return {
    setTotal(totalBytes) {
      total = totalBytes;
    },
    update(done, at) {
      const last = samples.at(-1);
      if (last && done < last.done) samples = [];
      samples.push({ at, done });
      while (samples.length > 2 && at - samples[1]!.at >= windowMs) samples.shift();
      const first = samples[0]!;
      const span = at - first.at;
      if (span < 1000) return {};
      const bytesPerSecond = ((done - first.done) * 1000) / span;
      if (bytesPerSecond <= 0) return { bytesPerSecond: 0 };
      return { bytesPerSecond, etaSeconds: Math.max(0, (total - done) / bytesPerSecond) };
    },
  };
}

/** Bytes for people: `1.2 GB`, `340 MB`, `12 kB`, `512 B` (decimal units, as the Hub shows sizes). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** A duration for people: `45s`, `3m05s`, `2h04m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One line of download progress: `3.2 GB / 16.1 GB (20%), 85 MB/s, 2m31s left, 2/9 files`. What
 * the CLI prints per model; events carry the numbers for anything else.
 */
export function formatWeightsProgress(p: { doneBytes: number; totalBytes: number; bytesPerSecond?: number; etaSeconds?: number; filesDone?: number; files?: number }): string {
  const percent = p.totalBytes > 0 ? Math.floor((p.doneBytes * 100) / p.totalBytes) : 100;
  const parts = [`${formatBytes(p.doneBytes)} / ${formatBytes(p.totalBytes)} (${percent}%)`];
  if (p.bytesPerSecond !== undefined) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.etaSeconds !== undefined) parts.push(`${formatDuration(p.etaSeconds)} left`);
  if (p.files !== undefined) parts.push(`${p.filesDone ?? 0}/${p.files} files`);
  return parts.join(', ');
}
