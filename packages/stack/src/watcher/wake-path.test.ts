import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@inferstack/config';
import { afterEach, describe, expect, it } from 'vitest';
import { requireWakePath, wakeableModels } from './wake-path.js';

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

describe('the path from a request to an idle model', () => {
  it('lists the models that sleep or stop when idle, with their wake timeout in seconds', () => {
    const { config } = project(
      ['  a: {model: x, gpus: none, idle: {after: 5m}}', '  b: {model: y, gpus: none, served-model-name: bee, idle: {after: 1m, then: stop}, wake-timeout: 90s}', '  c: {model: z, gpus: none}', '  d: {model: w, gpus: none, swap-group: g}'].join('\n') + '\n',
    );
    // By served name (the model's, as vLLM serves it, unless served-model-name says otherwise).
    expect(wakeableModels(config)).toEqual({ x: 600, bee: 90, w: 600 });
  });

  const wake = { env: {}, hasWatcherProgram: true };

  it('refuses a model that sleeps or stops when idle without the managed gateway (nothing would wake it), with file:line', () => {
    const { config } = project('  a: {model: x, gpus: none, idle: {after: 5m}}\n', 'gateway: {mode: none}\n');
    expect(() => requireWakePath(config, wake)).toThrow(/models\.yaml:\d+: model a sleeps when idle.*needs the managed gateway/);
    // A stopped model keeps its route and nothing would start it: refused as well.
    const stops = project('  a: {model: x, gpus: none, idle: {after: 5m, then: stop}}\n', 'gateway: {mode: none}\n');
    expect(() => requireWakePath(stops.config, wake)).toThrow(/model a stops when idle, which needs the managed gateway/);
    const external = project('  a: {model: x, gpus: none, idle: {after: 5m, then: stop}}\n', 'gateway: {mode: external, url: "http://gw:4000"}\n');
    expect(() => requireWakePath(external.config, wake)).toThrow(/needs the managed gateway \(gateway mode is external\)/);
  });

  it('refuses a managed watcher that cannot run: no program (a library caller), or a daemon not on a unix socket', () => {
    const { config } = project('  a: {model: x, gpus: none, swap-group: g}\n');
    expect(() => requireWakePath(config, { env: {}, hasWatcherProgram: false })).toThrow(/needs the stack's watcher, and this caller gives no program/);
    expect(() => requireWakePath(config, { env: { DOCKER_HOST: 'tcp://10.0.0.2:2376' }, hasWatcherProgram: true })).toThrow(/DOCKER_HOST is tcp:\/\/10\.0\.0\.2:2376/);
    expect(() => requireWakePath(config, { env: { DOCKER_HOST: 'unix:///var/run/docker.sock' }, hasWatcherProgram: true })).not.toThrow();
    // With watcher: {mode: none} the user runs "serve watch" (which tells the gateway where it is).
    const none = project('  a: {model: x, gpus: none, swap-group: g}\n', 'watcher: {mode: none}\n');
    expect(() => requireWakePath(none.config, { env: { DOCKER_HOST: 'tcp://10.0.0.2:2376' }, hasWatcherProgram: false })).not.toThrow();
  });
});
