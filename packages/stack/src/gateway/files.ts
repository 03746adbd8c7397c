import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { StackConfig } from '@inferstack/config';
import { managedEntryFor, writeLitellmConfig, type DesiredDeployment, type ManagedModelEntry } from '@inferstack/litellm-sync';
import { writeAtomically } from '../atomic-file.js';
import type { ServiceFile } from '../services/types.js';

export { writeAtomically } from '../atomic-file.js';
import { wakeableModels } from '../watcher/wake-path.js';
import { loadYaml } from '../yaml.js';
import { OLD_WAKE_CALLBACK, OLD_WAKE_FILES, PLUGIN_CALLBACK, PLUGIN_FILE, PLUGIN_SOURCE, keysFileName, routesFileName, wakeFileName } from './plugin.js';

/*
 * The one owner of the managed gateway's directory: its config file (the truth for a cold
 * start), the plugin, and each stack's routes, keys and wake files (how a running gateway
 * learns a change). Every file is replaced by rename, never rewritten in place: a process killed
 * at any point leaves the old file or the new one, never half of one. Read-modify-write of the
 * config file happens under the directory's lock, so two stacks that share one gateway (or two
 * runs) never write over each other's entries.
 */

/**
 * The starter config of a managed gateway: master key from the environment, metrics on, the
 * plugin, and `least-busy` routing: a model with several replicas has one deployment per replica
 * under one model name, and each request goes to the one with the fewest requests in flight
 * (LiteLLM's default, `simple-shuffle`, picks at random and lets a queue form on one replica while
 * another idles).
 */
export const STARTER_CONFIG = `# LiteLLM gateway configuration.
# inferstack rewrites only the model_list entries whose model_info.managed_by is "inferstack", and
# keeps its plugin (${PLUGIN_CALLBACK}) in litellm_settings.callbacks; everything else in this
# file is yours and is kept as is.
model_list: []
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
litellm_settings:
  callbacks: ["prometheus", "${PLUGIN_CALLBACK}"]
router_settings:
  routing_strategy: least-busy
`;

/** The config file a managed gateway starts with: without a master key, no line naming one. */
export function starterConfig(config: Pick<StackConfig, 'gateway'>): string {
  return config.gateway.masterKey ? STARTER_CONFIG : STARTER_CONFIG.replace(/general_settings:\n.*\n/, '');
}

/** The gateway's configuration directory. */
export function gatewayDir(config: Pick<StackConfig, 'gateway'>): string {
  return dirname(config.gateway.configFile);
}

/** How long a lock of the gateway's directory may be held before it counts as left by a killed run: writes take milliseconds. */
const LOCK_STALE_MS = 30_000;

/**
 * Run `fn` holding the lock of the gateway's directory (a file created exclusively beside the
 * config): read-modify-write of the config file by two stacks, or two runs, one after the other.
 * A lock older than {@link LOCK_STALE_MS} was left by a killed process and is taken over.
 */
export async function withGatewayDirLock<T>(config: Pick<StackConfig, 'gateway'>, fn: () => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
  const dir = gatewayDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const lock = join(dir, '.inferstack.lock');
  const end = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${hostname()} ${new Date().toISOString()}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > end) throw new Error(`the gateway's directory ${dir} stays locked by another run (${readFileSync(lock, 'utf8').trim()}); remove ${lock} if no serve runs`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * The config text with the plugin named in `litellm_settings.callbacks` once (the rest of the
 * file kept; the wake hook of earlier versions replaced by it). The same text when it is named
 * already, or when the file holds no mapping.
 */
export async function withPluginCallback(text: string): Promise<string> {
  // yaml is loaded only here: `serve status` starts without it.
  const { isMap, isSeq, parseDocument, YAMLSeq } = await loadYaml();
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) return text;
  const named = (item: unknown) => String((item as { value?: unknown }).value ?? item);
  const callbacks = doc.getIn(['litellm_settings', 'callbacks'], true);
  let items: unknown[];
  if (isSeq(callbacks)) items = callbacks.items;
  else if (callbacks === undefined || callbacks === null) items = [];
  else items = [callbacks];
  const names = items.map(named);
  if (names.includes(PLUGIN_CALLBACK) && !names.includes(OLD_WAKE_CALLBACK) && isSeq(callbacks)) return text;
  const seq = new YAMLSeq();
  seq.flow = true;
  for (const item of items) if (named(item) !== OLD_WAKE_CALLBACK && named(item) !== PLUGIN_CALLBACK) seq.add(item);
  seq.add(PLUGIN_CALLBACK);
  if (!isMap(doc.get('litellm_settings', true))) doc.set('litellm_settings', doc.createNode({}));
  doc.setIn(['litellm_settings', 'callbacks'], seq);
  return doc.toString({ lineWidth: 0 });
}

