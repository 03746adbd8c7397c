import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { DEFAULT_MODELS_FILE, FALLBACK_HASH_KEY } from './defaults.js';
import { hashModelSpec } from './hash-model-spec.js';
import { loadConfig, type LoadConfigOptions } from './load-config.js';
import { projectDirFor } from './project-dir.js';
import { SETTING_NAMES } from './settings.js';
import type { StackConfig } from './types.js';

/** Options of {@link createConfigLoader}. */
export interface ConfigLoaderOptions {
  env: NodeJS.ProcessEnv;
  /** Where the cache lives. @default `$XDG_CACHE_HOME/inferstack/config`, else `~/.cache/inferstack/config`; none without a home */
  dir?: string;
  /** Told what happened (hit, miss, why not cached), for `--debug`. */
  debug?: (message: string) => void;
  /** The real loader. @default loadConfig of `@inferstack/config` */
  parse?: (options: LoadConfigOptions) => Promise<StackConfig>;
}

/** Slots kept before the oldest are removed (one per models file, working directory and home). */
const MAX_ENTRIES = 64;
/** Larger files are not cached (the parser refuses files over 4 MiB anyway). */
const CACHEABLE_FILE_BYTES = 4 * 1024 * 1024;
/** Bump when what is stored changes shape. */
const FORMAT = 'inferstack-config-cache/1';

/**
 * A `loadConfig` that keeps what it parsed: parsing models.yaml (yaml, valibot, every check) is
 * most of what `serve status` and a no-op `serve up` spend before they reach Docker, and the
 * parser is loaded only when the files changed.
 *
 * The cache is keyed by everything the result depends on: the bytes of models.yaml and `.env`,
 * every environment variable the files name or that settings are read from (`INFERSTACK_*` and
 * the settings' names), the paths, the home directory, and this very build; the files a host
 * names (TLS, SSH) must still exist. The spec hashes are made again with the caller's key.
 *
 * The parsed config holds secrets (`.env` values, API keys, model env), so the cache never holds
 * it in plain text: it is encrypted (AES-256-GCM) with a key derived from those inputs (secrets
 * included) and a random per-user key kept beside it, files 0600 in a 0700 directory of the
 * user's own cache (not the project: a run that is refused must leave the project untouched).
 * Whatever goes wrong with the cache (no home, a read-only disk, a damaged file) is a miss.
 */
export function createConfigLoader(options: ConfigLoaderOptions): (options: LoadConfigOptions) => Promise<StackConfig> {
  const parse = options.parse ?? loadConfig;
  const debug = options.debug ?? (() => {});
  const dir = options.dir ?? defaultCacheDir(options.env);
  return async (load) => {
    const env = load.env ?? options.env;
    const off = !dir || env.INFERSTACK_CONFIG_CACHE === '0' || env.INFERSTACK_CONFIG_CACHE === 'off';
    const inputs = off ? undefined : readInputs(load, env);
    if (!dir || !inputs) return parse(load);
    const slot = join(dir, inputs.slot);
    const userKey = readUserKey(dir);
    const found = userKey ? readEntry(slot, derive(userKey, inputs.material)) : undefined;
    if (found && found.files.every((f) => existsSync(f))) {
      debug(`config: ${inputs.shownFile} and its .env are unchanged: read from the cache`);
      return withSpecHashes(found.config, load.hashKey);
    }
    const config = await parse(load);
    try {
      makeDirs(dir);
      const key = userKey ?? makeUserKey(dir);
      writeEntry(slot, derive(key, inputs.material), { config, files: hostFiles(config) });
      prune(dir);
      debug(`config: parsed ${inputs.shownFile}; kept in ${dir} (encrypted) for the next run`);
    } catch (error) {
      debug(`config: parsed ${inputs.shownFile}; not cached (${(error as Error).message})`);
    }
    return config;
  };
}

/**
 * `mkdir -p`, one directory at a time. Node's own recursive mkdir loops for ever where a parent
 * exists and mkdir still says ENOENT (a home in /proc, seen with HOME=/proc/self): here any
 * error but EEXIST ends it, and the cache is not used.
 */
function makeDirs(dir: string): void {
  const parts = resolve(dir).split(sep).filter(Boolean);
  let path: string = sep;
  for (const part of parts) {
    path = join(path, part);
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

function defaultCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'inferstack', 'config');
  return env.HOME ? join(env.HOME, '.cache', 'inferstack', 'config') : undefined;
}

