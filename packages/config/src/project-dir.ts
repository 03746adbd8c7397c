import { basename, dirname, resolve } from 'node:path';
import { MAX_STACK_NAME_LENGTH } from './container-name.js';

// Apart from the parser: the CLI and the stack need these without loading yaml and valibot.

/**
 * The project directory for a models file: the parent of `model_config/` when the file is
 * `<dir>/model_config/<name>` (the reference layout), else the file's own directory.
 */
export function projectDirFor(file: string): string {
  const dir = dirname(resolve(file));
  return basename(dir) === 'model_config' ? dirname(dir) : dir;
}

/**
 * A stack's name when models.yaml gives none: the project directory's name made a valid one
 * (lower case; runs of other characters become `-`), as compose names its projects, and cut to
 * {@link MAX_STACK_NAME_LENGTH} characters (the watcher's container name must stay a host name).
 */
export function stackNameFor(projectDir: string): string {
  const trim = (text: string) => text.replace(/^[-_]+|[-_]+$/g, '');
  const name = trim(
    trim(
      basename(resolve(projectDir))
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, '-'),
    ).slice(0, MAX_STACK_NAME_LENGTH),
  );
  return name || 'default';
}
