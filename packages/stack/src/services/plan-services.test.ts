import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@inferstack/config';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { WAKE_CALLBACK } from '../watcher/wake-hook.js';
import { pendingFiles, writeServiceFiles } from './files.js';
import { gatewayFiles } from './gateway.js';
import { prometheusFiles } from './monitoring.js';
import { serviceChanges, servicePlanLine } from './plan-services.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(models: string) {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-plan-services-'));
  dirs.push(dir);
  const config = parseConfig(`models:\n${models}`, { file: join(dir, 'model_config/models.yaml'), projectDir: dir, settings: { LITELLM_MASTER_KEY: 'sk-0123456789abcdef0123' } });
  return { dir, config };
}
const AWAKE = '  a: {model: x, gpus: none}\n';
const SLEEPY = '  a: {model: x, gpus: none, idle: {after: 5m}}\n';
const container = { id: 'c1', labels: {}, running: true };
const events: unknown[] = [];
const ctx = { emit: (e: unknown) => void events.push(e) };

describe('a service plan line', () => {
  const reloads = { id: 'prometheus', reload: async () => {} };
  const cannot = { id: 'grafana' };

  it('says reload for a kept container whose mounted file changes, when the service reloads', () => {
    const file = { path: '/p/.inferstack/prometheus/prometheus.yml' };
    expect(servicePlanLine(reloads, 'prom', { action: 'keep', container }, [file])).toEqual({ service: 'prometheus', container: 'prom', action: 'reload', files: [file.path] });
    // A file the service reads by itself (the wake hook's list) is written, with no reload.
    expect(servicePlanLine(reloads, 'prom', { action: 'keep', container }, [{ path: '/p/x.json', reload: false }])).toEqual({ service: 'prometheus', container: 'prom', action: 'keep', files: ['/p/x.json'] });
    // A service that cannot reload keeps running on the old file: the plan says keep, and names the file.
    expect(servicePlanLine(cannot, 'graf', { action: 'keep', container }, [file])).toMatchObject({ action: 'keep', files: [file.path] });
    expect(servicePlanLine(reloads, 'prom', { action: 'keep', container })).toEqual({ service: 'prometheus', container: 'prom', action: 'keep' });
  });

  it('carries the changed fields of a recreate and the owner of a conflict; a new container needs no reload', () => {
    expect(servicePlanLine(reloads, 'prom', { action: 'recreate', reason: 'changed', changed: ['ports'], container })).toEqual({ service: 'prometheus', container: 'prom', action: 'recreate', changed: ['ports'] });
    expect(servicePlanLine(reloads, 'prom', { action: 'conflict', container, owner: 'other' })).toMatchObject({ action: 'conflict', owner: 'other' });
    expect(servicePlanLine(reloads, 'prom', { action: 'create' }, [{ path: '/p/prometheus.yml' }])).toMatchObject({ action: 'create', files: ['/p/prometheus.yml'] });
  });

  it('counts as a change anything but a kept container with no file to write', () => {
    const keep = { service: 's', container: 'c', action: 'keep' as const };
    expect(serviceChanges([keep, keep])).toBe(false);
    expect(serviceChanges([keep, { ...keep, files: ['/p/x'] }])).toBe(true);
    for (const action of ['create', 'recreate', 'start', 'reload', 'conflict'] as const) expect(serviceChanges([keep, { ...keep, action }])).toBe(true);
  });
});

describe("the gateway's files", () => {
  it('are computed without being written: a missing config file is a starter one (0600), written by up only', async () => {
    const { dir, config } = project(AWAKE);
    const files = (await gatewayFiles(config));
    expect(files).toEqual([expect.objectContaining({ path: config.gateway.configFile, mode: 0o600, reload: false })]);
    expect(files[0]!.text).toContain('master_key: os.environ/LITELLM_MASTER_KEY');
    expect(readdirSync(dir)).toEqual([]);
    writeServiceFiles(ctx, files);
    expect(statSync(config.gateway.configFile).mode & 0o777).toBe(0o600);
    expect(pendingFiles((await gatewayFiles(config)))).toEqual([]);
  });

  it('name the wake hook once a model sleeps: the config file changes (a reload), the hook and its list are written beside it', async () => {
    const { config: awake } = project(AWAKE);
    writeServiceFiles(ctx, (await gatewayFiles(awake)));
    const before = readFileSync(awake.gateway.configFile, 'utf8');
    const sleepy = parseConfig(`models:\n${SLEEPY}`, { file: awake.file, projectDir: awake.projectDir, settings: { LITELLM_MASTER_KEY: 'sk-0123456789abcdef0123' } });
    const pending = pendingFiles((await gatewayFiles(sleepy)));
    expect(pending.map((f) => [f.path.slice(awake.projectDir.length), f.reload])).toEqual([
      ['/litellm/config.yaml', true],
      ['/litellm/inferstack_wake.py', false],
      ['/litellm/inferstack_wake.json', false],
    ]);
    // Nothing written yet.
    expect(readFileSync(awake.gateway.configFile, 'utf8')).toBe(before);
    expect(existsSync(join(awake.projectDir, 'litellm', 'inferstack_wake.py'))).toBe(false);
    expect(writeServiceFiles(ctx, pending)).toHaveLength(3);
    expect(parse(readFileSync(awake.gateway.configFile, 'utf8')).litellm_settings.callbacks).toEqual(['prometheus', WAKE_CALLBACK]);
    expect(pendingFiles((await gatewayFiles(sleepy)))).toEqual([]);
    // A new wake timeout changes only the list the hook reads by itself: no reload.
    const slower = parseConfig(`models:\n  a: {model: x, gpus: none, idle: {after: 5m}, wake-timeout: 90s}\n`, { file: awake.file, projectDir: awake.projectDir, settings: { LITELLM_MASTER_KEY: 'sk-0123456789abcdef0123' } });
    expect(pendingFiles((await gatewayFiles(slower))).map((f) => [f.path.slice(awake.projectDir.length), f.reload])).toEqual([['/litellm/inferstack_wake.json', false]]);
  });

  it("keep the user's own config file as it is when no model sleeps", async () => {
    const { config } = project(AWAKE);
    writeServiceFiles(ctx, (await gatewayFiles(config)));
    writeFileSync(config.gateway.configFile, 'model_list: []\nrouter_settings: {num_retries: 2}\n');
    expect(pendingFiles((await gatewayFiles(config)))).toEqual([]);
  });
});

describe("Prometheus' files", () => {
  it('are the same on a second computation once written (no reload then), and another scrape interval changes prometheus.yml only', async () => {
    const { config } = project(AWAKE);
    const first = await prometheusFiles(config, false);
    expect(first.map((f) => [f.path.slice(config.projectDir.length), f.mode])).toEqual([
      ['/.inferstack/prometheus/litellm-key', 0o600],
      ['/.inferstack/prometheus/prometheus.yml', 0o644],
    ]);
    expect(existsSync(join(config.projectDir, '.inferstack'))).toBe(false);
    writeServiceFiles(ctx, first);
    expect(statSync(first[0]!.path).mode & 0o777).toBe(0o600);
    expect(pendingFiles(await prometheusFiles(config, false))).toEqual([]);
    const faster = { ...config, settings: { ...config.settings, PROMETHEUS_SCRAPE_INTERVAL: '5s' } };
    expect(pendingFiles(await prometheusFiles(faster, false)).map((f) => f.path)).toEqual([first[1]!.path]);
  });
});
