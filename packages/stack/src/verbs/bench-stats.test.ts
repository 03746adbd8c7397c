import { describe, expect, it } from 'vitest';
import { nearestRank, percentiles, StreamTally, summarize, type BenchSample } from './bench-stats.js';

const ok = (latencyMs: number, extra: Partial<Extract<BenchSample, { ok: true }>> = {}): BenchSample => ({ ok: true, ttftMs: latencyMs / 10, latencyMs, completionTokens: 10, ...extra });
const bad = (error: string, extra: Partial<Extract<BenchSample, { ok: false }>> = {}): BenchSample => ({ ok: false, error, latencyMs: 5, ...extra });

describe('nearest-rank percentiles', () => {
  it('picks the value at rank ceil(p/100 · n)', () => {
    const values = [15, 20, 35, 40, 50];
    expect(nearestRank(values, 5)).toBe(15);
    expect(nearestRank(values, 30)).toBe(20);
    expect(nearestRank(values, 40)).toBe(20);
    expect(nearestRank(values, 50)).toBe(35);
    expect(nearestRank(values, 100)).toBe(50);
  });

  it('of 1..100 is the percentile itself; of one value that value; of none null', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(hundred)).toEqual({ p50: 50, p95: 95, p99: 99 });
    expect(percentiles([7])).toEqual({ p50: 7, p95: 7, p99: 7 });
    expect(percentiles([])).toEqual({ p50: null, p95: null, p99: null });
  });

  it('sorts what it is given, and rounds to 0.1 ms', () => {
    expect(percentiles([3.14159, 1, 2])).toEqual({ p50: 2, p95: 3.1, p99: 3.1 });
    // 20 values: p95 is the 19th, p99 the 20th.
    const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentiles(twenty)).toEqual({ p50: 10, p95: 19, p99: 20 });
  });
});

describe('summarize', () => {
  it('counts, rates over the whole run, percentiles of the successful requests only', () => {
    const samples = [ok(100), ok(200), ok(300), ok(400), bad('HTTP 500: boom', { latencyMs: 9999 })];
    const s = summarize(samples, 2000);
    expect(s.ok).toBe(4);
    expect(s.failed).toBe(1);
    expect(s.requestsPerSecond).toBe(2);
    expect(s.outputTokensPerSecond).toBe(20);
    expect(s.latencyMs).toEqual({ p50: 200, p95: 400, p99: 400 });
    expect(s.ttftMs).toEqual({ p50: 20, p95: 40, p99: 40 });
  });

  it('groups errors by message, most frequent first', () => {
    const s = summarize([bad('b'), bad('a'), bad('b'), bad('c'), ok(1)], 1000);
    expect(s.errors).toEqual([
      { message: 'b', count: 2 },
      { message: 'a', count: 1 },
      { message: 'c', count: 1 },
    ]);
  });

  it('counts every request (failed too) by the deployment that answered, undefined when unsaid', () => {
    const s = summarize([ok(1, { deploymentId: 'x' }), ok(1, { deploymentId: 'y' }), bad('e', { deploymentId: 'x' }), ok(1)], 1000);
    expect([...s.byDeployment]).toEqual([
      ['x', 2],
      ['y', 1],
      [undefined, 1],
    ]);
  });

  it('leaves requests without a first token out of the TTFT, and survives no time and no success', () => {
    expect(summarize([ok(10, { ttftMs: null }), ok(20, { ttftMs: 4 })], 100).ttftMs).toEqual({ p50: 4, p95: 4, p99: 4 });
    const none = summarize([bad('x')], 0);
    expect(none).toMatchObject({ ok: 0, failed: 1, requestsPerSecond: 0, outputTokensPerSecond: 0, latencyMs: { p50: null, p95: null, p99: null } });
  });
});

describe('StreamTally', () => {
  const feed = (lines: string[]) => {
    const t = new StreamTally();
    // The time is the line's number (from 1).
    lines.forEach((l, i) => t.line(l, () => i + 1));
    return t;
  };
  const chunk = (content: string | null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}`;

  it('times the first chunk with content, counts content chunks, takes the usage count, ends at [DONE]', () => {
    const t = feed([chunk(''), '', chunk('Hel'), '', chunk('lo'), `data: ${JSON.stringify({ choices: [], usage: { completion_tokens: 7 } })}`, 'data: [DONE]', chunk('after')]);
    expect(t.ttftMs).toBe(3);
    expect(t.contentChunks).toBe(2);
    expect(t.usageTokens).toBe(7);
    expect(t.done).toBe(true);
    expect(t.error).toBeUndefined();
  });

  it('ignores comments, other fields and lines it cannot read; reports an error chunk', () => {
    const t = feed([': ping', 'event: x', 'data: {not json', `data: ${JSON.stringify({ error: { message: 'overloaded' } })}`, 'data: [DONE]\r']);
    expect(t.ttftMs).toBeNull();
    expect(t.error).toBe('error in the stream: overloaded');
    expect(t.done).toBe(true);
  });
});