/** What the result depends on, or undefined when the files cannot be read (the parser then says why). */
function readInputs(load: LoadConfigOptions, env: NodeJS.ProcessEnv): { slot: string; material: Buffer; shownFile: string } | undefined {
  const cwd = resolve(load.cwd ?? process.cwd());
  const file = resolve(cwd, load.file ?? DEFAULT_MODELS_FILE);
  const envPath = load.envFile === undefined ? join(projectDirFor(file), '.env') : resolve(cwd, load.envFile);
  let models: Buffer;
  let dotenv: Buffer | null;
  try {
    // Only what the parser itself would read: a regular file of a sane size (a device such as
    // /dev/zero, or a huge file, is left to the parser, which refuses it without reading it).
    const readable = (path: string) => {
      const info = statSync(path);
      if (!info.isFile() || info.size > CACHEABLE_FILE_BYTES) throw new Error(`${path} is not a file the cache reads`);
      return readFileSync(path);
    };
    models = readable(file);
    dotenv = existsSync(envPath) ? readable(envPath) : null;
  } catch {
    return undefined;
  }
  const text = `${models.toString('latin1')}\n${dotenv?.toString('latin1') ?? ''}`;
  const settings = new Set<string>(SETTING_NAMES);
  const vars = Object.keys(env)
    .filter((name) => env[name] !== undefined && (settings.has(name) || name.startsWith('INFERSTACK_') || text.includes(name)))
    .sort()
    .map((name) => [name, env[name]]);
  const material = Buffer.concat([
    Buffer.from(JSON.stringify({ format: FORMAT, build: BUILD, file, cwd, envPath, homeDir: load.homeDir ?? null, select: load.select ?? null, vars })),
    Buffer.from('\0models\0'),
    models,
    Buffer.from(dotenv ? '\0env\0' : '\0no-env\0'),
    dotenv ?? Buffer.alloc(0),
  ]);
  const slot = createHash('sha256').update(JSON.stringify([FORMAT, file, cwd, load.homeDir ?? null])).digest('hex').slice(0, 32);
  return { slot, material, shownFile: load.file ?? DEFAULT_MODELS_FILE };
}

/** This build of the CLI (a rebuilt parser may read the same files differently). */
const BUILD = (() => {
  try {
    const s = statSync(fileURLToPath(import.meta.url));
    return `${process.versions.v8}:${s.size}:${s.mtimeMs}`;
  } catch {
    return `${process.versions.v8}:unknown`;
  }
})();

function derive(userKey: Buffer, material: Buffer): Buffer {
  return createHmac('sha256', userKey).update(material).digest();
}

function readUserKey(dir: string): Buffer | undefined {
  try {
    const key = readFileSync(join(dir, 'key'));
    return key.length === 32 ? key : undefined;
  } catch {
    return undefined;
  }
}

function makeUserKey(dir: string): Buffer {
  const key = randomBytes(32);
  try {
    writeFileSync(join(dir, 'key'), key, { mode: 0o600, flag: 'wx' });
    return key;
  } catch {
    // Another run made it first: use that one.
    const other = readUserKey(dir);
    if (!other) throw new Error(`cannot keep a key in ${dir}`);
    return other;
  }
}

interface Entry {
  config: StackConfig;
  /** Files the config names that must still exist (a host's TLS and SSH files). */
  files: string[];
}

function readEntry(path: string, key: Buffer): Entry | undefined {
  try {
    const data = readFileSync(path);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
    decipher.setAuthTag(data.subarray(12, 28));
    // A wrong key (any input changed) fails authentication: a miss.
    return deserialize(Buffer.concat([decipher.update(data.subarray(28)), decipher.final()])) as Entry;
  } catch {
    return undefined;
  }
}

function writeEntry(path: string, key: Buffer, entry: Entry): void {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(serialize(entry)), cipher.final()]);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([iv, cipher.getAuthTag(), body]), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The absolute paths a host of the config names (its TLS and SSH files). */
function hostFiles(config: StackConfig): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.startsWith('/')) out.push(value);
    } else if (value && typeof value === 'object') {
      for (const v of Object.values(value)) walk(v);
    }
  };
  for (const host of config.hosts ?? []) walk({ ...host, endpoint: undefined, address: undefined });
  return out.filter((p) => existsSync(p));
}

/** The spec hashes as `loadConfig` makes them with `hashKey`. */
function withSpecHashes(config: StackConfig, hashKey: string | undefined): StackConfig {
  const key = hashKey ?? (config.settings.INFERSTACK_HASH_KEY || FALLBACK_HASH_KEY);
  return { ...config, models: config.models.map((m) => ({ ...m, specHash: hashModelSpec(m, key) })) };
}

/** Keep the newest entries only. */
function prune(dir: string): void {
  const entries = readdirSync(dir).filter((f) => /^[0-9a-f]{32}$/.test(f));
  if (entries.length <= MAX_ENTRIES) return;
  const byAge = entries.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
  for (const { f } of byAge.slice(0, entries.length - MAX_ENTRIES / 2)) {
    try {
      unlinkSync(join(dir, f));
    } catch {
      // Another run removed it.
    }
  }
}
