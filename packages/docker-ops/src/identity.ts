import { randomBytes } from 'node:crypto';
import type { DockerClient } from './client.js';
import { DockerApiError } from './errors.js';
import { LABEL_KIND, LABEL_STACK } from './labels.js';
import { LOCK_IMAGE, ensureLockImage } from './lock.js';

/** Label of a stack's identity container: the ids of old-tool containers the stack adopted. */
export const LABEL_CLAIMS = 'inferstack.claims';

/**
 * What belongs to a stack rather than to whoever runs `serve`: the key of the keyed secret
 * digests in spec hashes, the home directory `~` means in its config, and the containers of the
 * old tool it adopted. Kept in Docker, so the same config on the same daemon plans the same
 * under any user, `sudo`, CI or a library caller.
 */
export interface StackIdentity {
  stack: string;
  hashKey: string;
  /** The home directory `~` stands for in this stack's config (that of the first `up`). */
  home: string;
  /** Short ids (12 hex) of containers without a stack label that this stack adopted. */
  claims: string[];
  /** The identity container's id. */
  id: string;
}

/**
 * The identity lives in the environment of a container that is created and never started
 * (from the tiny lock image): one inspect reads it, creating a named container is atomic, and
 * it is visible only to those who can read every container's environment anyway.
 */
export function identityContainerName(stack: string): string {
  return `inferstack-stack-${stack}`;
}

const ENV_KEY = 'INFERSTACK_HASH_KEY';
const ENV_HOME = 'INFERSTACK_HOME';

