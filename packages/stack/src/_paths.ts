import { isAbsolute, relative } from 'node:path';

/** A path as messages show it: relative to `cwd` when inside it. @internal */
export function shownPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
