import { parseConfig, parseEnvFile } from '@inferstack/config';
import { describe, expect, it } from 'vitest';
import { keyWeakness } from '../doctor/keys.js';
import { generateKeys, renderEnvFile, renderModelsYaml } from './scaffold.js';

const parse = (text: string, settings: Record<string, string> = {}) =>
  parseConfig(text, { file: '/p/model_config/models.yaml', projectDir: '/p', homeDir: '/home/u', settings });

describe('serve init templates', () => {
  it('generates strong, distinct keys of the documented shape', () => {
    const a = generateKeys();
    const b = generateKeys();
    expect(a.masterKey).toMatch(/^sk-[0-9a-f]{48}$/);
    expect(a.saltKey).toMatch(/^sk-[0-9a-f]{48}$/);
    expect(a.grafanaPassword).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set([a.masterKey, a.saltKey, a.grafanaPassword, b.masterKey, b.saltKey, b.grafanaPassword]).size).toBe(6);
    // serve doctor must not call its own generated keys weak.
    for (const k of Object.values(a)) expect(keyWeakness(k)).toBeUndefined();
  });

  it('writes a models.yaml the config loader accepts: one model on GPU 0, the rest commented', () => {
    const config = parse(renderModelsYaml());
    expect(config.models.map((m) => [m.key, m.model, m.gpus])).toEqual([['qwen2.5-1.5b-instruct', 'Qwen/Qwen2.5-1.5B-Instruct', { kind: 'devices', indices: [0] }]]);
    expect(config.models[0]?.vllmArgs).toEqual(['--gpu-memory-utilization', '0.9', '--max-model-len', '8192']);
    expect(config.gateway.mode).toBe('managed');
    expect(config.monitoring.mode).toBe('managed');
    expect(renderModelsYaml()).not.toMatch(/#~/);
  });

  it('shows only valid options, and the commented sections are exactly the defaults', () => {
    const on = renderModelsYaml({ uncommented: true });
    expect(on).toMatch(/^gateway:$/m);
    expect(on).toMatch(/^monitoring:$/m);
    const settings = { QWEN_API_KEY: 'k'.repeat(40) };
    const full = parse(on, settings);
    const plain = parse(renderModelsYaml(), settings);
    expect(full.gateway).toEqual(plain.gateway);
    expect(full.monitoring).toEqual(plain.monitoring);
    expect(full.network).toBe(plain.network);
    const m = full.models[0]!;
    expect(m.cpusetCpus).toBe('0-7');
    expect(m.shmSizeBytes).toBe(8 * 1024 ** 3);
    expect(m.servedModelName).toBe('qwen-small');
    expect(m.secretEnv.VLLM_API_KEY).toBe(settings.QWEN_API_KEY);
    expect(m.vllmArgs).toContain('--enable-prefix-caching');
    expect(m.vllmArgs).toContain('--trust-remote-code');
  });

  it('shows the options without a default as comments that are valid once switched on', () => {
    // Lines "#   key: value" (not "#~"): the admin logins and the DCGM host engine have no default value to show.
    const on = renderModelsYaml({ uncommented: true }).replace(/^# {3}( *(?:ui-username|admin-user|remote-hostengine):)/gm, '  $1');
    const config = parse(on, { QWEN_API_KEY: 'k'.repeat(40) });
    expect(config.gateway.uiUsername).toBe('admin');
    expect(config.gateway.database.image).toBe('postgres:16-alpine');
    expect(config.monitoring.grafana.adminUser).toBe('admin');
    expect(config.monitoring.dcgmExporter).toMatchObject({ remoteHostengine: 'host.docker.internal:5555', devices: 'f', intervalMs: 30000 });
  });

  it("lists the reference tool's optional .env names, commented, each valid with the value shown", () => {
    const keys = generateKeys();
    const on = renderEnvFile(keys).replace(/^# ([A-Z_]+=)/gm, '$1');
    const env = parseEnvFile(on, '.env');
    expect(env.issues).toEqual([]);
    for (const name of ['LITELLM_USERNAME', 'LITELLM_PASSWORD', 'GRAFANA_ADMIN_USER', 'VLLM_IMAGE', 'DCGM_REMOTE_HOSTENGINE_INFO', 'DCGM_EXPORTER_DEVICES_STR', 'DCGM_EXPORTER_INTERVAL']) {
      expect(env.values, name).toHaveProperty(name);
    }
    const config = parse(renderModelsYaml(), env.values);
    expect(config.gateway.uiUsername).toBe('admin');
    expect(config.gateway.uiPassword).toBeUndefined();
    expect(config.monitoring.dcgmExporter.remoteHostengine).toBe('host.docker.internal:5555');
    expect(config.models[0]?.image).toBe('vllm/vllm-openai:v0.32.0-cu129');
  });

  it('renders a .env that parses cleanly, with the keys, an empty HF_TOKEN and the defaults', () => {
    const keys = generateKeys();
    const text = renderEnvFile(keys);
    const env = parseEnvFile(text, '.env');
    expect(env.issues).toEqual([]);
    expect(env.values).toEqual({
      HF_TOKEN: '',
      HUGGINGFACE_CACHE: '~/.cache/huggingface',
      GATEWAY_PORT: '8000',
      LITELLM_MASTER_KEY: keys.masterKey,
      LITELLM_SALT_KEY: keys.saltKey,
      GRAFANA_ADMIN_PASSWORD: keys.grafanaPassword,
      POSTGRES_PASSWORD: keys.databasePassword,
    });
    expect(text).toMatch(/# .*\nHF_TOKEN=\n/);
    const config = parse(renderModelsYaml(), env.values);
    expect(config.gateway.masterKey).toBe(keys.masterKey);
    expect(config.monitoring.grafana.adminPassword).toBe(keys.grafanaPassword);
    expect(config.gateway.database.password).toBe(keys.databasePassword);
    expect(config.models[0]?.volumes[0]?.source).toBe('/home/u/.cache/huggingface');
  });
});