function fromInspect(stack: string, info: { Id: string; Config: { Env?: string[] | null; Labels?: Record<string, string> | null } }): StackIdentity | undefined {
  const env = new Map((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const hashKey = env.get(ENV_KEY);
  const home = env.get(ENV_HOME);
  if (!hashKey || !home) return undefined;
  const claims = (info.Config.Labels?.[LABEL_CLAIMS] ?? '').split(',').filter(Boolean);
  return { stack, hashKey, home, claims, id: info.Id };
}

/**
 * The names a copy of the identity can have while {@link claimContainers} replaces it: the
 * replacement is made beside it (`.next`), the old one is put aside (`.old`) before the new one
 * takes its name, and only then removed. A `.` is in no stack name, so these never collide with
 * another stack's identity; `-next` is where versions before these copies made the replacement.
 */
function copyNames(stack: string): { next: string; aside: string; legacyNext: string } {
  const name = identityContainerName(stack);
  return { next: `${name}.next`, aside: `${name}.old`, legacyNext: `${name}-next` };
}

type Inspected = Awaited<ReturnType<ReturnType<DockerClient['getContainer']>['inspect']>>;

async function inspectIdentity(docker: DockerClient, stack: string, name: string): Promise<StackIdentity | undefined> {
  let info: Inspected;
  try {
    info = await docker.getContainer(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError(`cannot read the identity of stack ${stack}`, error);
  }
  // `-next` of stack x is the identity of a stack named `x-next`: only our own copies count.
  if (info.Config.Labels?.[LABEL_STACK] !== stack) return undefined;
  return fromInspect(stack, info);
}

/**
 * The copies of the identity left by a replacement that did not finish (killed, or the daemon
 * failed a call), newest first: the one made beside it, then the one put aside.
 */
async function identityCopies(docker: DockerClient, stack: string): Promise<StackIdentity[]> {
  const names = copyNames(stack);
  const found = await Promise.all([names.next, names.legacyNext, names.aside].map((n) => inspectIdentity(docker, stack, n)));
  return found.filter((x): x is StackIdentity => x !== undefined);
}

/**
 * A stack's identity, when it has one (its first `up` makes it). When a replacement of it
 * stopped half-way, the copy it left is the identity: it has the same key, so nothing looks
 * changed (one inspect when nothing was left half-way).
 */
export async function readStackIdentity(docker: DockerClient, stack: string): Promise<StackIdentity | undefined> {
  const current = await inspectIdentity(docker, stack, identityContainerName(stack));
  if (current) return current;
  return (await identityCopies(docker, stack))[0];
}

async function createIdentity(
  docker: DockerClient,
  name: string,
  identity: Omit<StackIdentity, 'id'>,
  extraLabels: Record<string, string>,
): Promise<string> {
  const container = await docker.createContainer({
    name,
    Image: LOCK_IMAGE,
    Cmd: ['identity'],
    Env: [`${ENV_KEY}=${identity.hashKey}`, `${ENV_HOME}=${identity.home}`],
    Labels: { ...extraLabels, [LABEL_KIND]: 'identity', [LABEL_STACK]: identity.stack, [LABEL_CLAIMS]: identity.claims.join(',') },
  });
  return container.id;
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Remove a container by id or name; one that is gone already is fine. */
async function removeIfThere(docker: DockerClient, idOrName: string): Promise<void> {
  try {
    await docker.getContainer(idOrName).remove({ force: true });
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

/**
 * Bring the identity back to one container of its own name: a copy left half-way through a
 * replacement is renamed into place (the newest one), the others are removed. Returns the
 * identity (undefined when there is none at all) and the claims the removed copies of its key
 * held: a copy made beside it holds the claims of a run that was cut off, which are true.
 */
async function settleIdentity(docker: DockerClient, stack: string): Promise<{ identity?: StackIdentity; leftClaims: string[] }> {
  const name = identityContainerName(stack);
  let current = await inspectIdentity(docker, stack, name);
  const copies = await identityCopies(docker, stack);
  if (!current && copies[0]) {
    try {
      await docker.getContainer(copies[0].id).rename({ name });
      current = { ...copies[0] };
    } catch (error) {
      // Another run put one in place first: that one is the identity.
      if (statusOf(error) !== 409 && statusOf(error) !== 404) throw new DockerApiError(`cannot restore the identity of stack ${stack}`, error);
      current = await inspectIdentity(docker, stack, name);
      if (!current) throw new DockerApiError(`cannot restore the identity of stack ${stack}`, error);
    }
  }
  if (!current) return { leftClaims: [] };
  // Only once one holds the name: the leftovers go.
  const left = copies.filter((c) => c.id !== current.id);
  for (const copy of left) await removeIfThere(docker, copy.id);
  return { identity: current, leftClaims: left.filter((c) => c.hashKey === current.hashKey).flatMap((c) => c.claims) };
}

/**
 * The stack's identity, made now when it has none: with `seed.hashKey` (a key the stack used
 * before identities existed, so that nothing looks changed) or a new random key, and
 * `seed.home`. A copy left by a replacement that did not finish is put back in place: a new key
 * is made only when no copy of the identity exists at all. Two runs making it at once agree:
 * the second reads the first's.
 */
export async function ensureStackIdentity(
  docker: DockerClient,
  stack: string,
  seed: { hashKey?: string; home: string; extraLabels?: Record<string, string> },
): Promise<StackIdentity> {
  const existing = await inspectIdentity(docker, stack, identityContainerName(stack));
  if (existing) return existing;
  const settled = (await settleIdentity(docker, stack)).identity;
  if (settled) return settled;
  await ensureLockImage(docker);
  const identity = { stack, hashKey: seed.hashKey ?? randomBytes(32).toString('hex'), home: seed.home, claims: [] };
  try {
    return { ...identity, id: await createIdentity(docker, identityContainerName(stack), identity, seed.extraLabels ?? {}) };
  } catch (error) {
    if (statusOf(error) !== 409) throw new DockerApiError(`cannot record the identity of stack ${stack}`, error);
    const made = await readStackIdentity(docker, stack);
    if (!made) throw new DockerApiError(`the identity container of stack ${stack} exists but holds no identity`, error);
    return made;
  }
}

/**
 * Record that the stack adopted these containers (by short id). The identity container is
 * replaced by one with the new claims, so that a kill or a failed call at any point leaves a
 * copy with the stack's key that {@link readStackIdentity} finds: the new one is made beside
 * it, the old one renamed aside, the new one renamed into place, and only then the old one
 * removed. Runs under the stack's lock (as `up` does).
 */
export async function claimContainers(docker: DockerClient, identity: StackIdentity, ids: readonly string[], extraLabels: Record<string, string> = {}): Promise<StackIdentity> {
  const claims = [...new Set([...identity.claims, ...ids.map((id) => id.slice(0, 12))])].sort();
  if (claims.length === identity.claims.length) return identity;
  const name = identityContainerName(identity.stack);
  const { next: nextName, aside } = copyNames(identity.stack);
  try {
    // What an earlier replacement left (it may hold the identity in place of `name`) first.
    const settled = await settleIdentity(docker, identity.stack);
    const current = settled.identity ?? identity;
    const next = { ...current, claims: [...new Set([...current.claims, ...settled.leftClaims, ...claims])].sort() };
    const id = await createIdentity(docker, nextName, next, extraLabels);
    await docker.getContainer(current.id).rename({ name: aside });
    await docker.getContainer(id).rename({ name });
    await removeIfThere(docker, current.id);
    return { ...next, id };
  } catch (error) {
    throw new DockerApiError(`cannot record what stack ${identity.stack} adopted`, error);
  }
}

/** Remove a stack's identity, with any copy a replacement left (`down --all`: nothing of the stack is left to recognise). */
export async function removeStackIdentity(docker: DockerClient, stack: string): Promise<void> {
  try {
    const copies = await identityCopies(docker, stack);
    await removeIfThere(docker, identityContainerName(stack));
    for (const copy of copies) await removeIfThere(docker, copy.id);
  } catch (error) {
    throw new DockerApiError(`cannot remove the identity of stack ${stack}`, error);
  }
}

/** Which stack adopted each container without a stack label, by short id (every stack on the daemon). */
export async function listClaims(docker: DockerClient): Promise<Map<string, string>> {
  try {
    return claimsOf(await docker.listContainers({ all: true, filters: { label: [`${LABEL_KIND}=identity`] } }));
  } catch (error) {
    throw new DockerApiError('cannot list the stacks of this daemon', error);
  }
}

/** The claims recorded in the identity containers of a listing (other containers are skipped). */
export function claimsOf(list: ReadonlyArray<{ Labels?: Record<string, string> | null }>): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of list) {
    const labels = c.Labels ?? {};
    const stack = labels[LABEL_STACK];
    if (labels[LABEL_KIND] !== 'identity' || !stack) continue;
    for (const id of (labels[LABEL_CLAIMS] ?? '').split(',').filter(Boolean)) if (!out.has(id)) out.set(id, stack);
  }
  return out;
}
