/**
 * The reversible mapping between model keys and container names. Managed containers are found
 * by label, but the name is what users type (`docker logs inference-qwen`) and what LiteLLM uses
 * as a host name, so it has to be predictable and reversible.
 */

/** Prefix of every model container's name. */
export const MODEL_CONTAINER_PREFIX = 'inference-';

/** Longest model key accepted; keeps container names usable as host names on the network. */
export const MAX_MODEL_KEY_LENGTH = 128;

const KEY_CHARS = /^[A-Za-z0-9._/-]+$/;
/** Docker's rule for container names (daemon/names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`). */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Why `key` cannot be a model key, or `undefined` when it can. The rules make
 * {@link containerNameForKey} reversible: only letters, digits, `-`, `_`, `.`, `/`; no `--`,
 * `..` or `//`; no `-` next to `/`; not starting with `/`, `.` or `-`; not ending with `/`.
 */
export function modelKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'is empty';
  if (key.length > MAX_MODEL_KEY_LENGTH) return `is longer than ${MAX_MODEL_KEY_LENGTH} characters`;
  if (!KEY_CHARS.test(key)) {
    const bad = [...new Set([...key].filter((c) => !/[A-Za-z0-9._/-]/.test(c)))]
      .map((c) => (c === ' ' ? 'space' : JSON.stringify(c)))
      .join(', ');
    return `contains characters other than letters, digits, "-", "_", ".", "/" (${bad})`;
  }
  if (key.includes('--')) return 'contains "--" (reserved: container names spell "/" as "--")';
  if (key.includes('..')) return 'contains ".."';
  if (key.includes('//')) return 'contains "//"';
  if (key.includes('-/') || key.includes('/-')) return 'has "-" next to "/" (the container name could not be read back)';
  if (key.startsWith('/')) return 'starts with "/"';
  if (key.startsWith('.')) return 'starts with "."';
  if (key.startsWith('-')) return 'starts with "-"';
  if (key.endsWith('/')) return 'ends with "/"';
  const name = MODEL_CONTAINER_PREFIX + key.replaceAll('/', '--');
  if (!DOCKER_NAME.test(name)) return `does not make a valid Docker container name (${name})`;
  return undefined;
}

/** Whether `key` is a valid model key (see {@link modelKeyProblem}). */
export function isValidModelKey(key: string): boolean {
  return modelKeyProblem(key) === undefined;
}

/**
 * The container name of a model: `inference-<key>` with `/` turned into `--`
 * (`org/name` → `inference-org--name`), the reference tool's naming.
 *
 * @throws TypeError when `key` is not a valid model key (a programming error: keys that come
 *   out of a loaded configuration are always valid).
 */
export function containerNameForKey(key: string): string {
  const problem = modelKeyProblem(key);
  if (problem !== undefined) throw new TypeError(`invalid model key ${JSON.stringify(key)}: ${problem}`);
  return MODEL_CONTAINER_PREFIX + key.replaceAll('/', '--');
}

/**
 * The model key of a container name made by {@link containerNameForKey}, or `undefined` when
 * the name is not one (another container, or a name no valid key maps to). Accepts the leading
 * `/` the Docker API puts in front of names.
 */
export function keyFromContainerName(name: string): string | undefined {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!bare.startsWith(MODEL_CONTAINER_PREFIX)) return undefined;
  const key = bare.slice(MODEL_CONTAINER_PREFIX.length).replaceAll('--', '/');
  if (!isValidModelKey(key)) return undefined;
  // Only names that map back exactly: `inference-a---b` has no key.
  return MODEL_CONTAINER_PREFIX + key.replaceAll('/', '--') === bare ? key : undefined;
}
