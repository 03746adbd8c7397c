import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { TargetsFileError } from './errors.js';
import { type FileSdGroup, serializeTargets } from './targets.js';

/** Mode of the targets file: Prometheus usually runs as `nobody` and must read it; it holds no secrets. */
export const TARGETS_FILE_MODE = 0o644;

/** What {@link writeTargetsFile} did. */
export interface WriteTargetsResult {
  /** False when the file already had exactly this content (nothing was written). */
  changed: boolean;
  /** The file written: `path`, or the file it links to. */
  path: string;
}

/**
 * The file behind `path` when it is a symbolic link (also a dangling one, which is then
 * created), so that a link the user made stays a link and its target gets the content.
 */
async function throughLinks(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    try {
      return resolve(dirname(path), await readlink(path));
    } catch {
      return path;
    }
  }
}

/**
 * Writes the file_sd JSON for `groups` to `path`, only when its content differs, atomically: a
 * temporary file in the same directory is written, flushed and renamed over the old one, so
 * Prometheus never reads half a file. The directory is created when missing.
 *
 * Mount the *directory* into the Prometheus container, not the file: a rename replaces the
 * file's inode, and a single-file bind mount would keep showing the old one.
 *
 * The temporary name (`.<name>.<pid>.<random>.tmp`) does not end in `.json`, so a file_sd glob
 * such as `*.json` never matches it.
 *
 * @throws {TargetsFileError} the file or its directory cannot be read or written
 */
export async function writeTargetsFile(file: string, groups: readonly FileSdGroup[]): Promise<WriteTargetsResult> {
  const content = serializeTargets(groups);
  const path = await throughLinks(file);
  let current: string | undefined;
  try {
    current = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new TargetsFileError(path, { cause: error });
  }
  if (current === content) {
    // Unchanged, but a file that Prometheus cannot read is still a problem worth fixing here.
    try {
      const { mode } = await stat(path);
      if ((mode & 0o777) !== TARGETS_FILE_MODE) await chmod(path, TARGETS_FILE_MODE);
    } catch (error) {
      throw new TargetsFileError(path, { cause: error });
    }
    return { changed: false, path };
  }

  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'wx', TARGETS_FILE_MODE);
    try {
      await handle.writeFile(content, 'utf8');
      // The umask may have narrowed the mode given to open().
      await handle.chmod(TARGETS_FILE_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new TargetsFileError(path, { cause: error });
  }
  return { changed: true, path };
}
