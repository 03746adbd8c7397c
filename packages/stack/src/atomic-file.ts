import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Replace `file` with `text` atomically: a temporary file beside it, flushed, renamed over it.
 * An existing file keeps its mode unless `mode` is enforced. Returns whether it changed.
 */
export function writeAtomically(file: string, text: string, options: { mode: number; enforceMode?: boolean }): boolean {
  let mode = options.mode;
  if (existsSync(file)) {
    if (readFileSync(file, 'utf8') === text && (!options.enforceMode || (statSync(file).mode & 0o7777) === options.mode)) return false;
    if (!options.enforceMode) mode = statSync(file).mode & 0o7777;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return true;
}
