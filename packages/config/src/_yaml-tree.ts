import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseDocument,
  Scalar,
} from 'yaml';
import type { ConfigIssue } from './errors.js';

/** A 1-based position in the source. */
export interface Pos {
  line: number;
  column: number;
}

/**
 * The YAML document as a small tree that keeps every key's and value's position, key order
 * (plain objects reorder integer-like keys) and duplicate keys (YAML libraries drop them).
 * Aliases are expanded and `<<` merge keys applied, within a budget.
 */
export type LNode = LMap | LSeq | LScalar;

export interface LMap {
  kind: 'map';
  pos: Pos;
  /** Entries in file order; for a key given twice, only the first. */
  entries: LEntry[];
  /** Later occurrences of keys already in {@link LMap.entries}. */
  duplicates: { entry: LEntry; first: LEntry }[];
}

export interface LEntry {
  key: string;
  keyPos: Pos;
  value: LNode;
}

export interface LSeq {
  kind: 'seq';
  pos: Pos;
  items: LNode[];
}

export interface LScalar {
  kind: 'scalar';
  pos: Pos;
  value: string | number | boolean | null;
}

/** Most nodes a document may expand to; real files have a few hundred. */
const NODE_BUDGET = 100_000;
/**
 * yaml's own alias check (`maxAliasCount`): expansions × nested aliases. High enough for a few
 * hundred models sharing an anchor, far below what an exponential "billion laughs" reaches.
 */
const MAX_ALIAS_COUNT = 10_000;
const MAX_DEPTH = 64;

/** Parses YAML text into an {@link LNode} tree, or returns the issues that prevent it. */
export function parseYamlTree(text: string, file: string): { root: LNode | null; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: false,
    prettyErrors: false,
    keepSourceTokens: false,
  });
  const at = (offset: number): Pos => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issues: ConfigIssue[] = [];
  for (const error of doc.errors) {
    const pos = at(error.pos[0]);
    issues.push({
      file,
      ...pos,
      path: [],
      code: 'yaml-syntax',
      message: `YAML: ${error.message.split('\n')[0] ?? error.message}`,
      hint: yamlHint(error.code),
    });
  }
  if (issues.length > 0) return { root: null, issues };

  // yaml's own guard against "billion laughs" documents, before we expand anything.
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError && error.message.startsWith('Unresolved alias')) {
      const pos = firstAliasPos(doc, at, (alias) => !alias.resolve(doc as Document.Parsed));
      return { root: null, issues: [{ file, ...pos, path: [], code: 'yaml-syntax', message: `YAML: ${error.message}`, hint: 'define the anchor (&name) above the alias (*name), or fix the spelling' }] };
    }
    if (error instanceof ReferenceError) {
      return { root: null, issues: [aliasBomb(file, firstAliasPos(doc, at))] };
    }
    throw error;
  }

  const state = { budget: NODE_BUDGET, exceeded: false };
  const convert = (node: unknown, depth: number, resolving: Set<unknown>): LNode => {
    if (--state.budget < 0 || depth > MAX_DEPTH) {
      state.exceeded = true;
      return { kind: 'scalar', pos: { line: 1, column: 1 }, value: null };
    }
    if (isAlias(node)) {
      const target = node.resolve(doc as Document.Parsed);
      if (!target || resolving.has(target)) {
        // A cycle (`&a {x: *a}`) has no finite value: say so rather than cut it to null.
        if (target) issues.push({ file, ...posOf(node, at), path: [], code: 'yaml-alias-cycle', message: `alias *${node.source} is inside the value it names (a cycle)`, hint: 'an alias can only repeat a value that is complete; write the value out' });
        return { kind: 'scalar', pos: posOf(node, at), value: null };
      }
      resolving.add(target);
      const out = convert(target, depth + 1, resolving);
      resolving.delete(target);
      return out;
    }
    if (isScalar(node)) {
      return { kind: 'scalar', pos: posOf(node, at), value: scalarValue(node.value) };
    }
    if (isSeq(node)) {
      return { kind: 'seq', pos: posOf(node, at), items: node.items.map((item) => convert(item, depth + 1, resolving)) };
    }
    if (isMap(node)) {
      const map: LMap = { kind: 'map', pos: posOf(node, at), entries: [], duplicates: [] };
      const seen = new Map<string, LEntry>();
      const explicit = new Set<string>();
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key) && !isMergeKey(pair.key)) explicit.add(String(pair.key.value ?? ''));
      }
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        if (isScalar(keyNode) && isMergeKey(keyNode)) {
          // YAML 1.1 merge key, which PyYAML (the reference tool) honours: the merged entries
          // take the place of `<<`; explicit keys win, and earlier sources win over later ones.
          const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const source of sources) {
            const value = convert(source, depth + 1, resolving);
            if (value.kind !== 'map') continue;
            for (const entry of value.entries) {
              if (explicit.has(entry.key) || seen.has(entry.key)) continue;
              seen.set(entry.key, entry);
              map.entries.push(entry);
            }
          }
          continue;
        }
        const keyPos = keyNode ? posOf(keyNode, at) : posOf(pair.value, at);
        const keyValue = isScalar(keyNode) ? keyNode.value : keyNode == null ? null : undefined;
        const key = keyValue === undefined ? undefined : keyValue === null ? '' : String(keyValue);
        const value: LNode =
          pair.value == null ? { kind: 'scalar', pos: keyPos, value: null } : convert(pair.value, depth + 1, resolving);
        if (key === undefined) {
          issues.push({
            file,
            ...keyPos,
            path: [],
            code: 'complex-key',
            message: 'a map key must be a plain value, not a list or map',
            hint: 'use a name as the key',
          });
          continue;
        }
        const entry: LEntry = { key, keyPos, value };
        const first = seen.get(key);
        if (first) {
          map.duplicates.push({ entry, first });
        } else {
          seen.set(key, entry);
          map.entries.push(entry);
        }
      }
      return map;
    }
    return { kind: 'scalar', pos: posOf(node, at), value: null };
  };

  const root = doc.contents == null ? null : convert(doc.contents, 0, new Set());
  if (state.exceeded) return { root: null, issues: [aliasBomb(file, firstAliasPos(doc, at))] };
  return { root, issues };
}

