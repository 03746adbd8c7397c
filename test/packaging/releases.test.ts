// Releases reach users: `@inferstack/serve` carries its own copy of the libraries (its bin is one
// bundle), so a fix released in a library must also release serve, or the bin users run keeps the
// old code. Changesets decides what a changeset releases; this asks it, with `pnpm changeset
// status`, on a copy of the workspace's manifests and changesets config that holds one changeset.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGES, REPO_ROOT } from './_pack-install.mjs';

const run = promisify(execFile);

/** The libraries serve bundles: every published package but serve itself. */
const LIBRARIES = PACKAGES.filter((p) => p.name !== '@inferstack/serve');

let root = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'inferstack-releases-'));
  // What changesets reads: the root manifest, the workspace file, its config, and every
  // workspace package's manifest (as they are in this checkout).
  for (const file of ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json']) await cp(join(REPO_ROOT, file), join(root, file), { recursive: true });
  const workspace = ['examples/stack-api', ...PACKAGES.map((p) => `packages/${p.dir}`)];
  for (const dir of workspace) {
    await mkdir(join(root, dir), { recursive: true });
    await cp(join(REPO_ROOT, dir, 'package.json'), join(root, dir, 'package.json'));
  }
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  // `changeset status` compares with the base branch: a repository whose `main` is this state.
  const git = (...args: string[]) => run('git', args, { cwd: root });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'workspace');
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** The release plan `pnpm changeset status` computes with exactly one changeset. */
async function releasesFor(frontmatter: Record<string, 'patch' | 'minor'>): Promise<Array<{ name: string; type: string; newVersion: string }>> {
  const changeset = join(root, '.changeset', 'a-library-fix.md');
  const lines = Object.entries(frontmatter).map(([name, bump]) => `"${name}": ${bump}`);
  await writeFile(changeset, ['---', ...lines, '---', '', 'A fix.', ''].join('\n'));
  try {
    await run('pnpm', ['changeset', 'status', '--output', 'plan.json'], { cwd: root, env: { ...process.env, CI: 'true' } });
    return (JSON.parse(await readFile(join(root, 'plan.json'), 'utf8')) as { releases: Array<{ name: string; type: string; newVersion: string }> }).releases;
  } finally {
    await rm(changeset, { force: true });
    await rm(join(root, 'plan.json'), { force: true });
  }
}

describe('a changeset on a library serve bundles', () => {
  it('a patch on @inferstack/stack also releases @inferstack/serve (patch)', async () => {
    const releases = await releasesFor({ '@inferstack/stack': 'patch' });
    expect(releases).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: '@inferstack/stack', type: 'patch' }),
        expect.objectContaining({ name: '@inferstack/serve', type: 'patch' }),
      ]),
    );
  }, 60_000);

  it.each(LIBRARIES.filter((p) => p.name !== '@inferstack/stack').map((p) => p.name))('a patch on %s releases serve, and no library that does not bundle it', async (name) => {
    const releases = await releasesFor({ [name]: 'patch' });
    const released = releases.filter((r) => r.type !== 'none').map((r) => r.name);
    expect(released).toContain('@inferstack/serve');
    // The libraries depend on each other by range (`workspace:^`): a patch is in range, so they
    // are not released for it; npm gives their users the fix.
    expect(released.filter((n) => n !== name && n !== '@inferstack/serve')).toEqual([]);
  }, 60_000);

  it('a change to serve alone releases serve alone', async () => {
    const releases = await releasesFor({ '@inferstack/serve': 'patch' });
    expect(releases.filter((r) => r.type !== 'none').map((r) => r.name)).toEqual(['@inferstack/serve']);
  }, 60_000);
});
