import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@inferstack/config';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readRoutesFile, readWakeInfo, routesVersion, starterConfig, withGatewayDirLock, withPluginCallback, writeAtomically, writeGatewayRoutes, writeWakeInfo } from './files.js';
import { PLUGIN_CALLBACK, PLUGIN_FILE, PLUGIN_SOURCE, keysFileName, routesFileName } from './plugin.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(models = '  a: {model: x, gpus: none, served-model-name: ay}\n', name = 'demo') {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-gateway-files-'));
  dirs.push(dir);
  const config = parseConfig(`name: ${name}\nmodels:\n${models}`, { file: join(dir, 'model_config/models.yaml'), projectDir: dir, settings: { LITELLM_MASTER_KEY: 'sk-0123456789abcdef0123' } });
  return { dir, config, litellm: join(dir, 'litellm') };
}

const deployment = (name: string, served = 'ay', apiKey?: string) => ({ name, servedModelName: served, apiBase: `http://${name}:8000/v1`, modelKey: 'a', ...(apiKey ? { apiKey } : {}) });

describe("the gateway's directory", () => {
  it('replaces a file by rename, keeping the mode of an existing one, and says whether it changed', () => {
    const { dir } = project();
    const file = join(dir, 'f.json');
    expect(writeAtomically(file, 'one\n', { mode: 0o600 })).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const inode = statSync(file).ino;
    expect(writeAtomically(file, 'one\n', { mode: 0o644 })).toBe(false);
    expect(writeAtomically(file, 'two\n', { mode: 0o644 })).toBe(true);
    // A new file (another inode): a reader holds the old one or the new one, never half.
    expect(statSync(file).ino).not.toBe(inode);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names the plugin once in the callbacks, keeping the user\'s, and replaces the wake hook of earlier versions', async () => {
    expect(parse(await withPluginCallback(starterConfig({ gateway: { masterKey: 'k' } } as never))).litellm_settings.callbacks).toEqual(['prometheus', PLUGIN_CALLBACK]);
    const own = 'model_list: []\nrouter_settings: {num_retries: 2}\nlitellm_settings:\n  callbacks: [prometheus, my_hooks.handler, inferstack_wake.proxy_handler_instance]\n';
    const named = await withPluginCallback(own);
    expect(parse(named).litellm_settings.callbacks).toEqual(['prometheus', 'my_hooks.handler', PLUGIN_CALLBACK]);
    expect(parse(named).router_settings).toEqual({ num_retries: 2 });
    expect(await withPluginCallback(named)).toBe(named);
    expect(parse(await withPluginCallback('model_list: []\n')).litellm_settings.callbacks).toEqual([PLUGIN_CALLBACK]);
  });

  it("writes the config file (managed entries only, the user's kept), the keys (0600) and the routes file the plugin applies", async () => {
    const { config, litellm } = project();
    mkdirSync(litellm, { recursive: true });
    writeFileSync(config.gateway.configFile, 'model_list:\n  - model_name: mine\n    litellm_params: {model: openai/x, api_base: "http://x/v1"}\n');
    const result = await writeGatewayRoutes(config, [deployment('inference-a-1a2b3c', 'ay', 'os.environ/INFERSTACK_VLLM_KEY_A')], { stack: 'demo', keys: { INFERSTACK_VLLM_KEY_A: 'secret-of-a-0123' } });
    expect(result).toMatchObject({ configChanged: true, routesChanged: true });
    const cfg = parse(readFileSync(config.gateway.configFile, 'utf8'));
    expect(cfg.model_list.map((e: { model_name: string }) => e.model_name)).toEqual(['mine', 'ay']);
    expect(cfg.litellm_settings.callbacks).toEqual([PLUGIN_CALLBACK]);
    expect(readFileSync(config.gateway.configFile, 'utf8')).not.toContain('secret-of-a');
    expect(readFileSync(join(litellm, PLUGIN_FILE), 'utf8')).toBe(PLUGIN_SOURCE);
    expect(JSON.parse(readFileSync(join(litellm, keysFileName('demo')), 'utf8'))).toEqual({ INFERSTACK_VLLM_KEY_A: 'secret-of-a-0123' });
    expect(statSync(join(litellm, keysFileName('demo'))).mode & 0o777).toBe(0o600);
    const routes = readRoutesFile(config, 'demo')!;
    expect(routes.stack).toBe('demo');
    expect(routes.entries.map((e) => [e.model_name, e.model_info.id, e.model_info.inferstack_stack, e.litellm_params.api_key])).toEqual([['ay', 'inferstack-inference-a-1a2b3c', 'demo', 'os.environ/INFERSTACK_VLLM_KEY_A']]);
    expect(routes.version).toBe(routesVersion(routes.entries));
    // The same again writes nothing.
    expect(await writeGatewayRoutes(config, [deployment('inference-a-1a2b3c', 'ay', 'os.environ/INFERSTACK_VLLM_KEY_A')], { stack: 'demo', keys: { INFERSTACK_VLLM_KEY_A: 'secret-of-a-0123' } })).toMatchObject({ configChanged: false, routesChanged: false });
  });

  it("keeps two stacks' entries that share one gateway, each in its own routes file", async () => {
    const { config } = project();
    const other = { ...config, name: 'other' };
    await Promise.all([
      writeGatewayRoutes(config, [deployment('inference-a-111111', 'ay')], { stack: 'demo', keys: {} }),
      writeGatewayRoutes(other, [deployment('inference-b-222222', 'bee')], { stack: 'other', keys: {} }),
    ]);
    const cfg = parse(readFileSync(config.gateway.configFile, 'utf8'));
    expect(cfg.model_list.map((e: { model_info: { inferstack_stack: string } }) => e.model_info.inferstack_stack).sort()).toEqual(['demo', 'other']);
    expect(readRoutesFile(config, 'demo')!.entries).toHaveLength(1);
    expect(readRoutesFile(config, 'other')!.entries).toHaveLength(1);
    expect(existsSync(join(config.projectDir, 'litellm', routesFileName('other')))).toBe(true);
  });

  it('runs one writer at a time under its lock, and takes over a lock left by a killed run', async () => {
    const { config, litellm } = project();
    const order: string[] = [];
    const slow = withGatewayDirLock(config, async () => {
      order.push('a in');
      await new Promise((r) => setTimeout(r, 200));
      order.push('a out');
    });
    await new Promise((r) => setTimeout(r, 20));
    await withGatewayDirLock(config, async () => void order.push('b'));
    await slow;
    expect(order).toEqual(['a in', 'a out', 'b']);
    // A lock file a killed run left (older than the stale limit) is taken over.
    writeFileSync(join(litellm, '.inferstack.lock'), '1 gone\n');
    const old = new Date(Date.now() - 60_000);
    (await import('node:fs')).utimesSync(join(litellm, '.inferstack.lock'), old, old);
    expect(await withGatewayDirLock(config, async () => 'taken', { waitMs: 1000 })).toBe('taken');
    expect(existsSync(join(litellm, '.inferstack.lock'))).toBe(false);
  });

  it("keeps each stack's wake file (0600, with the watcher's token) for the plugin", () => {
    const { config } = project();
    const info = { stack: 'demo', watcher: 'http://w:8787', token: 'secret-token-0123456789', models: { ay: 600 } };
    expect(writeWakeInfo(config, info)).toBe(true);
    expect(readWakeInfo(config, 'demo')).toEqual(info);
    expect(statSync(join(config.projectDir, 'litellm', 'inferstack_wake.demo.json')).mode & 0o777).toBe(0o600);
    expect(writeWakeInfo(config, info)).toBe(false);
  });
});
