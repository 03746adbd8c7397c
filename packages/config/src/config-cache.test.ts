import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadConfigOptions } from './index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createConfigLoader } from './config-cache.js';

const SECRET = 'sk-cache-secret-9f8e7d6c5b4a';
const LITERAL = 'literal-token-0a1b2c3d4e5f';

describe('the cache of parsed configs', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function project() {
    const dir = mkdtempSync(join(tmpdir(), 'inferstack-cache-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'model_config'));
    const models = (extra = '') =>
      writeFileSync(
        join(dir, 'model_config', 'models.yaml'),
        `models:\n  - a:\n      model: test/a\n      gpus: none\n      api-key: \${A_API_KEY}\n      env: {MY_SERVICE_TOKEN: "${LITERAL}"}\n${extra}`,
      );
    models();
    writeFileSync(join(dir, '.env'), `LITELLM_MASTER_KEY=${SECRET}\nA_API_KEY=${SECRET}-a\n`);
    const cache = join(dir, 'cache');
    let parses = 0;
    const env: NodeJS.ProcessEnv = { HOME: dir };
    const loader = createConfigLoader({
      env,
      dir: cache,
      parse: (o) => {
        parses++;
        return loadConfig(o);
      },
    });
    const load = (o: Partial<LoadConfigOptions> = {}) => loader({ cwd: dir, env, hashKey: 'k1', homeDir: dir, ...o });
    return { dir, cache, env, load, models, parses: () => parses };
  }

  it('parses once, then answers from the cache with the same config as a fresh parse', async () => {
    const p = project();
    const first = await p.load();
    const second = await p.load();
    expect(p.parses()).toBe(1);
    expect(second).toEqual(first);
    expect(second).toEqual(await loadConfig({ cwd: p.dir, env: p.env, hashKey: 'k1', homeDir: p.dir }));
  });

  it('makes the spec hashes with the key asked for, without parsing again', async () => {
    const p = project();
    await p.load();
    const other = await p.load({ hashKey: 'k2' });
    expect(p.parses()).toBe(1);
    expect(other.models[0]!.specHash).toBe((await loadConfig({ cwd: p.dir, env: p.env, hashKey: 'k2', homeDir: p.dir })).models[0]!.specHash);
  });

  it('parses again when models.yaml, .env, an environment variable they name, or the home changes', async () => {
    const p = project();
    await p.load();
    p.models('  - b: {model: test/b, gpus: none}\n');
    expect((await p.load()).models.map((m) => m.key)).toEqual(['a', 'b']);
    expect(p.parses()).toBe(2);
    writeFileSync(join(p.dir, '.env'), `LITELLM_MASTER_KEY=${SECRET}\nA_API_KEY=${SECRET}-changed\n`);
    expect((await p.load()).models[0]!.apiKey).toBe(`${SECRET}-changed`);
    expect(p.parses()).toBe(3);
    p.env.A_API_KEY = 'from-the-environment';
    expect((await p.load()).models[0]!.apiKey).toBe('from-the-environment');
    expect(p.parses()).toBe(4);
    p.env.UNRELATED_VARIABLE = 'x';
    await p.load();
    expect(p.parses()).toBe(4);
    await p.load({ homeDir: join(p.dir, 'elsewhere') });
    expect(p.parses()).toBe(5);
  });

  it('never holds a secret in plain text; its files are 0600 in a 0700 directory', async () => {
    const p = project();
    await p.load();
    expect((statSync(p.cache).mode & 0o777).toString(8)).toBe('700');
    const files = readdirSync(p.cache);
    expect(files.length).toBe(2);
    for (const f of files) {
      const bytes = readFileSync(join(p.cache, f));
      expect((statSync(join(p.cache, f)).mode & 0o777).toString(8), f).toBe('600');
      for (const s of [SECRET, LITERAL, 'test/a']) {
        expect(bytes.includes(s), `${f} holds ${s}`).toBe(false);
        expect(bytes.toString('latin1')).not.toContain(s.slice(-12));
      }
    }
  });

  it('keeps no invalid config: every run reports the problems', async () => {
    const p = project();
    writeFileSync(join(p.dir, 'model_config', 'models.yaml'), 'models:\n  - a: {gpus: none}\n');
    await expect(p.load()).rejects.toThrow(/has no "model:"/);
    await expect(p.load()).rejects.toThrow(/has no "model:"/);
    expect(p.parses()).toBe(2);
  });

  it('is a miss, never an error, when the cache cannot be written or read', async () => {
    const p = project();
    writeFileSync(p.cache, 'a file where the directory should be');
    const loader = createConfigLoader({ env: p.env, dir: p.cache });
    const config = await loader({ cwd: p.dir, env: p.env, hashKey: 'k1', homeDir: p.dir });
    expect(config.models[0]!.key).toBe('a');
    const off = createConfigLoader({ env: { ...p.env, INFERSTACK_CONFIG_CACHE: '0' }, dir: join(p.dir, 'off') });
    await off({ cwd: p.dir, env: { ...p.env, INFERSTACK_CONFIG_CACHE: '0' }, hashKey: 'k1', homeDir: p.dir });
    expect(() => readdirSync(join(p.dir, 'off'))).toThrow();
  });
});
