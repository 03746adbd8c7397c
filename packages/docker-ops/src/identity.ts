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

/** A stack's identity, when it has one (its first `up` makes it). */
export async function readStackIdentity(docker: DockerClient, stack: string): Promise<StackIdentity | undefined> {
  try {
    return fromInspect(stack, await docker.getContainer(identityContainerName(stack)).inspect());
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError(`cannot read the identity of stack ${stack}`, error);
  }
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

/**
 * The stack's identity, made now when it has none: with `seed.hashKey` (a key the stack used
 * before identities existed, so that nothing looks changed) or a new random key, and
 * `seed.home`. Two runs making it at once agree: the second reads the first's.
 */
export async function ensureStackIdentity(
  docker: DockerClient,
  stack: string,
  seed: { hashKey?: string; home: string; extraLabels?: Record<string, string> },
): Promise<StackIdentity> {
  const existing = await readStackIdentity(docker, stack);
  if (existing) return existing;
  await ensureLockImage(docker);
  const identity = { stack, hashKey: seed.hashKey ?? randomBytes(32).toString('hex'), home: seed.home, claims: [] };
  try {
    return { ...identity, id: await createIdentity(docker, identityContainerName(stack), identity, seed.extraLabels ?? {}) };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 409) throw new DockerApiError(`cannot record the identity of stack ${stack}`, error);
    const made = await readStackIdentity(docker, stack);
    if (!made) throw new DockerApiError(`the identity container of stack ${stack} exists but holds no identity`, error);
    return made;
  }
}

/**
 * Record that the stack adopted these containers (by short id). The identity container is
 * replaced by one with the new claims: made beside it, then put in its place by rename.
 */
export async function claimContainers(docker: DockerClient, identity: StackIdentity, ids: readonly string[], extraLabels: Record<string, string> = {}): Promise<StackIdentity> {
  const claims = [...new Set([...identity.claims, ...ids.map((id) => id.slice(0, 12))])].sort();
  if (claims.length === identity.claims.length) return identity;
  const name = identityContainerName(identity.stack);
  const next = { ...identity, claims };
  try {
    await docker.getContainer(`${name}-next`).remove({ force: true }).catch(() => {});
    const id = await createIdentity(docker, `${name}-next`, next, extraLabels);
    await docker.getContainer(identity.id).remove({ force: true });
    await docker.getContainer(id).rename({ name });
    return { ...next, id };
  } catch (error) {
    throw new DockerApiError(`cannot record what stack ${identity.stack} adopted`, error);
  }
}

/** Remove a stack's identity (`down --all`: nothing of the stack is left to recognise). */
export async function removeStackIdentity(docker: DockerClient, stack: string): Promise<void> {
  try {
    await docker.getContainer(identityContainerName(stack)).remove({ force: true });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw new DockerApiError(`cannot remove the identity of stack ${stack}`, error);
  }
}

/** Which stack adopted each container without a stack label, by short id (every stack on the daemon). */
export async function listClaims(docker: DockerClient): Promise<Map<string, string>> {
  let list;
  try {
    list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_KIND}=identity`] } });
  } catch (error) {
    throw new DockerApiError('cannot list the stacks of this daemon', error);
  }
  const out = new Map<string, string>();
  for (const c of list) {
    const stack = c.Labels[LABEL_STACK];
    if (!stack) continue;
    for (const id of (c.Labels[LABEL_CLAIMS] ?? '').split(',').filter(Boolean)) if (!out.has(id)) out.set(id, stack);
  }
  return out;
}
