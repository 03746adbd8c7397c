import { chmodSync, existsSync, readFileSync } from 'node:fs';
import type { StackContext } from '../context.js';
import type { ServiceFile } from './types.js';

export type { ServiceFile } from './types.js';
import { writeAtomically } from '../atomic-file.js';

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
