/**
 * The reversible mapping between model keys and container names. Managed containers are found
 * by label, but the name is what users type (`docker logs inference-qwen`) and what LiteLLM uses
 * as a host name, so it has to be predictable and reversible.
 */

/** Prefix of every model container's name. */
export const MODEL_CONTAINER_PREFIX = 'inference-';

/** Longest model key of any container name this package reads back (the syntax limit). */
export const MAX_MODEL_KEY_LENGTH = 128;

/**
 * The longest host name on the stack's network. A container's name is its host name there, and
 * Python's resolver (LiteLLM and the hooks it runs) refuses a longer one: the model would be
 * routed but unreachable.
 */
export const MAX_HOST_NAME_LENGTH = 63;

/**
 * Longest model container name (`inference-<key>`, `/` spelled `--`): 63 − 7. The 7 characters
 * are room for what may follow the name of a model's container: the `-next` (5) of a rolling
 * replacement's new container, or the 7-character per-container suffix (`-` and 6) planned for
 * gateway-side names. Checked in models.yaml, so a model never starts under a name the gateway
 * cannot resolve.
 */
export const MAX_MODEL_CONTAINER_NAME_LENGTH = 56;

/**
 * Longest stack name: the managed watcher is `<stack>-watcher` (8 more), and the gateway's wake
 * hook (Python) resolves it: 55 + 8 = {@link MAX_HOST_NAME_LENGTH}.
 */
export const MAX_STACK_NAME_LENGTH = 55;

const KEY_CHARS = /^[A-Za-z0-9._/-]+$/;
/** Docker's rule for container names (daemon/names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`). */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Why `key` cannot be a model key in models.yaml, or `undefined` when it can: see
 * {@link keySyntaxProblem}, and its container name may be at most
 * {@link MAX_MODEL_CONTAINER_NAME_LENGTH} characters long.
 */
export function modelKeyProblem(key: string): string | undefined {
  const problem = keySyntaxProblem(key);
  if (problem !== undefined) return problem;
  const name = MODEL_CONTAINER_PREFIX + key.replaceAll('/', '--');
  if (name.length > MAX_MODEL_CONTAINER_NAME_LENGTH) {
    return `makes the container name ${name} of ${name.length} characters; at most ${MAX_MODEL_CONTAINER_NAME_LENGTH} (it is a host name on the stack's network, and the gateway's resolver refuses names over ${MAX_HOST_NAME_LENGTH})`;
  }
  return undefined;
}

/** Whether {@link modelKeyProblem} refuses `key` only for the length of its container name. */
export function isModelKeyTooLong(key: string): boolean {
  return keySyntaxProblem(key) === undefined && modelKeyProblem(key) !== undefined;
}

/**
 * Why `key` cannot map to a container name and back, or `undefined` when it can. The rules make
 * {@link containerNameForKey} reversible: only letters, digits, `-`, `_`, `.`, `/`; no `--`,
 * `..` or `//`; no `-` next to `/`; not starting with `/`, `.` or `-`; not ending with `/`.
 */
function keySyntaxProblem(key: string): string | undefined {
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
 * (`org/name` → `inference-org--name`), the reference tool's naming. Names longer than
 * models.yaml allows are made too: containers made before the limit must still be found.
 *
 * @throws TypeError when `key` cannot map to a name (a programming error: keys that come out of
 *   a loaded configuration always can).
 */
export function containerNameForKey(key: string): string {
  const problem = keySyntaxProblem(key);
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
  // Not the length limit: a container made before it is still the model's (and goes as it changes).
  if (keySyntaxProblem(key) !== undefined) return undefined;
  // Only names that map back exactly: `inference-a---b` has no key.
  return MODEL_CONTAINER_PREFIX + key.replaceAll('/', '--') === bare ? key : undefined;
}
