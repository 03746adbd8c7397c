import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './main.js';

function capture() {
  let out = '';
  let err = '';
  const streams = {
    out: new Writable({ write: (c, _e, cb) => ((out += c), cb()) }),
    err: new Writable({ write: (c, _e, cb) => ((err += c), cb()) }),
  };
  return { streams, text: () => ({ out, err }) };
}

async function run(argv: string[]) {
  const c = capture();
  // An address where no daemon answers: commands that get past argument checks fail fast.
  const code = await runCli(argv, { streams: c.streams, env: { DOCKER_HOST: 'tcp://127.0.0.1:1', HOME: '/nonexistent' }, cwd: '/nonexistent' });
  return { code, ...c.text() };
}

describe('serve argument handling', () => {
  it('lists every command in the main help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['up', 'plan', 'stop', 'down', 'status', 'logs', 'unlock']) expect(r.out).toContain(c);
  });

  it('lists every flag of a command in its help', async () => {
    const r = await run(['up', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--force-recreate', '--force-reload', '--dry-run', '--timeout', '--json', '--model-config', '-c']) expect(r.out).toContain(f);
    const plan = await run(['plan', '--help']);
    expect(plan.out).toContain('--exit-code');
    const logs = await run(['logs', '--help']);
    for (const f of ['--follow', '-f', '--tail']) expect(logs.out).toContain(f);
    const bench = await run(['bench', '--help']);
    for (const f of ['MODEL', '--requests', '--concurrency', '--json']) expect(bench.out).toContain(f);
  });

  it('rejects unknown flags with exit 2 instead of ignoring them', async () => {
    const r = await run(['up', '--forse-recreate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown option "--forse-recreate"');
    expect((await run(['status', '-x'])).code).toBe(2);
    expect((await run(['--bogus'])).code).toBe(2);
  });

  it('rejects bad numbers and missing values with exit 2', async () => {
    expect((await run(['up', '--timeout', 'soon'])).code).toBe(2);
    expect((await run(['up', '--timeout', '-5'])).code).toBe(2);
    expect((await run(['logs', 'm', '--tail'])).code).toBe(2);
    expect((await run(['up', '-c'])).code).toBe(2);
    const logs = await run(['logs']);
    expect(logs.code).toBe(2);
    for (const argv of [['bench', '--requests', '0'], ['bench', '--concurrency', 'many'], ['bench', 'a', 'b'], ['bench', '--requests']]) expect((await run(argv)).code, argv.join(' ')).toBe(2);
    expect((await run(['bench', '--requests', '0'])).err).toContain('--requests takes a whole number ≥ 1');
  });

  it('treats "serve MODEL" and "serve serve" as "serve up" (old tool compatibility)', async () => {
    // No config here: the error names the default config path, proving it ran "up".
    for (const argv of [['qwen'], ['serve', 'qwen'], []]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/model_config\/models\.yaml/);
    }
  });

  it('refuses a stack name (-p) too long for its watcher to be a host name, before reading any file', async () => {
    const r = await run(['plan', '-p', 's'.repeat(56)]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('56 characters');
    expect(r.err).toContain('at most 55');
  });

  it('says plainly when the Docker daemon cannot be reached', async () => {
    const r = await run(['unlock']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:1/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
