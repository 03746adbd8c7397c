// What the benchmarks that compare builds of `serve` side by side share: which builds to run,
// and removing everything a bench made.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join, resolve } from 'node:path';

/**
 * The builds to measure, from `--serve [NAME=]PATH` (repeatable; none: the checkout at `root`).
 * PATH is a checkout (its packages/cli/dist/serve.cjs, or cli.js in builds before the bin loaded its
 * bundle with V8's code cache) or such a file; NAME labels it (default: the
 * checkout's folder name). Throws when a build is missing or two have the same name.
 */
export function buildsFrom(specs, root) {
  const buildOf = (spec) => {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : undefined;
    const path = resolve(eq > 0 ? spec.slice(eq + 1) : spec);
    const dist = join(path, 'packages/cli/dist');
    const cli = existsSync(path) && statSync(path).isDirectory() ? (existsSync(join(dist, 'serve.cjs')) ? join(dist, 'serve.cjs') : join(dist, 'cli.js')) : path;
    if (!existsSync(cli)) throw new Error(`--serve ${spec}: ${cli} does not exist (build that checkout: pnpm install --frozen-lockfile && pnpm build)`);
    return { name: name ?? basename(cli === path ? resolve(path, '../../../..') : path), cli };
  };
  const builds = (specs.length ? specs : [root]).map(buildOf);
  if (new Set(builds.map((b) => b.name)).size !== builds.length) throw new Error('two --serve builds have the same name: give them names, NAME=PATH');
  return builds;
}

/**
 * Remove every container (with its anonymous volumes), network and volume carrying `label`, then
 * the folder `dir` if given. `docker(...args)` runs the docker CLI and returns its stdout.
 */
export async function sweep({ docker, label, log }, dir) {
  const list = async (...args) => (await docker(...args, '--filter', `label=${label}`).catch(() => '')).split('\n').filter(Boolean);
  const ids = await list('ps', '-aq');
  if (ids.length) await docker('rm', '-f', '-v', ...ids).catch((e) => log(`cleanup: ${e.message}`));
  const nets = await list('network', 'ls', '-q');
  if (nets.length) await docker('network', 'rm', ...nets).catch((e) => log(`cleanup: ${e.message}`));
  const vols = await list('volume', 'ls', '-q');
  if (vols.length) await docker('volume', 'rm', ...vols).catch((e) => log(`cleanup: ${e.message}`));
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/**
 * On Ctrl-C or SIGTERM: `onSignal()`, tell the running `serve` (`child()`, if any) to stop and
 * give it 15 s to remove its own work (it got the same Ctrl-C from the terminal), then
 * `cleanup()` (what the bench made) and exit 130.
 */
export function cleanUpOnInterrupt({ log, child, cleanup, onSignal }) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      onSignal();
      log(`\n${signal}: removing what the bench created...`);
      const c = child();
      if (c) {
        c.kill('SIGINT');
        await Promise.race([new Promise((r) => c.once('close', r)), new Promise((r) => setTimeout(r, 15_000))]);
      }
      await cleanup();
      process.exit(130);
    });
  }
}

/** A free TCP port on 127.0.0.1 (for a gateway a bench publishes). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * Run `serve` (the build at `cli`) in the project folder `dir`, every container labelled `label`:
 * `run(args)` resolves `{ code, stdout, stderr }` and never rejects; `child()` is the one running
 * (for `cleanUpOnInterrupt`); after `stop()` nothing new starts.
 */
export function serveIn({ cli, dir, label }) {
  let child;
  let stopped = false;
  const run = (args) =>
    new Promise((res) => {
      if (stopped) return res({ code: 130, stdout: '', stderr: '' });
      child = spawn(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, INFERSTACK_LABELS: label, INFERSTACK_HASH_KEY: 'bench', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => {
        child = undefined;
        res({ code: code ?? -1, stdout, stderr });
      });
    });
  return { run, child: () => child, stop: () => (stopped = true) };
}

/** A line on stderr (benchmarks keep stdout for `--json`). */
export const log = (text) => process.stderr.write(`${text}\n`);

/** The docker CLI: `await docker('ps', '-q')` resolves its stdout, trimmed; a non-zero exit rejects. */
export function dockerCli({ timeoutMs = 120_000 } = {}) {
  return async (...args) =>
    new Promise((res, rej) => {
      const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => {
        clearTimeout(timer);
        code === 0 ? res(out.trim()) : rej(new Error(`docker ${args[0]} exited ${code}: ${err.trim()}`));
      });
    });
}

/** The whole number ≥ `min` of option `--name` in parseArgs' `values`; throws naming the option. */
export function wholeOption(values, name, min = 1) {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes a whole number ≥ ${min}, not "${values[name]}"`);
  return n;
}

/** The median of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
