import { parseConfig } from '@inferstack/config';
import { describe, expect, it } from 'vitest';
import { doctorVerdict, type Check } from './check.js';
import { apiVersionAtLeast, transportChecks } from './docker.js';
import { isAllInterfaces, isLoopback, keyChecks, keyWeakness, looksGated } from './keys.js';
import { portCheck } from './ports.js';

const STRONG = `sk-${'a1'.repeat(24)}`;

function config(yaml: string, settings: Record<string, string>) {
  return parseConfig(`models:\n  - m: {model: Qwen/Qwen3-4B, gpus: none}\n${yaml}`, { file: '/p/model_config/models.yaml', settings });
}

const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id);

describe('weak keys', () => {
  it.each([
    ['sk-1234', 'is a well-known default'],
    ['admin', 'is a well-known default'],
    ['ChangeMe', 'is a well-known default'],
    ['password', 'is a well-known default'],
    ['sk-1234567890', 'is a well-known default'],
    ['sk-0123456789abcdef0123456789ab', 'is only 31 characters (32 or more wanted)'],
  ])('%s %s', (key, why) => {
    expect(keyWeakness(key)).toBe(why);
  });

  it('accepts long random keys', () => {
    expect(keyWeakness(STRONG)).toBeUndefined();
    expect(keyWeakness('x'.repeat(32))).toBeUndefined();
  });
});

describe('addresses and versions', () => {
  it('tells all interfaces and loopback apart', () => {
    expect(['0.0.0.0', '::'].map(isAllInterfaces)).toEqual([true, true]);
    expect(['127.0.0.1', '::1', '192.168.1.5'].map(isAllInterfaces)).toEqual([false, false, false]);
    expect(['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0', '10.0.0.1'].map(isLoopback)).toEqual([true, true, true, false, false]);
  });

  it('compares API versions as numbers', () => {
    expect(apiVersionAtLeast('1.41', '1.41')).toBe(true);
    expect(apiVersionAtLeast('1.50', '1.41')).toBe(true);
    expect(apiVersionAtLeast('1.40', '1.41')).toBe(false);
    expect(apiVersionAtLeast('1.9', '1.41')).toBe(false);
    expect(apiVersionAtLeast('2.0', '1.41')).toBe(true);
  });

  it('hints at gated repos', () => {
    expect(['meta-llama/Llama-3.1-8B-Instruct', 'google/gemma-3-4b-it', 'mistralai/Mistral-7B-Instruct-v0.3'].every(looksGated)).toBe(true);
    expect(['Qwen/Qwen3-4B', 'google/flan-t5-base', '/models/local'].some(looksGated)).toBe(false);
  });
});

describe('keyChecks', () => {
  it('makes a default master key on all interfaces an error, and says why without quoting it', () => {
    const checks = keyChecks(config('gateway: {bind: 0.0.0.0}\n', { LITELLM_MASTER_KEY: 'sk-1234', GRAFANA_ADMIN_PASSWORD: STRONG }));
    expect(byId(checks, 'gateway-bind')).toMatchObject({ status: 'warn', message: expect.stringContaining('all interfaces (0.0.0.0:8000)') });
    expect(byId(checks, 'master-key')).toMatchObject({ status: 'fail', message: expect.stringContaining('well-known default') });
    expect(doctorVerdict(checks)).toBe('broken');
    expect(JSON.stringify(checks)).not.toContain('sk-1234');
  });

  it('flags a short key on :: too, and any non-loopback address', () => {
    const v6 = keyChecks(config('gateway: {bind: "::"}\n', { LITELLM_MASTER_KEY: 'sk-short-but-not-default' }));
    expect(byId(v6, 'master-key')?.status).toBe('fail');
    const lan = keyChecks(config('gateway: {bind: 192.168.1.5}\n', { LITELLM_MASTER_KEY: 'sk-1234' }));
    expect(byId(lan, 'gateway-bind')).toMatchObject({ status: 'warn', message: expect.stringContaining('192.168.1.5:8000') });
    expect(byId(lan, 'master-key')?.status).toBe('fail');
  });

  it('only warns about a weak key while the gateway listens on loopback, and passes a strong exposed one with a warning', () => {
    const local = keyChecks(config('', { LITELLM_MASTER_KEY: 'sk-1234' }));
    expect(byId(local, 'gateway-bind')?.status).toBe('ok');
    expect(byId(local, 'master-key')?.status).toBe('warn');
    const open = keyChecks(config('gateway: {bind: 0.0.0.0}\n', { LITELLM_MASTER_KEY: STRONG, GRAFANA_ADMIN_PASSWORD: STRONG }));
    expect(byId(open, 'master-key')?.status).toBe('ok');
    expect(doctorVerdict(open)).toBe('ok');
  });

  it('fails a managed gateway without a master key, and leaves the key alone without one', () => {
    expect(byId(keyChecks(config('', {})), 'master-key')?.status).toBe('fail');
    expect(byId(keyChecks(config('gateway: {mode: none}\n', {})), 'master-key')).toBeUndefined();
  });

  it('warns about Grafana without a password, and HF_TOKEN only for gated-looking models', () => {
    const checks = keyChecks(config('', { LITELLM_MASTER_KEY: STRONG }));
    expect(byId(checks, 'grafana-password')).toMatchObject({ status: 'warn', message: expect.stringContaining('admin/admin') });
    expect(byId(checks, 'hf-token')?.status).toBe('ok');
    const gated = keyChecks(parseConfig('models:\n  - l: {model: meta-llama/Llama-3.1-8B-Instruct, gpus: none}\n', { file: '/p/m.yaml', settings: { LITELLM_MASTER_KEY: STRONG } }));
    expect(byId(gated, 'hf-token')).toMatchObject({ status: 'warn', message: expect.stringContaining('meta-llama/Llama-3.1-8B-Instruct') });
  });
});

