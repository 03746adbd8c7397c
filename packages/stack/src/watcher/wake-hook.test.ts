import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@inferstack/config';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { STARTER_CONFIG } from '../services/gateway.js';
import { WAKE_CALLBACK, requireWakePath, syncWakeHook, wakeableModels } from './wake-hook.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(models: string, extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-wake-hook-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'litellm'));
  const config = parseConfig(`${extra}models:\n${models}`, { file: join(dir, 'model_config/models.yaml'), projectDir: dir, settings: { LITELLM_MASTER_KEY: 'sk-0123456789abcdef0123' } });
  return { dir, config, file: config.gateway.configFile };
}

describe('the gateway wake hook', () => {
  it('lists the models that sleep or stop when idle, with their wake timeout in seconds', () => {
    const { config } = project(
      ['  a: {model: x, gpus: none, idle: {after: 5m}}', '  b: {model: y, gpus: none, served-model-name: bee, idle: {after: 1m, then: stop}, wake-timeout: 90s}', '  c: {model: z, gpus: none}', '  d: {model: w, gpus: none, swap-group: g}'].join('\n') + '\n',
    );
    // By served name (the model's, as vLLM serves it, unless served-model-name says otherwise).
    expect(wakeableModels(config)).toEqual({ x: 600, bee: 90, w: 600 });
  });

  it('is named in litellm_settings.callbacks, keeping the callbacks and everything else already there', async () => {
    const { config, file, dir } = project('  a: {model: x, gpus: none, idle: {after: 5m}}\n');
    writeFileSync(file, `${STARTER_CONFIG}router_settings: {num_retries: 2}\n`);
    expect(await syncWakeHook(config, 'http://w:8787')).toBe(true);
    const written = parse(readFileSync(file, 'utf8'));
    expect(written.litellm_settings.callbacks).toEqual(['prometheus', WAKE_CALLBACK]);
    expect(written.router_settings).toEqual({ num_retries: 2 });
    expect(written.general_settings.master_key).toBe('os.environ/LITELLM_MASTER_KEY');
    // Twice is once: no second entry, no change (no gateway reload).
    expect(await syncWakeHook(config, 'http://w:8787')).toBe(false);
    expect(parse(readFileSync(file, 'utf8')).litellm_settings.callbacks).toEqual(['prometheus', WAKE_CALLBACK]);
    expect(readFileSync(join(dir, 'litellm', 'inferstack_wake.py'), 'utf8')).toContain('async def async_pre_call_hook');
    expect(JSON.parse(readFileSync(join(dir, 'litellm', 'inferstack_wake.json'), 'utf8'))).toEqual({ watcher: 'http://w:8787', models: { x: 600 } });
  });

  it('adds callbacks to a file that has none, and tells the hook of no model once none sleeps', async () => {
    const sleepy = project('  a: {model: x, gpus: none, idle: {after: 5m}}\n');
    writeFileSync(sleepy.file, 'model_list: []\n');
    expect(await syncWakeHook(sleepy.config, 'http://w:8787')).toBe(true);
    expect(parse(readFileSync(sleepy.file, 'utf8')).litellm_settings.callbacks).toEqual([WAKE_CALLBACK]);
    const awake = parseConfig('models:\n  a: {model: x, gpus: none}\n', { file: join(sleepy.dir, 'model_config/models.yaml'), projectDir: sleepy.dir, settings: {} });
    expect(await syncWakeHook(awake, 'http://w:8787')).toBe(false);
    expect(JSON.parse(readFileSync(join(sleepy.dir, 'litellm', 'inferstack_wake.json'), 'utf8')).models).toEqual({});
  });

  it('refuses a model that sleeps without the managed gateway (nothing would wake it first)', () => {
    const { config } = project('  a: {model: x, gpus: none, idle: {after: 5m}}\n', 'gateway: {mode: none}\n');
    expect(() => requireWakePath(config)).toThrow(/model a sleeps when idle.*needs the managed gateway/);
    const stops = project('  a: {model: x, gpus: none, idle: {after: 5m, then: stop}}\n', 'gateway: {mode: none}\n');
    expect(() => requireWakePath(stops.config)).not.toThrow();
  });
});
