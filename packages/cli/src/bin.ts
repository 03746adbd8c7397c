#!/usr/bin/env node
/**
 * The `serve` bin. It runs the CLI's program (dist/cli.cjs, one CommonJS bundle beside this
 * file) with V8's code cache: Node 20 compiles every script it loads on every run, and compiling
 * the bundle was the largest part of what `serve status` and a no-op `serve up` spent before they
 * reach Docker (docs/startup.md). The first run of a command keeps what V8 compiled for it, the
 * next runs of that command start from there.
 *
 * The cache is one file per command (each compiles other functions) in
 * `$XDG_CACHE_HOME/inferstack/code` (default `~/.cache/inferstack/code`), 0600 in a 0700
 * directory; `INFERSTACK_CODE_CACHE=0` turns it off. Its name holds the bundle's size and time,
 * this build's version, Node's version and Node's flags, so another build or another Node never
 * reads it; V8 checks it once more and rejects what does not fit (then it is made again). A file
 * that is not the user's own, or that others may write, is never read: it is code this process
 * would run. Whatever goes wrong with the cache (no home, a read-only disk) only costs the compile.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

declare const __SERVE_VERSION__: string;

/** Cache files kept (one per command and build) before the oldest are removed. */
const MAX_FILES = 48;

const bundle = join(__dirname, 'cli.cjs');
// One open: the size and time in the cache's name are those of the very bytes read.
const fd = openSync(bundle, 'r');
const info = fstatSync(fd);
// The build keeps it plain ASCII (tsup.config.ts): read as such, not decoded as UTF-8.
const source = readFileSync(fd, 'latin1');
closeSync(fd);
const cacheFile = codeCacheFile(info);
const cached = cacheFile === undefined ? undefined : readOwn(cacheFile);
// The wrapper Node's own CommonJS loader puts around a module.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: bundle,
  ...(cached ? { cachedData: cached } : {}),
});
if (cacheFile !== undefined && (cached === undefined || script.cachedDataRejected)) {
  // At exit, V8 has compiled what this command ran: keep that (the bin always ends with process.exit).
  process.once('exit', () => save(cacheFile, script));
}
const program = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(program.exports, createRequire(bundle), program, bundle, __dirname);

/** Where this command's cache of `bundle` (as `info` describes it) is kept, or undefined for none. */
function codeCacheFile(info: Stats): string | undefined {
  const env = process.env;
  if (env.INFERSTACK_CODE_CACHE === '0' || env.INFERSTACK_CODE_CACHE === 'off') return undefined;
  const root = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : undefined);
  if (!root) return undefined;
  const command = /^[a-z][a-z-]{0,31}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'serve';
  // V8 rejects a cache made under other flags (--cpu-prof, --max-old-space-size...): those get their own.
  const flags = fnv1a(`${process.execArgv.join(' ')}\0${env.NODE_OPTIONS ?? ''}`);
  const build = `${__SERVE_VERSION__}-${info.size}-${Math.trunc(info.mtimeMs)}-${process.version}-${process.arch}-${flags}`.replace(/[^A-Za-z0-9.-]/g, '_');
  return join(root, 'inferstack', 'code', `${build}-${command}.v8`);
}

/** A short hash of `text` (FNV-1a, 32 bits): a name, not a secret; node:crypto would cost more to load. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16);
}

/** The file, if it is this user's own and nobody else may write it. */
function readOwn(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const info = fstatSync(fd);
    if ((process.getuid && info.uid !== process.getuid()) || (info.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * `mkdir -p`, one directory at a time: Node's recursive mkdir loops for ever where a parent
 * exists and mkdir still says ENOENT (a home in /proc); here any error but EEXIST ends it.
 */
function makeDirs(dir: string): void {
  let path = '';
  for (const part of dir.split('/')) {
    path = path === '' && part === '' ? '/' : join(path, part);
    if (part === '') continue;
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function save(file: string, compiled: Script): void {
  try {
    const dir = join(file, '..');
    makeDirs(dir);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, compiled.createCachedData(), { mode: 0o600 });
    renameSync(tmp, file);
    const files = readdirSync(dir).filter((f) => f.endsWith('.v8'));
    if (files.length > MAX_FILES) {
      const byAge = files.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
      for (const { f } of byAge.slice(0, files.length - MAX_FILES)) unlinkSync(join(dir, f));
    }
  } catch {
    // A cache that cannot be written is no cache: the next run compiles again.
  }
}