function isMergeKey(node: Scalar): boolean {
  return node.value === '<<' && node.type === Scalar.PLAIN;
}

function posOf(node: unknown, at: (offset: number) => Pos): Pos {
  const range = (node as YamlNode | null)?.range;
  return range ? at(range[0]) : { line: 1, column: 1 };
}

function scalarValue(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return String(value);
}

function firstAliasPos(doc: Document, at: (offset: number) => Pos, match: (alias: Alias) => boolean = () => true): Pos {
  let found: Pos | undefined;
  const visit = (node: unknown): void => {
    if (found || node == null) return;
    if (isAlias(node) && match(node)) {
      found = posOf(node, at);
      return;
    }
    if (isSeq(node)) node.items.forEach(visit);
    else if (isMap(node)) node.items.forEach((p) => visit(p.value));
  };
  visit(doc.contents);
  return found ?? { line: 1, column: 1 };
}

function aliasBomb(file: string, pos: Pos): ConfigIssue {
  return {
    file,
    ...pos,
    path: [],
    code: 'yaml-alias-bomb',
    message: 'YAML aliases expand to too much data (a resource exhaustion attack, or a mistake)',
    hint: 'use fewer aliases (*name); write the values out, or use the defaults: section',
  };
}

function yamlHint(code: string): string {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces; YAML does not allow tabs for indentation';
    case 'MULTIPLE_DOCS':
      return 'keep one document per file: remove the --- line';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation here, and that every [, { and quote opened above is closed';
    case 'DUPLICATE_KEY':
      return 'remove one of the two';
    case 'MULTILINE_IMPLICIT_KEY':
    case 'MISSING_KEY':
      return 'a key must be on one line and end with ": "; quote values that contain ": "';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'add a space after the colon, or quote the value';
    case 'RESOURCE_EXHAUSTION':
      return 'the value is nested too deeply to read (this is not a configuration); flatten it';
    case 'UNEXPECTED_TOKEN':
      return 'check this line for a stray character; quote values that start with @, `, %, or contain ": "';
    default:
      return 'fix the YAML syntax; quoting a value often helps';
  }
}

/** Plain JavaScript value of a tree, for schema validation. */
export function toPlain(node: LNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) {
        Object.defineProperty(out, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** Value node of `key` in a map node, if any. */
export function getEntry(node: LNode | undefined, key: string): LEntry | undefined {
  return node?.kind === 'map' ? node.entries.find((e) => e.key === key) : undefined;
}

/**
 * Position of the value at `path` below `node` (or of the key, with `which: 'key'`), falling
 * back to the deepest ancestor that exists.
 */
export function locate(node: LNode, path: readonly (string | number)[], which: 'key' | 'value' = 'value'): Pos {
  let current: LNode = node;
  let pos = node.pos;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (current.kind === 'map') {
      const entry = current.entries.find((e) => e.key === String(step));
      if (!entry) return pos;
      const last = i === path.length - 1;
      pos = last && which === 'key' ? entry.keyPos : entry.value.pos;
      current = entry.value;
    } else if (current.kind === 'seq' && typeof step === 'number') {
      const item = current.items[step];
      if (!item) return pos;
      pos = item.pos;
      current = item;
    } else {
      return pos;
    }
  }
  return pos;
}
