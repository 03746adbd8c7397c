import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { TargetsFileError } from './errors.js';
import { type RunningModelTarget, renderTargets, serializeTargets } from './targets.js';
import { TARGETS_FILE_MODE, writeTargetsFile } from './targets-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prometheus-sync-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const models: RunningModelTarget[] = [
  { key: 'a', address: 'inference-a:8000', servedModelName: 'A', gpus: '0' },
  { key: 'b', address: 'inference-b:8000', servedModelName: 'B', gpus: '1' },
];

describe('writeTargetsFile', () => {
  test('creates the directory and writes the serialised groups, mode 0644', async () => {
    const path = join(dir, 'nested', 'deeper', 'vllm.json');
    const groups = renderTargets(models);
    expect(await writeTargetsFile(path, groups)).toEqual({ changed: true, path });
    expect(await readFile(path, 'utf8')).toBe(serializeTargets(groups));
    expect((await stat(path)).mode & 0o777).toBe(TARGETS_FILE_MODE);
  });

  test('the same models again: changed false and the file untouched', async () => {
    const path = join(dir, 'vllm.json');
    expect((await writeTargetsFile(path, renderTargets(models))).changed).toBe(true);
    const before = await stat(path);
    // Same models in another order: same content.
    expect((await writeTargetsFile(path, renderTargets([...models].reverse()))).changed).toBe(false);
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  test('a change rewrites atomically: a new inode, no temporary file left', async () => {
    const path = join(dir, 'vllm.json');
    await writeTargetsFile(path, renderTargets(models));
    const before = await stat(path);
    expect((await writeTargetsFile(path, renderTargets(models.slice(0, 1)))).changed).toBe(true);
    expect((await stat(path)).ino).not.toBe(before.ino);
    expect(JSON.parse(await readFile(path, 'utf8'))).toHaveLength(1);
    expect(await readdir(dir)).toEqual(['vllm.json']);
  });

  test('an unreadable file with the right content gets its mode fixed', async () => {
    const path = join(dir, 'vllm.json');
    await writeFile(path, serializeTargets(renderTargets(models)));
    await chmod(path, 0o600);
    expect((await writeTargetsFile(path, renderTargets(models))).changed).toBe(false);
    expect((await stat(path)).mode & 0o777).toBe(TARGETS_FILE_MODE);
  });

  test('a path that is a directory is a TargetsFileError and leaves no temporary file', async () => {
    const path = join(dir, 'vllm.json');
    await mkdir(path);
    await expect(writeTargetsFile(path, [])).rejects.toBeInstanceOf(TargetsFileError);
    expect(await readdir(dir)).toEqual(['vllm.json']);
  });

  test('a targets file that is a symbolic link stays one: its target gets the content', async () => {
    const real = join(dir, 'shared', 'real.json');
    await mkdir(join(dir, 'shared'));
    await writeFile(real, '[]\n');
    const link = join(dir, 'vllm.json');
    await symlink(real, link);
    const groups = renderTargets(models);
    expect(await writeTargetsFile(link, groups)).toEqual({ changed: true, path: real });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toBe(serializeTargets(groups));
    // A dangling link gets its target made.
    const dangling = join(dir, 'dangling.json');
    await symlink(join(dir, 'shared', 'later.json'), dangling);
    await writeTargetsFile(dangling, groups);
    expect((await lstat(dangling)).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, 'shared', 'later.json'), 'utf8')).toBe(serializeTargets(groups));
  });
});
