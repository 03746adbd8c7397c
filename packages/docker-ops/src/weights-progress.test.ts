import { describe, expect, test } from 'vitest';
import { createProgressMeter, formatBytes, formatDuration, formatWeightsProgress } from './weights-progress.js';

const MB = 1_000_000;

describe('createProgressMeter', () => {
  test('no rate before a second has passed; then bytes per second over the window and the time left', () => {
    const m = createProgressMeter({ totalBytes: 1000 * MB, windowMs: 10_000 });
    expect(m.update(100 * MB, 0)).toEqual({});
    expect(m.update(150 * MB, 500)).toEqual({});
    expect(m.update(200 * MB, 2000)).toEqual({ bytesPerSecond: 50 * MB, etaSeconds: 16 });
    // A slower stretch shows within the window.
    m.update(300 * MB, 10_000);
    const r = m.update(310 * MB, 20_000);
    expect(r.bytesPerSecond).toBe(1 * MB);
    expect(r.etaSeconds).toBe(690);
  });

  test('a count that goes back (a file restarted) starts the window again', () => {
    const m = createProgressMeter({ totalBytes: 100 * MB });
    m.update(0, 0);
    m.update(30 * MB, 1000);
    expect(m.update(20 * MB, 1500)).toEqual({});
    expect(m.update(40 * MB, 2500)).toEqual({ bytesPerSecond: 20 * MB, etaSeconds: 3 });
  });

  test('a stall is a rate of 0 without an ETA', () => {
    const m = createProgressMeter({ totalBytes: 10 });
    m.update(5, 0);
    expect(m.update(5, 3000)).toEqual({ bytesPerSecond: 0 });
  });
});

describe('formatting', () => {
  test('bytes, durations and a progress line people can read', () => {
    expect([0, 999, 1000, 1234567, 16_100_000_000, 340e6].map(formatBytes)).toEqual(['0 B', '999 B', '1.0 kB', '1.2 MB', '16.1 GB', '340 MB']);
    expect([0, 45, 185, 7440].map(formatDuration)).toEqual(['0s', '45s', '3m05s', '2h04m']);
    expect(formatWeightsProgress({ doneBytes: 3.2e9, totalBytes: 16.1e9, bytesPerSecond: 85e6, etaSeconds: 151, filesDone: 2, files: 9 })).toBe(
      '3.2 GB / 16.1 GB (19%), 85.0 MB/s, 2m31s left, 2/9 files',
    );
    expect(formatWeightsProgress({ doneBytes: 0, totalBytes: 0 })).toBe('0 B / 0 B (100%)');
  });
});
