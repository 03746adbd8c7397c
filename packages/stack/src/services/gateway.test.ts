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

  it('asks for LITELLM_DB_PASSWORD with a generated one in the hint when it is missing', () => {
    const config = load('gateway: {sync: api}\nmodels:\n  a: {model: x, gpus: none}\n', { LITELLM_MASTER_KEY: settings.LITELLM_MASTER_KEY });
    expect(() => databaseServiceSpec(config)).toThrow(/LITELLM_DB_PASSWORD/);
  });
});
