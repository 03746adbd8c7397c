import { chmodSync, existsSync, readFileSync } from 'node:fs';
import type { StackContext } from '../context.js';
import { writeAtomically } from '../gateway/files.js';

/**
 * A file a service mounts (its config, a key, provisioning), as `up` writes it. Services say
 * what their files should hold instead of writing them, so that `plan` can tell which would
 * change (and whether the service reloads) without writing anything, and `up` writes exactly those.
 */
export interface ServiceFile {
  /** Where it lives on this machine. */
  path: string;
  /** What it holds once written. */
  text: string;
  /** Its mode when created. */
  mode: number;
  /** Also set the mode of an existing file (one that holds a key). @default false */
  enforceMode?: boolean;
  /** What it is, for the `file-written` event; files without are written silently. */
  what?: string;
  /** A kept container must reload when this file changed (see `ServiceDefinition.reload`). @default true */
  reload?: boolean;
  /**
   * A file others write too (the gateway's config file): its text is computed again from the
   * file as it is at the moment of writing, under `lock`, so that nothing written meanwhile is lost.
   */
  recompute?: (current: string | undefined) => Promise<string>;
  /** Held around a {@link recompute}d write. */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The files that differ from what is on disk now, or are missing. Reads, never writes. */
export function pendingFiles(files: readonly ServiceFile[]): ServiceFile[] {
  return files.filter((f) => !existsSync(f.path) || readFileSync(f.path, 'utf8') !== f.text);
}

/**
 * Write the files that differ (see {@link pendingFiles}), each replaced by rename (a process
 * killed meanwhile leaves the old file or the new one, never half of one), and say so; returns
 * those written.
 */
export async function writeServiceFiles(ctx: Pick<StackContext, 'emit'>, files: readonly ServiceFile[]): Promise<ServiceFile[]> {
  const written: ServiceFile[] = [];
  for (const f of files) {
    const write = async () => {
      const text = f.recompute ? await f.recompute(existsSync(f.path) ? readFileSync(f.path, 'utf8') : undefined) : f.text;
      return writeAtomically(f.path, text, { mode: f.mode });
    };
    if (await (f.lock ? f.lock(write) : write())) {
      written.push(f);
      if (f.what) ctx.emit({ type: 'file-written', path: f.path, what: f.what });
    }
    if (f.enforceMode) chmodSync(f.path, f.mode);
  }
  return written;
}
