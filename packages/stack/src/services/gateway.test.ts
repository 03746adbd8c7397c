import { parseConfig } from '@inferstack/config';
import { describe, expect, it } from 'vitest';
import { databaseServiceSpec, gatewayServiceSpec, needsManagedDatabase } from './gateway.js';

const load = (yaml: string, settings: Record<string, string>) => parseConfig(yaml, { file: '/p/model_config/models.yaml', projectDir: '/p', settings });

describe('the gateway database in API mode', () => {
  const settings = { LITELLM_MASTER_KEY: 'sk-master-0123456789abcdef0123456789', LITELLM_DB_PASSWORD: 'db-pass-9f8e7d6c5b4a' };

  it('runs a Postgres for a managed gateway in API mode and points LiteLLM at it', () => {
    const config = load('gateway: {sync: api}\nmodels:\n  a: {model: x, gpus: none}\n', settings);
    expect(needsManagedDatabase(config)).toBe(true);
    const db = databaseServiceSpec(config);
    expect(db).toMatchObject({ name: 'litellm-db', kind: 'gateway-db', binds: ['litellm-db-data:/var/lib/postgresql/data'] });
    expect(db.secretEnv?.POSTGRES_PASSWORD).toBe(settings.LITELLM_DB_PASSWORD);
    const gw = gatewayServiceSpec(config);
    expect(gw.env?.STORE_MODEL_IN_DB).toBe('True');
    expect(gw.secretEnv?.DATABASE_URL).toBe(`postgresql://litellm:${settings.LITELLM_DB_PASSWORD}@litellm-db:5432/litellm`);
    // The password travels only as secret environment, never in arguments.
    expect(JSON.stringify([gw.cmd, db.cmd, gw.env, db.env])).not.toContain(settings.LITELLM_DB_PASSWORD);
  });

  it("uses the user's own DATABASE_URL instead, and needs no database in config-file mode", () => {
    const own = load('gateway: {sync: api}\nmodels:\n  a: {model: x, gpus: none}\n', { ...settings, DATABASE_URL: 'postgresql://u:p@db.example:5432/l' });
    expect(needsManagedDatabase(own)).toBe(false);
    expect(gatewayServiceSpec(own).secretEnv?.DATABASE_URL).toBe('postgresql://u:p@db.example:5432/l');
    expect(needsManagedDatabase(load('models:\n  a: {model: x, gpus: none}\n', settings))).toBe(false);
  });

  it("takes the reference tool's POSTGRES_IMAGE and POSTGRES_PASSWORD (and ours, LITELLM_DB_IMAGE)", () => {
    const yaml = 'gateway: {sync: api}\nmodels:\n  a: {model: x, gpus: none}\n';
    const old = { LITELLM_MASTER_KEY: settings.LITELLM_MASTER_KEY, POSTGRES_PASSWORD: 'pg-pass-0a1b2c3d4e5f', POSTGRES_IMAGE: 'postgres:16.9-alpine' };
    const db = databaseServiceSpec(load(yaml, old));
    expect(db.image).toBe('postgres:16.9-alpine');
    expect(db.secretEnv).toEqual({ POSTGRES_PASSWORD: old.POSTGRES_PASSWORD });
    expect(gatewayServiceSpec(load(yaml, old)).secretEnv?.DATABASE_URL).toBe(`postgresql://litellm:${old.POSTGRES_PASSWORD}@litellm-db:5432/litellm`);
    expect(databaseServiceSpec(load(yaml, { ...settings, LITELLM_DB_IMAGE: 'postgres:16.8-alpine' })).image).toBe('postgres:16.8-alpine');
    expect(databaseServiceSpec(load(yaml, settings)).image).toBe('postgres:16-alpine');
  });

  it('asks for POSTGRES_PASSWORD (or LITELLM_DB_PASSWORD) with a generated one in the hint when it is missing', () => {
    const config = load('gateway: {sync: api}\nmodels:\n  a: {model: x, gpus: none}\n', { LITELLM_MASTER_KEY: settings.LITELLM_MASTER_KEY });
    expect(() => databaseServiceSpec(config)).toThrow(/POSTGRES_PASSWORD \(or LITELLM_DB_PASSWORD\)/);
  });
});

describe('the gateway container', () => {
  const keys = { LITELLM_MASTER_KEY: 'sk-master-0123456789abcdef0123456789' };
  const models = 'models:\n  a: {model: x, gpus: none}\n';

  it("runs LITELLM_IMAGE, and the admin UI login from LITELLM_USERNAME / LITELLM_PASSWORD as LiteLLM's UI_USERNAME / UI_PASSWORD", () => {
    const gw = gatewayServiceSpec(load(models, { ...keys, LITELLM_IMAGE: 'ghcr.io/berriai/litellm:v1.84.1', LITELLM_USERNAME: 'ops', LITELLM_PASSWORD: 'ui-pass-0123456789' }));
    expect(gw.image).toBe('ghcr.io/berriai/litellm:v1.84.1');
    expect(gw.env?.UI_USERNAME).toBe('ops');
    expect(gw.secretEnv?.UI_PASSWORD).toBe('ui-pass-0123456789');
    expect(JSON.stringify([gw.env, gw.cmd])).not.toContain('ui-pass-0123456789');
  });

  it("leaves LiteLLM's defaults alone when no login is configured (an empty UI_PASSWORD would be a password)", () => {
    const gw = gatewayServiceSpec(load(models, { ...keys, LITELLM_PASSWORD: '' }));
    expect(gw.env).not.toHaveProperty('UI_USERNAME');
    expect(gw.secretEnv).not.toHaveProperty('UI_PASSWORD');
    expect(gw.image).toBe('ghcr.io/berriai/litellm:v1.108.14');
  });
});
