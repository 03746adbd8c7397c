import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StackContext } from '../context.js';

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
}

/** The files that differ from what is on disk now, or are missing. Reads, never writes. */
export function pendingFiles(files: readonly ServiceFile[]): ServiceFile[] {
  return files.filter((f) => !existsSync(f.path) || readFileSync(f.path, 'utf8') !== f.text);
}

/** Write the files that differ (see {@link pendingFiles}) and say so; returns those written. */
export function writeServiceFiles(ctx: Pick<StackContext, 'emit'>, files: readonly ServiceFile[]): ServiceFile[] {
  const pending = pendingFiles(files);
  for (const f of files) {
    if (pending.includes(f)) {
      mkdirSync(dirname(f.path), { recursive: true, mode: 0o755 });
      writeFileSync(f.path, f.text, { mode: f.mode });
      if (f.what) ctx.emit({ type: 'file-written', path: f.path, what: f.what });
    }
    if (f.enforceMode) chmodSync(f.path, f.mode);
  }
  return pending;
}