/**
 * What the managed gateway's directory must hold before its container starts, as files `up`
 * writes (and `plan` compares): the config file (a starter one when missing) naming the plugin,
 * and the plugin beside it. `recompute` makes the config file's write a read-modify-write under
 * the directory's lock.
 */
export async function gatewayServiceFiles(config: StackConfig): Promise<ServiceFile[]> {
  const file = config.gateway.configFile;
  const exists = existsSync(file);
  const recompute = async (current: string | undefined) => withPluginCallback(current ?? starterConfig(config));
  const text = await recompute(exists ? readFileSync(file, 'utf8') : undefined);
  return [
    // A running gateway without the plugin loads it only when restarted: the container is
    // recreated anyway when it comes from an earlier version (its command changed).
    {
      path: file,
      text,
      mode: 0o600,
      what: exists ? "the gateway's config file (its plugin named)" : "the gateway's config file",
      reload: false,
      recompute,
      lock: (fn) => withGatewayDirLock(config, fn),
    },
    { path: join(gatewayDir(config), PLUGIN_FILE), text: PLUGIN_SOURCE, mode: 0o644, reload: false },
    ...wakeFileWithoutWatcher(config),
  ];
}

/**
 * The stack's wake file while no watcher has written it: the plugin refuses requests to the
 * stack's idle models at once (one could be asleep, put away by a watcher that is gone, and a
 * request would kill its engine). Once no model is idle, a wake file there lists none (a
 * watcher that only scales models writes one like that, naming itself: it stays).
 */
function wakeFileWithoutWatcher(config: StackConfig): ServiceFile[] {
  const path = join(gatewayDir(config), wakeFileName(config.name));
  const models = wakeableModels(config);
  const idle = Object.keys(models).length > 0;
  const now = existsSync(path) ? readWakeInfo(config, config.name) : undefined;
  if (idle ? now?.watcher : !existsSync(path) || (now && Object.keys(now.models ?? {}).length === 0)) return [];
  const info: WakeInfo = { stack: config.name, watcher: null, models: idle ? models : {} };
  return [{ path, text: jsonText(info), mode: 0o600, enforceMode: true, reload: false }];
}

/**
 * Make sure the gateway's directory holds the plugin and a config file that names it (a starter
 * one when there is none). The caller holds the directory's lock. Returns whether the config's
 * callbacks changed: a running gateway loads the plugin only when it starts again.
 */
export async function ensurePlugin(config: StackConfig): Promise<boolean> {
  const file = config.gateway.configFile;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const named = await withPluginCallback(current ?? starterConfig(config));
  writeAtomically(join(gatewayDir(config), PLUGIN_FILE), PLUGIN_SOURCE, { mode: 0o644 });
  return writeAtomically(file, named, { mode: 0o600 }) && current !== undefined;
}

/**
 * Remove the stack's own files from the gateway's directory (`down --all`): its routes, its keys
 * and its wake file. The config file and the plugin are the gateway's, which other stacks may
 * share: they stay.
 */
export function removeStackGatewayFiles(config: Pick<StackConfig, 'gateway'>, stack: string): void {
  for (const name of [routesFileName(stack), keysFileName(stack), wakeFileName(stack)]) rmSync(join(gatewayDir(config), name), { force: true });
}

