import { createHash, createHmac } from 'node:crypto';
import { FALLBACK_HASH_KEY } from './defaults.js';
import type { ModelSpec } from './types.js';

/** The fields of a model that reach Docker, and so decide whether a container is up to date. */
export type HashedModelFields = Pick<
  ModelSpec,
  'model' | 'image' | 'platform' | 'gpus' | 'cpusetCpus' | 'shmSizeBytes' | 'vllmArgs' | 'env' | 'volumes' | 'secretEnv' | 'apiKey'
>;

/** Bumped when the hash input changes shape, which makes every container look changed once. */
const HASH_FORMAT = 1;

/**
 * The canonical JSON that {@link hashModelSpec} digests: sorted keys, no whitespace, absent
 * fields left out, vLLM flags and volumes in a canonical order, secrets replaced by
 * HMAC-SHA256(`hashKey`, `NAME=value`). Exposed so tests
 * and `--debug` output can show what a hash covers without showing a secret.
 */
export function specHashInput(spec: HashedModelFields, hashKey: string = FALLBACK_HASH_KEY): string {
  const digest = (name: string, value: string) => createHmac('sha256', hashKey).update(`${name}=${value}`).digest('hex');
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.secretEnv)) secrets[name] = digest(name, value);
  const input = {
    format: HASH_FORMAT,
    model: spec.model,
    image: spec.image,
    platform: spec.platform,
    gpus: spec.gpus,
    cpusetCpus: spec.cpusetCpus,
    shmSizeBytes: spec.shmSizeBytes,
    vllmArgs: canonicalArgs(spec.vllmArgs),
    env: spec.env,
    volumes: [...spec.volumes].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)),
    secretEnv: secrets,
    apiKey: spec.apiKey === undefined ? undefined : digest('apiKey', spec.apiKey),
  };
  return canonicalJson(input);
}

/**
 * Stable digest of a model's effective spec: the first 16 hex characters of the SHA-256 of
 * {@link specHashInput}. Equal specs give equal hashes whatever the key order in the YAML; any
 * change to what Docker is given changes it. Secrets enter only as keyed digests, so the hash
 * (stored in a container label) does not reveal them.
 *
 * @param hashKey Key of the secret digests. The CLI passes a per-machine key.
 *   @default FALLBACK_HASH_KEY
 */
export function hashModelSpec(spec: HashedModelFields, hashKey: string = FALLBACK_HASH_KEY): string {
  return createHash('sha256').update(specHashInput(spec, hashKey)).digest('hex').slice(0, 16);
}

/**
 * vLLM flags grouped with their values and sorted by flag name (stably, so a repeated flag
 * keeps its order): vLLM's argument parser does not care about order, and neither should the
 * hash, so reordering keys in the YAML does not recreate a container.
 */
export function canonicalArgs(args: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (const arg of args) {
    const last = groups.at(-1);
    if (/^--?[A-Za-z]/.test(arg) || !last) groups.push([arg]);
    else last.push(arg);
  }
  return groups
    .map((group, index) => ({ group, index }))
    .sort((a, b) => {
      const fa = a.group[0] ?? '';
      const fb = b.group[0] ?? '';
      return fa < fb ? -1 : fa > fb ? 1 : a.index - b.index;
    })
    .map(({ group }) => group);
}

/** JSON with object keys sorted at every level and `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${members.join(',')}}`;
}
