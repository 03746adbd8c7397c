// The bin (dist/serve.cjs) runs dist/cli.cjs with V8's code cache, one file per command in
// $XDG_CACHE_HOME/inferstack/code. What a user must be able to count on: the first run keeps
// the cache, later runs use it without writing it again, a cache that is not the user's own (or
// that others may write) or that V8 rejects is never used and is made anew, and
// INFERSTACK_CODE_CACHE=0 keeps none. No daemon is needed: `serve --help` and `serve --version`.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI } from './_harness.js';

const run = promisify(execFile);

describe('the code cache of the bin', () => {
  let home: string;
  const dir = () => join(home, 'inferstack', 'code');
  const files = () => (existsSync(dir()) ? readdirSync(dir()).filter((f) => f.endsWith('.v8')) : []);
  const serve = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: home, XDG_CACHE_HOME: home, NO_COLOR: '1', ...env } });

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'inferstack-code-cache-'));
  });
  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it('is kept by the first run of a command, private to the user, and used as it is by the next', async () => {
    const first = await serve(['--help']);
    expect(first.stdout).toContain('status');
    expect(files()).toHaveLength(1);
    const [file] = files();
    expect(file).toMatch(/-serve\.v8$/);
    expect(statSync(dir()).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir(), file!)).mode & 0o777).toBe(0o600);
    const made = statSync(join(dir(), file!)).mtimeMs;

    // Accepted by V8: not written again.
    const second = await serve(['--help']);
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(join(dir(), file!)).mtimeMs).toBe(made);

    // Another command compiles other functions: a file of its own.
    await serve(['status', '--help']);
    expect(files().filter((f) => f.endsWith('-status.v8'))).toHaveLength(1);
  });

  it('is never used when others may write it or V8 rejects it, and is made anew', async () => {
    await serve(['--version']);
    const path = join(dir(), files()[0]!);
    // Not V8's data at all; the run must still work and replace it.
    writeFileSync(path, 'not a code cache');
    chmodSync(path, 0o666);
    const { stdout } = await serve(['--version']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).size).toBeGreaterThan(1000);

    writeFileSync(path, 'not a code cache either');
    await serve(['--version']);
    expect(statSync(path).size).toBeGreaterThan(1000);
  });

  it('is not kept with INFERSTACK_CODE_CACHE=0, nor without a cache directory', async () => {
    await serve(['--help'], { INFERSTACK_CODE_CACHE: '0' });
    expect(files()).toEqual([]);
    const { stdout } = await run(process.execPath, [CLI, '--help'], { env: { PATH: process.env.PATH, NO_COLOR: '1' } });
    expect(stdout).toContain('status');
  });

  it('is kept apart for other Node flags (V8 rejects a cache made under other flags)', async () => {
    await serve(['--version']);
    await serve(['--version'], { NODE_OPTIONS: '--max-old-space-size=2048' });
    expect(files()).toHaveLength(2);
  });
});