/** Remove the wake hook files of earlier versions (ours; the plugin does their work now). */
export function removeOldWakeHook(config: Pick<StackConfig, 'gateway'>): void {
  for (const name of OLD_WAKE_FILES) rmSync(join(gatewayDir(config), name), { force: true });
}

/** The canonical text of a routes or keys file (deterministic: equal content, equal bytes). */
function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A stack's routes file as the plugin reads it. */
export interface RoutesFile {
  stack: string;
  /** A digest of the entries: what the plugin reports once it applied them. */
  version: string;
  entries: ManagedModelEntry[];
}

/** The version of a list of entries (16 hex). */
export function routesVersion(entries: readonly ManagedModelEntry[]): string {
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
}

/**
 * Tell the running gateway the stack's routes: the config file's managed entries first (the
 * truth for a cold start), then the keys they name, then the routes file the plugin applies.
 * A process killed between two writes leaves files a restarted gateway starts from, and the
 * next sync finds the running gateway behind and writes the routes again.
 */
export async function writeGatewayRoutes(
  config: StackConfig,
  desired: readonly DesiredDeployment[],
  options: { stack: string; digestKey?: string; keys: Record<string, string> },
): Promise<{ configChanged: boolean; routesChanged: boolean; version: string }> {
  return withGatewayDirLock(config, async () => {
    if (config.gateway.mode === 'managed') await ensurePlugin(config);
    const scope = { owner: options.stack, ...(options.digestKey ? { digestKey: options.digestKey } : {}) };
    const written = await writeLitellmConfig(config.gateway.configFile, [...desired], scope);
    const dir = gatewayDir(config);
    writeAtomically(join(dir, keysFileName(options.stack)), jsonText(options.keys), { mode: 0o600, enforceMode: true });
    const entries = desired.map((d) => managedEntryFor(d, scope)).sort((a, b) => a.model_info.id.localeCompare(b.model_info.id));
    const version = routesVersion(entries);
    const routes: RoutesFile = { stack: options.stack, version, entries };
    const routesChanged = writeAtomically(join(dir, routesFileName(options.stack)), jsonText(routes), { mode: 0o600, enforceMode: true });
    return { configChanged: written.changed, routesChanged, version };
  });
}

/** The stack's routes file as it stands, if any. */
export function readRoutesFile(config: Pick<StackConfig, 'gateway'>, stack: string): RoutesFile | undefined {
  try {
    return JSON.parse(readFileSync(join(gatewayDir(config), routesFileName(stack)), 'utf8')) as RoutesFile;
  } catch {
    return undefined;
  }
}

/** What the plugin's wake part reads: the watcher that looks after a stack's idle models, and which they are. */
export interface WakeInfo {
  stack: string;
  /** Where the gateway reaches the watcher; null when none runs (requests to its models get 503 at once). */
  watcher: string | null;
  /** The watcher's token (see watcher/token.ts). */
  token?: string;
  /** Served name → seconds a request waits for the model to wake. */
  models: Record<string, number>;
}

/**
 * Tell the gateway's plugin which watcher wakes the stack's models, and which models they are:
 * written by the watcher itself (so the plugin never asks it about a model it does not know),
 * replaced atomically, 0600 (it holds the watcher's token).
 */
export function writeWakeInfo(config: Pick<StackConfig, 'gateway'>, info: WakeInfo): boolean {
  if (config.gateway.mode !== 'managed') return false;
  return writeAtomically(join(gatewayDir(config), wakeFileName(info.stack)), jsonText(info), { mode: 0o600, enforceMode: true });
}

/** The stack's wake file as it is now, if any. */
export function readWakeInfo(config: Pick<StackConfig, 'gateway'>, stack: string): WakeInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(gatewayDir(config), wakeFileName(stack)), 'utf8')) as WakeInfo;
  } catch {
    return undefined;
  }
}
