import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseConfig } from '@inferstack/config';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewayServiceFiles } from '../gateway/files.js';
import { PLUGIN_CALLBACK } from '../gateway/plugin.js';
import { pendingFiles, writeServiceFiles } from './files.js';
import { prometheusFiles } from './monitoring.js';
import { serviceChanges, servicePlanLine } from './plan.js';

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
  it('are computed without being written: a missing config file is a starter one (0600) naming the plugin, written by up only', async () => {
    const { dir, config } = project(AWAKE);
    const files = await gatewayServiceFiles(config);
    expect(files.map((f) => [f.path.slice(dir.length), f.mode, f.reload])).toEqual([
      ['/litellm/config.yaml', 0o600, false],
      ['/litellm/inferstack_gateway.py', 0o644, false],
    ]);
    expect(files[0]!.text).toContain('master_key: os.environ/LITELLM_MASTER_KEY');
    expect(parse(files[0]!.text).litellm_settings.callbacks).toEqual(['prometheus', PLUGIN_CALLBACK]);
    expect(readdirSync(dir)).toEqual([]);
    await writeServiceFiles(ctx, files);
    expect(statSync(config.gateway.configFile).mode & 0o777).toBe(0o600);
    expect(pendingFiles(await gatewayServiceFiles(config))).toEqual([]);
  });

  it('tell the plugin to refuse requests to idle models at once while no watcher said where it is; never a reload', async () => {
    const { config: awake } = project(AWAKE);
    await writeServiceFiles(ctx, await gatewayServiceFiles(awake));
    const before = readFileSync(awake.gateway.configFile, 'utf8');
    const sleepy = parseConfig(`models:\n${SLEEPY}`, { file: awake.file, projectDir: awake.projectDir, settings: { LITELLM_MASTER_KEY: 'sk-0123456789abcdef0123' } });
    const pending = pendingFiles(await gatewayServiceFiles(sleepy));
    const wakeFile = `/litellm/inferstack_wake.${sleepy.name}.json`;
    expect(pending.map((f) => [f.path.slice(awake.projectDir.length), f.reload])).toEqual([[wakeFile, false]]);
    expect(JSON.parse(pending[0]!.text)).toEqual({ stack: sleepy.name, watcher: null, models: { x: 600 } });
    // Nothing written yet; the config file does not change (the plugin is named already).
    expect(readFileSync(awake.gateway.configFile, 'utf8')).toBe(before);
    expect(await writeServiceFiles(ctx, pending)).toHaveLength(1);
    expect(statSync(join(awake.projectDir, wakeFile)).mode & 0o777).toBe(0o600);
    expect(pendingFiles(await gatewayServiceFiles(sleepy))).toEqual([]);
  });

  it("name the plugin in the user's own config file, keeping the rest, and replace the wake hook of earlier versions", async () => {
    const { config } = project(AWAKE);
    mkdirSync(dirname(config.gateway.configFile), { recursive: true });
    writeFileSync(config.gateway.configFile, 'model_list: []\nrouter_settings: {num_retries: 2}\nlitellm_settings:\n  callbacks: [prometheus, inferstack_wake.proxy_handler_instance]\n');
    await writeServiceFiles(ctx, await gatewayServiceFiles(config));
    const written = parse(readFileSync(config.gateway.configFile, 'utf8'));
    expect(written.litellm_settings.callbacks).toEqual(['prometheus', PLUGIN_CALLBACK]);
    expect(written.router_settings).toEqual({ num_retries: 2 });
    expect(pendingFiles(await gatewayServiceFiles(config))).toEqual([]);
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
    await writeServiceFiles(ctx, first);
    expect(statSync(first[0]!.path).mode & 0o777).toBe(0o600);
    expect(pendingFiles(await prometheusFiles(config, false))).toEqual([]);
    const faster = { ...config, settings: { ...config.settings, PROMETHEUS_SCRAPE_INTERVAL: '5s' } };
    expect(pendingFiles(await prometheusFiles(faster, false)).map((f) => f.path)).toEqual([first[1]!.path]);
  });
});
