import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { PrometheusClient } from './client.js';
import { type TargetsReport, reportTargets } from './target-report.js';
import { PrometheusUnreachableError, ReloadFailedError, ReloadUnavailableError } from './errors.js';
import { syncPrometheusTargets } from './sync.js';
import type { RunningModelTarget } from './targets.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prometheus-sync-'));
  file = join(dir, 'targets', 'vllm.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const a: RunningModelTarget = { key: 'a', address: 'inference-a:8000', servedModelName: 'org/A', gpus: '0' };
const b: RunningModelTarget = { key: 'b', address: 'inference-b:8000', servedModelName: 'org/B', gpus: '1' };

/**
 * A Prometheus double that behaves like the real one where it matters: after a reload (or, with
 * the lifecycle API off, on its own) it lists the targets of the file it reads.
 */
function fakePrometheus(options: { lifecycle?: boolean; reachable?: boolean; health?: 'up' | 'down' | 'unknown'; reloadError?: Error } = {}) {
  let listed: string[] = [];
  const calls: string[] = [];
  const readFileTargets = async (): Promise<string[]> =>
    (JSON.parse(await readFile(file, 'utf8')) as Array<{ targets: string[] }>).flatMap((g) => g.targets);
  const unreachable = () => new PrometheusUnreachableError({ baseUrl: 'http://prom:9090', operation: 'x', code: 'ECONNREFUSED' });
  const client = {
    baseUrl: 'http://prom:9090',
    async reload() {
      calls.push('reload');
      if (options.reachable === false) throw unreachable();
      if (options.reloadError) throw options.reloadError;
      if (options.lifecycle === false) throw new ReloadUnavailableError({ status: 403, body: 'Lifecycle API is not enabled.' });
      listed = await readFileTargets();
    },
    async waitForTargets(expected, wait = {}): Promise<TargetsReport> {
      calls.push(`wait:${wait.job ?? '*'}:${wait.until ?? 'known'}`);
      if (options.reachable === false) throw unreachable();
      // The file watch catches up by the time anyone waits.
      if (options.lifecycle === false) listed = await readFileTargets();
      const health = options.health ?? 'up';
      const activeTargets = listed.map((address) => ({
        discoveredLabels: { __address__: address },
        labels: { instance: address, job: 'vllm' },
        scrapePool: 'vllm',
        scrapeUrl: '',
        globalUrl: '',
        lastError: health === 'down' ? 'dial tcp: connection refused' : '',
        lastScrape: '',
        lastScrapeDuration: 0,
        health,
      }));
      return reportTargets(expected, activeTargets, { ...wait, elapsedMs: 12 });
    },
  } as Pick<PrometheusClient, 'baseUrl' | 'reload' | 'waitForTargets'> as PrometheusClient;
  return { client, calls };
}

describe('syncPrometheusTargets', () => {
  test('render, write, reload, confirm', async () => {
    const { client, calls } = fakePrometheus();
    const result = await syncPrometheusTargets({ models: [b, a], targetsFile: file, client });
    expect(result).toMatchObject({ changed: true, reloaded: 'api', confirmed: true, stale: [], warnings: [] });
    expect(result.targets).toEqual([
      { target: 'inference-a:8000', model: 'a', servedModelName: 'org/A', known: true, health: 'up', lastError: '' },
      { target: 'inference-b:8000', model: 'b', servedModelName: 'org/B', known: true, health: 'up', lastError: '' },
    ]);
    expect(calls).toEqual(['reload', 'wait:vllm:known']);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveLength(2);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.writeMs);
  });

  test('same models again: unchanged, no reload, still confirmed', async () => {
    const { client, calls } = fakePrometheus();
    await syncPrometheusTargets({ models: [a, b], targetsFile: file, client });
    const again = await syncPrometheusTargets({ models: [b, a], targetsFile: file, client });
    expect(again).toMatchObject({ changed: false, reloaded: 'none', confirmed: true });
    expect(calls.filter((c) => c === 'reload')).toHaveLength(1);
    const forced = await syncPrometheusTargets({ models: [a, b], targetsFile: file, client, forceReload: true });
    expect(forced).toMatchObject({ changed: false, reloaded: 'api' });
  });

  test('a removed model leaves the job', async () => {
    const { client } = fakePrometheus();
    await syncPrometheusTargets({ models: [a, b], targetsFile: file, client });
    const result = await syncPrometheusTargets({ models: [a], targetsFile: file, client });
    expect(result).toMatchObject({ changed: true, confirmed: true, stale: [] });
    expect(result.targets.map((t) => t.target)).toEqual(['inference-a:8000']);
    const none = await syncPrometheusTargets({ models: [], targetsFile: file, client });
    expect(none).toMatchObject({ changed: true, confirmed: true, targets: [] });
  });

  test('lifecycle API off: the fallback reload is used', async () => {
    const { client } = fakePrometheus({ lifecycle: false });
    let sighups = 0;
    const result = await syncPrometheusTargets({ models: [a], targetsFile: file, client, reload: async () => void sighups++ });
    expect(result).toMatchObject({ reloaded: 'fallback', confirmed: true, warnings: [] });
    expect(sighups).toBe(1);
  });

  test('lifecycle API off and no fallback: a warning, the file watch does the rest', async () => {
    const { client } = fakePrometheus({ lifecycle: false });
    const result = await syncPrometheusTargets({ models: [a], targetsFile: file, client });
    expect(result.reloaded).toBe('watch');
    expect(result.confirmed).toBe(true);
    expect(result.warnings).toEqual([
      "Prometheus' lifecycle API is off (no --web.enable-lifecycle): relying on its file watch to pick up the new targets",
    ]);
  });

  test('down targets are reported with their scrape error', async () => {
    const { client, calls } = fakePrometheus({ health: 'down' });
    const result = await syncPrometheusTargets({ models: [a], targetsFile: file, client, confirm: { until: 'scraped', job: null } });
    expect(calls).toContain('wait:*:scraped');
    expect(result.targets[0]).toMatchObject({ health: 'down', lastError: 'dial tcp: connection refused' });
    expect(result.warnings).toEqual(['inference-a:8000 (a) is down: dial tcp: connection refused']);
  });

  test('unreachable Prometheus: a typed error, and the file is written for when it starts', async () => {
    const { client } = fakePrometheus({ reachable: false });
    await expect(syncPrometheusTargets({ models: [a], targetsFile: file, client })).rejects.toBeInstanceOf(PrometheusUnreachableError);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveLength(1);
  });

  test('a failed reload is not swallowed', async () => {
    const { client } = fakePrometheus({ reloadError: new ReloadFailedError('bad yaml') });
    await expect(syncPrometheusTargets({ models: [a], targetsFile: file, client })).rejects.toBeInstanceOf(ReloadFailedError);
  });

  test('no client: reload through the fallback, nothing confirmed', async () => {
    let reloads = 0;
    const result = await syncPrometheusTargets({ models: [a], targetsFile: file, reload: async () => void reloads++ });
    expect(result).toMatchObject({ changed: true, reloaded: 'fallback', confirmed: false });
    expect(result.targets[0]).toMatchObject({ known: false, health: 'unknown' });
    expect(result.warnings).toEqual(['no Prometheus client: targets written but not confirmed']);
    expect(reloads).toBe(1);
  });

  test('confirm: false skips the wait', async () => {
    const { client, calls } = fakePrometheus();
    const result = await syncPrometheusTargets({ models: [a], targetsFile: file, client, confirm: false });
    expect(calls).toEqual(['reload']);
    expect(result.confirmed).toBe(false);
    expect(result.warnings).toEqual([]);
  });
});
