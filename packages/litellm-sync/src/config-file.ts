import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, parseDocument, type Document, YAMLSeq } from 'yaml';
import { LitellmConfigError } from './errors.js';
import { isManagedEntry, managedEntryFor } from './plan.js';
import type { DesiredDeployment, GatewayEntry, ManagedModelEntry, SyncScope } from './types.js';

/** What {@link renderLitellmConfig} produced. */
export interface RenderedLitellmConfig {
  /** The whole config file. Equal to the input when `changed` is false (unless the input was empty). */
  text: string;
  /** Whether the managed part of `model_list` differs (i.e. the gateway must restart). */
  changed: boolean;
  /** The managed entries now in the file, in file order. */
  entries: ManagedModelEntry[];
}

/**
 * Renders the managed part of `model_list` into a user's LiteLLM config.yaml. Everything else is
 * kept: other keys, comments the YAML library can keep, and `model_list` entries added by hand
 * (in their order, before the managed ones). Reference-tool entries (`organization:
 * inference-vllm`) are replaced by ours. Output is deterministic: managed entries sorted by
 * model name, then id.
 *
 * @param existingYamlText the current file (`''` when there is none)
 * @param desired the deployments that are up
 * @param file used in error messages only
 * @param scope whose entries these are (another owner's are kept, like hand-made ones)
 * @throws {LitellmConfigError} the YAML does not parse, or `model_list` is not a list
 */
export function renderLitellmConfig(
  existingYamlText: string,
  desired: DesiredDeployment[],
  file?: string,
  scope: SyncScope = {},
): RenderedLitellmConfig {
  const doc = parseConfig(existingYamlText, file);
  const wanted = uniqueById(desired.map((d) => managedEntryFor(d, scope))).sort(
    (a, b) => compare(a.model_name, b.model_name) || compare(a.model_info.id, b.model_info.id),
  );

  let list = doc.get('model_list', true);
  if (list === undefined || list === null || (isScalarNull(list))) {
    list = new YAMLSeq();
    doc.set('model_list', list);
  }
  if (!isSeq(list)) {
    throw new LitellmConfigError({ problem: '`model_list` must be a list', ...(file ? { file } : {}) });
  }

  const wantedIds = new Set(wanted.map((e) => e.model_info.id));
  const ours = (item: unknown) => isManagedEntry(asEntry(item), scope, wantedIds);
  const current = list.items.filter(ours);
  const currentJson = current.map((item) => canonical(toPlain(item)));
  const wantedJson = wanted.map((entry) => canonical(entry));
  const changed = !sameMultiset(currentJson, wantedJson);
  // An empty input still gets a file to start from (`model_list: []` at least).
  if (!changed && existingYamlText.trim() !== '') return { text: existingYamlText, changed: false, entries: wanted };

  list.items = list.items.filter((item) => !ours(item));
  for (const entry of wanted) list.items.push(doc.createNode(entry));
  // `model_list: []` when empty rather than a dangling key; a block list (one entry a few lines)
  // once it has entries, also when the file started as `model_list: []`.
  list.flow = list.items.length === 0;

  return { text: doc.toString({ lineWidth: 0, indentSeq: indentsSequences(existingYamlText) }), changed, entries: wanted };
}

/** What {@link writeLitellmConfig} did. */
export interface WriteLitellmConfigResult {
  /** The file was written (its managed model list changed, or it did not exist). */
  changed: boolean;
  /** The file written (symbolic links resolved). */
  path: string;
  entries: ManagedModelEntry[];
}

/**
 * Renders the config file at `file` (see {@link renderLitellmConfig}) and, when something changed,
 * replaces it atomically: write a temporary file next to it, fsync, rename. The file keeps its
 * mode; a new file gets 0600 because it may hold API keys (missing directories are created). The gateway must then be restarted
 * (LiteLLM has no reload) and waited for with `client.waitUntilReady()`.
 *
 * Note: a single file bind-mounted into a running container keeps showing the old inode after the
 * rename; Docker mounts the new one when the container restarts, which is what the caller does next.
 */
