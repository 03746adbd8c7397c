import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, parseEnvFile, stackNameFor } from '@inferstack/config';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../main.js';
import { GATEWAY_STARTER_CONFIG as STARTER_CONFIG } from '@inferstack/stack';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-init-'));
  dirs.push(dir);
  return dir;
}

async function run(cwd: string, argv: string[]) {
  let out = '';
  let err = '';
  const streams = { out: new Writable({ write: (c, _e, cb) => ((out += c), cb()) }), err: new Writable({ write: (c, _e, cb) => ((err += c), cb()) }) };
  const code = await runCli(argv, { streams, cwd, env: { HOME: cwd, INFERSTACK_HASH_KEY: 'k' } });
  return { code, out, err };
}

// The targets file is the stack's own; the stack is named after the project directory.
const targets = (dir: string) => `prometheus/targets/inferstack-${stackNameFor(dir)}.json`;
const filesOf = (dir: string) => ['model_config/models.yaml', '.env', 'litellm/config.yaml', targets(dir)];
const mode = (p: string) => statSync(p).mode & 0o777;
const keysOf = (dir: string) => parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'), '.env').values;

describe('serve init', () => {
  it('writes a loadable project with private files 0600, and never prints the keys', async () => {
    const cwd = tempDir();
    const r = await run(cwd, ['init', 'proj']);
    expect(r.code).toBe(0);
    const dir = join(cwd, 'proj');
    expect(mode(join(dir, '.env'))).toBe(0o600);
    expect(mode(join(dir, 'litellm/config.yaml'))).toBe(0o600);
    expect(mode(join(dir, 'model_config/models.yaml'))).toBe(0o644);
    expect(mode(join(dir, 'prometheus/targets/inferstack-proj.json'))).toBe(0o644);
    expect(readFileSync(join(dir, 'litellm/config.yaml'), 'utf8')).toBe(STARTER_CONFIG);
    const keys = keysOf(dir);
    expect(keys.LITELLM_MASTER_KEY).toMatch(/^sk-[0-9a-f]{48}$/);
    for (const k of ['LITELLM_MASTER_KEY', 'LITELLM_SALT_KEY', 'GRAFANA_ADMIN_PASSWORD']) expect(r.out + r.err).not.toContain(keys[k]);
    for (const f of filesOf(dir)) expect(r.out).toContain(f);
    expect(r.out).toMatch(/Next:\n {2}1\. cd proj\n/);
    expect(r.out).toContain('serve doctor');
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config.gateway.masterKey).toBe(keys.LITELLM_MASTER_KEY);
    expect(config.models).toHaveLength(1);
  });

  it('refuses when any file exists, names it, and writes nothing at all', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.env'), 'MINE=1\n', { mode: 0o644 });
    const r = await run(dir, ['init']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('nothing was written');
    expect(r.err).toMatch(/^ {2}\.env$/m);
    expect(r.err).toContain('--force');
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('MINE=1\n');
    for (const f of filesOf(dir).filter((f) => f !== '.env')) expect(() => statSync(join(dir, f))).toThrow();
  });

  it('--force overwrites with new keys and makes an existing .env private', async () => {
    const dir = tempDir();
    expect((await run(dir, ['init'])).code).toBe(0);
    const before = keysOf(dir);
    writeFileSync(join(dir, '.env'), 'OLD=1\n');
    chmodSync(join(dir, '.env'), 0o644);
    const r = await run(dir, ['init', '--force', '--json']);
    expect(r.code).toBe(0);
    const after = keysOf(dir);
    expect(after.LITELLM_MASTER_KEY).toMatch(/^sk-/);
    expect(after.LITELLM_MASTER_KEY).not.toBe(before.LITELLM_MASTER_KEY);
    expect(mode(join(dir, '.env'))).toBe(0o600);
    const report = JSON.parse(r.out) as { dir: string; files: Array<{ file: string; mode: string; overwritten: boolean }> };
    expect(report.dir).toBe(dir);
    expect(report.files.map((f) => [f.file, f.mode, f.overwritten])).toEqual([
      ['model_config/models.yaml', '0644', true],
      ['.env', '0600', true],
      ['litellm/config.yaml', '0600', true],
      [targets(dir), '0644', true],
    ]);
    expect(r.out).not.toContain(after.LITELLM_MASTER_KEY);
  });

  it('rejects unknown flags', async () => {
    expect((await run(tempDir(), ['init', '--forse'])).code).toBe(2);
  });
});