describe('transportChecks', () => {
  it('warns, per host, about a Docker API reached over tcp:// without TLS', () => {
    const c = parseConfig(
      [
        'hosts:',
        '  plain: {endpoint: "tcp://10.0.0.9:2375"}',
        '  safe: {endpoint: "tcp://10.0.0.10:2376", tls: {ca: ca.pem, cert: cert.pem, key: key.pem}}',
        'models:',
        '  - m: {model: Qwen/Qwen3-4B, gpus: none}',
      ].join('\n'),
      { file: '/p/model_config/models.yaml' },
    );
    const checks = transportChecks(c, {});
    expect(checks).toEqual([expect.objectContaining({ id: 'docker-tls-plain', status: 'warn' })]);
    expect(checks[0]!.message).toMatch(/tcp:\/\/10\.0\.0\.9:2375.*clear text.*HF token and API keys/);
    expect(checks[0]!.hint).toMatch(/tls:.*ssh:\/\//);
  });

  it('says all is well when every Docker API is reached over TLS or SSH, and nothing without other hosts', () => {
    const c = parseConfig('hosts:\n  b: {endpoint: "ssh://root@b", allow-open-models: true}\nmodels:\n  - m: {model: x, gpus: none, host: b}\n', { file: '/p/model_config/models.yaml' });
    expect(transportChecks(c, {})).toEqual([expect.objectContaining({ id: 'docker-tls', status: 'ok' })]);
    expect(transportChecks(config('', {}), {})).toEqual([]);
    expect(transportChecks(config('', {}), { DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toEqual([expect.objectContaining({ id: 'docker-tls-local', status: 'warn' })]);
  });
});

describe('portCheck', () => {
  const want = { service: 'gateway', container: 'litellm', host: '127.0.0.1', port: 8000 };
  it('is fine when free or held by our own container, broken when anyone else holds it', () => {
    expect(portCheck(want, [], 'free').status).toBe('ok');
    expect(portCheck(want, [{ container: 'litellm', port: 8000, service: 'gateway' }], 'free').status).toBe('ok');
    expect(portCheck(want, [{ container: 'other', port: 8000 }], 'free')).toMatchObject({ status: 'fail', message: expect.stringContaining('container other') });
    // The reference tool's litellm has the name but not our label.
    expect(portCheck(want, [{ container: 'litellm', port: 8000 }], 'free').status).toBe('fail');
    expect(portCheck(want, [], 'in-use')).toMatchObject({ status: 'fail', message: expect.stringContaining('another program') });
    expect(portCheck(want, [], 'no-address').status).toBe('fail');
  });
});

describe('doctorVerdict', () => {
  const c = (id: string, status: Check['status']): Check => ({ id, title: id, status, message: '' });
  it('is ok with warnings, broken when a check fails, config-invalid before anything else', () => {
    expect(doctorVerdict([c('docker', 'ok'), c('gpus', 'warn')])).toBe('ok');
    expect(doctorVerdict([c('docker', 'fail'), c('gpus', 'warn')])).toBe('broken');
    expect(doctorVerdict([c('config', 'fail'), c('docker', 'fail')])).toBe('config-invalid');
  });
});
