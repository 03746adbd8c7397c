import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Check } from '@inferstack/stack';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../main.js';

const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id);

describe('serve doctor', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function run(files: Record<string, string>, argv: string[] = ['doctor', '--json']) {
    const dir = mkdtempSync(join(tmpdir(), 'inferstack-doctor-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    let out = '';
    let err = '';
    const streams = { out: new Writable({ write: (c, _e, cb) => ((out += c), cb()) }), err: new Writable({ write: (c, _e, cb) => ((err += c), cb()) }) };
    // No daemon answers there: the daemon check fails, the others still run.
    const code = await runCli(argv, { streams, cwd: dir, env: { DOCKER_HOST: 'tcp://127.0.0.1:1', INFERSTACK_HASH_KEY: 'k', HOME: dir } });
    return { code, out, err };
  }

  it('exits 2 on an invalid config and lists its problems, still checking the daemon', async () => {
    const r = await run({ 'model_config/models.yaml': 'models:\n  - a: {gpus: [0]}\n' });
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { ok: boolean; checks: Check[] };
    expect(report.ok).toBe(false);
    expect(byId(report.checks, 'config')).toMatchObject({ status: 'fail', details: [expect.stringContaining('has no "model:"')] });
    expect(byId(report.checks, 'docker')).toMatchObject({ status: 'fail', message: expect.stringContaining('tcp://127.0.0.1:1 (from DOCKER_HOST)') });
  });

  it('exits 1 when the daemon is unreachable, and never prints a secret', async () => {
    const r = await run(
      {
        'model_config/models.yaml': 'gateway: {bind: 0.0.0.0}\nmonitoring: {mode: none}\nmodels:\n  - a: {model: m/a, gpus: none}\n',
        '.env': 'LITELLM_MASTER_KEY=sk-1234\nHF_TOKEN=hf_do_not_print_me_123\n',
      },
      ['doctor'],
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✖ docker +no daemon answers/);
    expect(r.out).toMatch(/✖ master key +LITELLM_MASTER_KEY is a well-known default/);
    expect(r.out).toMatch(/! gateway bind +published on all interfaces/);
    expect(r.out + r.err).not.toContain('hf_do_not_print_me_123');
    expect(r.out + r.err).not.toContain('sk-1234');
  });
});
