// Pack the five inferstack packages as they would be published (`pnpm pack` rewrites
// `workspace:^` to versions) and install the tarballs with npm into an empty folder, as a user
// would. Plain JavaScript so that both test/packaging/pack.test.ts and bench/cli-startup.mjs use
// the same steps.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** Every published package: its folder under packages/ and its name. */
export const PACKAGES = [
  { dir: 'config', name: '@inferstack/config' },
  { dir: 'docker-ops', name: '@inferstack/docker-ops' },
  { dir: 'litellm-sync', name: '@inferstack/litellm-sync' },
  { dir: 'prometheus-sync', name: '@inferstack/prometheus-sync' },
  { dir: 'stack', name: '@inferstack/stack' },
  { dir: 'cli', name: '@inferstack/serve' },
];

/** Run a program; on failure the error carries its stdout and stderr. */
async function exec(command, args, options) {
  try {
    return await run(command, args, { maxBuffer: 64 * 1024 * 1024, ...options });
  } catch (error) {
    error.message = `${command} ${args.join(' ')} failed (in ${options.cwd}):\n${error.stdout ?? ''}\n${error.stderr ?? ''}`;
    throw error;
  }
}

/**
 * Build (unless `build: false`), pack every package into `<root>/tarballs` and `npm install` all
 * tarballs into the empty `<root>/app`. Call `cleanup()` when done.
 * @param {{ build?: boolean, log?: (line: string) => void }} [options]
 */
export async function packAndInstall(options = {}) {
  const log = options.log ?? (() => {});
  const root = await mkdtemp(join(tmpdir(), 'inferstack-pack-'));
  const cleanup = () => rm(root, { recursive: true, force: true });
  try {
    const tarballDir = join(root, 'tarballs');
    const appDir = join(root, 'app');
    await mkdir(tarballDir);
    await mkdir(appDir);

    let t = performance.now();
    const lap = (what) => {
      log(`${what} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      t = performance.now();
    };
    if (options.build ?? true) {
      await exec('pnpm', ['build'], { cwd: REPO_ROOT });
      lap('built');
    }

    /** @type {Record<string, string>} */
    const tarballs = {};
    for (const pkg of PACKAGES) {
      const cwd = join(REPO_ROOT, 'packages', pkg.dir);
      const { version } = JSON.parse(await readFile(join(cwd, 'package.json'), 'utf8'));
      await exec('pnpm', ['pack', '--pack-destination', tarballDir], { cwd });
      // npm's and pnpm's name for a scoped package's tarball.
      tarballs[pkg.name] = join(tarballDir, `${pkg.name.slice(1).replace('/', '-')}-${version}.tgz`);
    }
    lap('packed');

    await writeFile(join(appDir, 'package.json'), `${JSON.stringify({ name: 'inferstack-packaging-check', private: true, type: 'module' }, null, 2)}\n`);
    await exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...Object.values(tarballs)], {
      cwd: appDir,
      // No parent workspace, no global folders: only what the tarballs bring.
      env: { ...process.env, NODE_PATH: '' },
    });
    lap('installed');

    return { root, tarballDir, appDir, tarballs, bin: join(appDir, 'node_modules', '.bin', 'serve'), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