export async function writeLitellmConfig(file: string, desired: DesiredDeployment[], scope: SyncScope = {}): Promise<WriteLitellmConfigResult> {
  let target = path.resolve(file);
  let existing = '';
  let mode = 0o600;
  let exists = false;
  try {
    target = await fsp.realpath(target);
    const stat = await fsp.stat(target);
    mode = stat.mode & 0o7777;
    existing = await fsp.readFile(target, 'utf8');
    exists = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }

  const rendered = renderLitellmConfig(existing, desired, target, scope);
  if (exists && !rendered.changed) return { changed: false, path: target, entries: rendered.entries };

  if (!exists) await fsp.mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(rendered.text, 'utf8');
    await handle.chmod(mode); // explicit: the umask must not widen or narrow the mode
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.rename(temp, target);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
  return { changed: true, path: target, entries: rendered.entries };
}

/**
 * The `model_list` entries of a LiteLLM config file as they stand (`[]` when the file does not
 * exist or lists none): what the gateway routes once it has loaded the file.
 * @throws {LitellmConfigError} the YAML does not parse
 */
export async function readLitellmConfigEntries(file: string): Promise<GatewayEntry[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const list = parseConfig(text, file).get('model_list', true);
  if (!isSeq(list)) return [];
  return list.items.flatMap((item) => {
    const plain = toPlain(item);
    if (!isRecord(plain) || typeof plain['model_name'] !== 'string') return [];
    const entry = asEntry(item);
    return [{ model_name: plain['model_name'], litellm_params: entry.litellm_params, model_info: entry.model_info } as GatewayEntry];
  });
}

function parseConfig(text: string, file: string | undefined): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    throw new LitellmConfigError(
      {
        problem: error.message.split('\n')[0] ?? error.message,
        ...(file ? { file } : {}),
        ...(pos ? { line: pos.line, column: pos.col } : {}),
      },
      { cause: error },
    );
  }
  if (doc.contents === null) {
    doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  } else if (!isMap(doc.contents)) {
    throw new LitellmConfigError({ problem: 'the file must be a YAML mapping', ...(file ? { file } : {}) });
  }
  return doc;
}

/** A `model_list` item as a {@link GatewayEntry}-like object (only the fields used to classify it). */
function asEntry(item: unknown): Pick<GatewayEntry, 'litellm_params' | 'model_info'> {
  const plain = toPlain(item);
  const record = isRecord(plain) ? plain : {};
  return {
    litellm_params: isRecord(record['litellm_params']) ? record['litellm_params'] : {},
    model_info: isRecord(record['model_info']) ? record['model_info'] : {},
  };
}

function toPlain(item: unknown): unknown {
  if (item !== null && typeof item === 'object' && 'toJSON' in item && typeof item.toJSON === 'function') {
    return (item as { toJSON(): unknown }).toJSON();
  }
  return item;
}

function isScalarNull(node: unknown): boolean {
  return node !== null && typeof node === 'object' && 'value' in node && (node as { value: unknown }).value === null;
}

/** Whether the file writes `key:\n  - item` (indented) rather than `key:\n- item`; default indented. */
function indentsSequences(text: string): boolean {
  const match = /^([ \t]*)[^\s#][^:\n]*:[ \t]*\n(?:[ \t]*#.*\n)*([ \t]*)- /m.exec(text);
  if (!match) return true;
  return (match[2] ?? '').length > (match[1] ?? '').length;
}

/** JSON with sorted keys, so two equal entries compare equal whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

function sameMultiset(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const left = [...a].sort();
  const right = [...b].sort();
  return left.every((value, index) => value === right[index]);
}

function uniqueById(entries: ManagedModelEntry[]): ManagedModelEntry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    if (seen.has(entry.model_info.id)) return false;
    seen.add(entry.model_info.id);
    return true;
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
