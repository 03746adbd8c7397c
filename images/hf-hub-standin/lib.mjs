// Pure parts of the Hugging Face Hub stand-in: the repo description (parse and check), the
// generated file contents (deterministic, random access), git/LFS identifiers, the routes the
// huggingface_hub client calls, Range parsing, tokens and gating, the Hub's error headers, the
// rate limiter's arithmetic and the connection cuts. No sockets, no timers: server.mjs does those.
// Plain ESM, no dependencies (node:crypto only). See README.md for what each answer is based on.
import { createCipheriv, createHash, createHmac } from 'node:crypto';

/** Files at least this large are LFS files unless the description says otherwise (the Hub's 10 MiB). */
export const LFS_THRESHOLD = 10 * 1024 * 1024;
/** Extensions the Hub's default .gitattributes sends through LFS. */
const LFS_EXTENSIONS = /\.(safetensors|bin|pt|pth|ckpt|gguf|h5|msgpack|onnx|ot|tflite|npz|npy|pkl|pickle|model|zip|tar|gz|7z|arrow|parquet)$/i;
/** One page of the tree listing, as the Hub pages it (1000 entries without `expand`). */
export const DEFAULT_TREE_PAGE_SIZE = 1000;
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;
const SHA1 = /^[0-9a-f]{40}$/;
const REF_NAME = /^[A-Za-z0-9][A-Za-z0-9._\/-]*$/;

// ---------------------------------------------------------------------------------------------
// The description

/**
 * @typedef {{ at: number, times: number, how: 'close' | 'reset' }} Cut
 * `times`: how many responses are cut (Infinity = every one).
 * @typedef {{ path: string, size: number, content: Buffer | null, lfs: boolean, cut: Cut | null, key: Buffer }} RepoFile
 * @typedef {{ id: string, sha: string, refs: string[], gated: false | 'auto' | 'manual', grants: Set<string>,
 *   rate: number | null, createdAt: string, files: RepoFile[] }} Repo
 * @typedef {{ rate: number, tokens: Set<string> | null, treePageSize: number, repos: Map<string, Repo> }} Hub
 */

/**
 * Parse and check a repo description (JSON text or an object). Every problem is reported, each
 * with the path of the offending value.
 * @param {unknown} input
 * @returns {{ ok: true, hub: Hub } | { ok: false, errors: string[] }}
 */
export function parseDescription(input) {
  const errors = [];
  let doc = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      return { ok: false, errors: [`description: not JSON (${/** @type {Error} */ (e).message})`] };
    }
  }
  if (!isObject(doc)) return { ok: false, errors: ['description: must be an object with "repos"'] };
  unknownKeys(doc, ['rate', 'tokens', 'treePageSize', 'repos'], 'description', errors);
  const rate = optRate(doc.rate, 'rate', errors) ?? 0;
  const tokens = doc.tokens === undefined ? null : new Set(stringList(doc.tokens, 'tokens', errors));
  let treePageSize = DEFAULT_TREE_PAGE_SIZE;
  if (doc.treePageSize !== undefined) {
    if (!isCount(doc.treePageSize) || doc.treePageSize < 1) errors.push('treePageSize: must be a positive integer');
    else treePageSize = doc.treePageSize;
  }
  /** @type {Map<string, Repo>} */
  const repos = new Map();
  if (!isObject(doc.repos)) errors.push('repos: must be an object of repo id → repo');
  else {
    for (const [id, spec] of Object.entries(doc.repos)) {
      const repo = parseRepo(id, spec, `repos[${JSON.stringify(id)}]`, errors);
      if (repo) repos.set(id, repo);
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true, hub: { rate, tokens, treePageSize, repos } };
}

/** @returns {Repo | null} */
function parseRepo(id, spec, where, errors) {
  const before = errors.length;
  if (!REPO_ID.test(id)) errors.push(`${where}: not a repo id (name or org/name of letters, digits, . _ -)`);
  if (!isObject(spec)) {
    errors.push(`${where}: must be an object with "files"`);
    return null;
  }
  unknownKeys(spec, ['sha', 'refs', 'gated', 'tokens', 'rate', 'seed', 'files'], where, errors);
  if (spec.sha !== undefined && !(typeof spec.sha === 'string' && SHA1.test(spec.sha))) {
    errors.push(`${where}.sha: must be 40 lowercase hex digits (a commit id)`);
  }
  const refs = spec.refs === undefined ? ['main'] : stringList(spec.refs, `${where}.refs`, errors);
  for (const r of refs) if (!REF_NAME.test(r) || SHA1.test(r)) errors.push(`${where}.refs: ${JSON.stringify(r)} is not a branch or tag name`);
  /** @type {false | 'auto' | 'manual'} */
  let gated = false;
  if (spec.gated === true || spec.gated === 'manual') gated = 'manual';
  else if (spec.gated === 'auto') gated = 'auto';
  else if (spec.gated !== undefined && spec.gated !== false) errors.push(`${where}.gated: must be true, false, "auto" or "manual"`);
  const grants = new Set(spec.tokens === undefined ? [] : stringList(spec.tokens, `${where}.tokens`, errors));
  if (grants.size && !gated) errors.push(`${where}.tokens: only a gated repo grants access to tokens`);
  const rate = optRate(spec.rate, `${where}.rate`, errors);
  if (spec.seed !== undefined && typeof spec.seed !== 'string') errors.push(`${where}.seed: must be a string`);
  const seed = typeof spec.seed === 'string' ? spec.seed : id;
  /** @type {RepoFile[]} */
  const files = [];
  if (!isObject(spec.files) || Object.keys(spec.files).length === 0) errors.push(`${where}.files: must be an object of path → file, not empty`);
  else {
    for (const [path, f] of Object.entries(spec.files)) {
      const file = parseFile(path, f, seed, id, `${where}.files[${JSON.stringify(path)}]`, errors);
      if (file) files.push(file);
    }
    const paths = new Set(files.map((f) => f.path));
    for (const p of paths) {
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (paths.has(dir)) errors.push(`${where}.files: ${JSON.stringify(dir)} is a file and a folder`);
      }
    }
  }
  if (errors.length > before) return null;
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const sha = spec.sha ?? createHash('sha1').update(`hf-hub-standin commit\0${id}\0${seed}\0${files.map((f) => `${f.path}:${f.size}:${f.lfs}`).join('\n')}`).digest('hex');
  return { id, sha, refs, gated, grants, rate, createdAt: '2026-01-01T00:00:00.000Z', files };
}

/** @returns {RepoFile | null} */
function parseFile(path, spec, seed, repoId, where, errors) {
  const before = errors.length;
  if (!path || path.startsWith('/') || path.endsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    errors.push(`${where}: not a relative file path`);
  }
  /** @type {Record<string, any>} */
  let f;
  if (typeof spec === 'number') f = { size: spec };
  else if (typeof spec === 'string') f = { content: spec };
  else if (isObject(spec)) f = spec;
  else {
    errors.push(`${where}: must be a size (number), a content (string) or an object`);
    return null;
  }
  unknownKeys(f, ['size', 'content', 'json', 'lfs', 'cut'], where, errors);
  const given = ['size', 'content', 'json'].filter((k) => f[k] !== undefined);
  if (given.length !== 1) errors.push(`${where}: give exactly one of size, content, json`);
  let content = null;
  let size = 0;
  if (f.content !== undefined) {
    if (typeof f.content !== 'string') errors.push(`${where}.content: must be a string`);
    else content = Buffer.from(f.content, 'utf8');
  } else if (f.json !== undefined) {
    content = Buffer.from(`${JSON.stringify(f.json, null, 2)}\n`, 'utf8');
  } else if (f.size !== undefined) {
    if (!isCount(f.size)) errors.push(`${where}.size: must be a non-negative integer (bytes)`);
    else size = f.size;
  }
  if (content) size = content.length;
  if (f.lfs !== undefined && typeof f.lfs !== 'boolean') errors.push(`${where}.lfs: must be true or false`);
  const lfs = typeof f.lfs === 'boolean' ? f.lfs : LFS_EXTENSIONS.test(path) || size >= LFS_THRESHOLD;
  /** @type {Cut | null} */
  let cut = null;
  if (f.cut !== undefined) {
    if (!isObject(f.cut)) errors.push(`${where}.cut: must be an object { at, times?, how? }`);
    else {
      unknownKeys(f.cut, ['at', 'times', 'how'], `${where}.cut`, errors);
      if (!isCount(f.cut.at) || f.cut.at >= size) errors.push(`${where}.cut.at: must be a byte offset inside the file (0 to ${Math.max(0, size - 1)})`);
      let times = 1;
      if (f.cut.times === 'always') times = Infinity;
      else if (f.cut.times !== undefined) {
        if (!isCount(f.cut.times) || f.cut.times < 1) errors.push(`${where}.cut.times: must be a positive integer or "always"`);
        else times = f.cut.times;
      }
      const how = f.cut.how ?? 'close';
      if (how !== 'close' && how !== 'reset') errors.push(`${where}.cut.how: must be "close" (FIN) or "reset" (RST)`);
      cut = { at: f.cut.at, times, how };
    }
  }
  if (errors.length > before) return null;
  const key = createHash('sha256').update(`hf-hub-standin\0${seed}\0${repoId}\0${path}`).digest().subarray(0, 16);
  return { path, size, content, lfs, cut, key };
}

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isCount(v) {
  return Number.isSafeInteger(v) && v >= 0;
}
function unknownKeys(obj, known, where, errors) {
  for (const k of Object.keys(obj)) if (!known.includes(k)) errors.push(`${where}.${k}: unknown key (known: ${known.join(', ')})`);
}
function stringList(v, where, errors) {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) {
    errors.push(`${where}: must be a list of non-empty strings`);
    return [];
  }
  return v;
}
function optRate(v, where, errors) {
  if (v === undefined) return null;
  if (!isCount(v)) {
    errors.push(`${where}: must be bytes per second (a non-negative integer; 0 = unlimited)`);
    return null;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Contents

const ZEROS = Buffer.alloc(1024 * 1024);

/**
 * A reader of a file's bytes from `offset` on. Generated files are the AES-128-CTR keystream of a
 * key derived from (seed, repo, path): deterministic, fast, and readable from any offset (the CTR
 * counter is the 16-byte block number), so a Range request needs no bytes before it.
 * @param {RepoFile} file
 * @param {number} offset
 * @returns {(n: number) => Buffer} the next n bytes (fewer at the end of the file)
 */
export function reader(file, offset = 0) {
  let pos = offset;
  if (file.content) {
    const content = file.content;
    return (n) => {
      const out = content.subarray(pos, Math.min(content.length, pos + n));
      pos += out.length;
      return out;
    };
  }
  const iv = Buffer.alloc(16);
  let block = BigInt(Math.floor(offset / 16));
  for (let i = 15; i >= 0; i--, block >>= 8n) iv[i] = Number(block & 0xffn);
  const cipher = createCipheriv('aes-128-ctr', file.key, iv);
  // The keystream starts at the block boundary: drop the bytes before `offset`.
  const skip = offset % 16;
  if (skip) cipher.update(ZEROS.subarray(0, skip));
  return (n) => {
    const len = Math.max(0, Math.min(n, file.size - pos));
    const parts = [];
    for (let left = len; left > 0; left -= ZEROS.length) parts.push(cipher.update(ZEROS.subarray(0, Math.min(left, ZEROS.length))));
    pos += len;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, len);
  };
}

/** The whole content of a (small) file. */
export function contentOf(file) {
  return reader(file, 0)(file.size);
}

/**
 * @typedef {{ sha256: string, blobId: string, etag: string, pointer: string | null }} FileIds
 * `blobId`: the git object id the tree listing shows (of the LFS pointer for an LFS file);
 * `etag`: what names the blob in the client's cache (sha256 for LFS, the git id otherwise).
 */

/**
 * An incremental hasher of a file's identifiers: feed it the content in order, then `done()`.
 * @param {RepoFile} file
 */
export function idHasher(file) {
  const sha256 = createHash('sha256');
  const git = file.lfs ? null : createHash('sha1').update(`blob ${file.size}\0`);
  return {
    /** @param {Buffer} chunk */
    update(chunk) {
      sha256.update(chunk);
      git?.update(chunk);
    },
    /** @returns {FileIds} */
    done() {
      const sum = sha256.digest('hex');
      if (!git) {
        const pointer = lfsPointer(sum, file.size);
        const blobId = gitBlobId(Buffer.from(pointer));
        return { sha256: sum, blobId, etag: sum, pointer };
      }
      const blobId = git.digest('hex');
      return { sha256: sum, blobId, etag: blobId, pointer: null };
    },
  };
}

/** The LFS pointer file git stores in place of an LFS file. */
export function lfsPointer(sha256, size) {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

/** git's object id of a blob: sha1 of `blob <size>\0<content>`. */
export function gitBlobId(content) {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** git's id of a folder, here a stable stand-in (sha1 over its path and entries). */
function treeId(repo, path) {
  return createHash('sha1').update(`tree\0${repo.sha}\0${path}`).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Routes

/**
 * @typedef {{ kind: 'info', repoId: string, revision: string | null }
 *   | { kind: 'tree', repoId: string, revision: string, path: string }
 *   | { kind: 'resolve', repoId: string, revision: string, file: string }
 *   | { kind: 'cdn', sha256: string }
 *   | { kind: 'harnesses' }
 *   | { kind: 'control', name: string }
 *   | { kind: 'unknown' }} Route
 */

/**
 * What a request path asks for. Repo ids have one or two segments; a revision is one
 * percent-encoded segment (the client quotes `/` in it); a file path keeps its slashes.
 * @param {string} pathname the raw (still percent-encoded) path, without the query
 * @returns {Route}
 */
export function route(pathname) {
  const segs = pathname.split('/').slice(1);
  const dec = (s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (segs[0] === '_standin' && segs.length === 2) return { kind: 'control', name: segs[1] };
  if (segs[0] === 'api' && segs[1] === 'agent-harnesses' && segs.length === 2) return { kind: 'harnesses' };
  if (segs[0] === 'api' && segs[1] === 'models' && segs.length >= 3) {
    const rest = segs.slice(2);
    // /api/models/{id}, /api/models/{id}/revision/{rev}, /api/models/{id}/tree/{rev}[/{path}]
    for (const idLen of [2, 1]) {
      if (rest.length < idLen) continue;
      const repoId = rest.slice(0, idLen).map(dec).join('/');
      const tail = rest.slice(idLen);
      if (tail.length === 0) return { kind: 'info', repoId, revision: null };
      if (tail[0] === 'revision' && tail.length === 2 && tail[1]) return { kind: 'info', repoId, revision: dec(tail[1]) };
      if (tail[0] === 'tree' && tail.length >= 2 && tail[1]) {
        return { kind: 'tree', repoId, revision: dec(tail[1]), path: tail.slice(2).map(dec).join('/') };
      }
    }
    return { kind: 'unknown' };
  }
  if (segs[0] === 'lfs' && segs.length === 2 && /^[0-9a-f]{64}$/.test(segs[1])) return { kind: 'cdn', sha256: segs[1] };
  // /{id}/resolve/{rev}/{file}: the first "resolve" after one or two id segments.
  for (const idLen of [2, 1]) {
    if (segs[idLen] === 'resolve' && segs.length >= idLen + 3 && segs[idLen + 1]) {
      const file = segs.slice(idLen + 2).map(dec).join('/');
      if (!file) continue;
      return { kind: 'resolve', repoId: segs.slice(0, idLen).map(dec).join('/'), revision: dec(segs[idLen + 1]), file };
    }
  }
  return { kind: 'unknown' };
}

/** The commit a revision names in a repo (a ref name or the commit id itself), or null. */
export function resolveRevision(repo, revision) {
  if (revision === null || revision === repo.sha || repo.refs.includes(revision)) return repo.sha;
  return null;
}

/** A repo's files below `path` (the whole repo for ''), or null when `path` is no folder. */
function filesUnder(repo, path) {
  if (!path) return repo.files;
  const prefix = `${path}/`;
  const under = repo.files.filter((f) => f.path.startsWith(prefix));
  return under.length ? under : null;
}

/**
 * The tree listing's entries, as the Hub's `GET /api/models/{id}/tree/{rev}[/{path}]` gives them:
 * files `{type, oid, size, path, lfs?}` and folders `{type: "directory", oid, size: 0, path}`,
 * folders first at each level when not recursive, all of them when recursive.
 * @param {Repo} repo
 * @param {(file: RepoFile) => FileIds} ids
 * @returns {object[] | null} null when `path` is not a folder of the repo
 */
export function treeEntries(repo, path, recursive, ids) {
  const files = filesUnder(repo, path);
  if (!files) return null;
  const base = path ? `${path}/` : '';
  const dirs = new Set();
  const out = [];
  for (const f of files) {
    const rel = f.path.slice(base.length).split('/');
    for (let i = 1; i < rel.length; i++) {
      const dir = base + rel.slice(0, i).join('/');
      if (!dirs.has(dir) && (recursive || i === 1)) {
        dirs.add(dir);
        out.push({ type: 'directory', oid: treeId(repo, dir), size: 0, path: dir });
      }
    }
    if (rel.length === 1 || recursive) out.push(fileEntry(f, ids(f)));
  }
  return out;
}

function fileEntry(f, id) {
  const entry = { type: 'file', oid: id.blobId, size: f.size, path: f.path };
  if (f.lfs) Object.assign(entry, { lfs: { oid: id.sha256, size: f.size, pointerSize: Buffer.byteLength(id.pointer ?? '') } });
  return entry;
}

/**
 * The model info (`GET /api/models/{id}[/revision/{rev}]`): the fields `ModelInfo` reads that a
 * download depends on (`sha`, `siblings`, `gated`, ...). `blobs`: siblings with sizes and LFS data.
 * @param {Repo} repo
 * @param {(file: RepoFile) => FileIds} ids
 */
export function modelInfo(repo, blobs, ids) {
  const [author] = repo.id.includes('/') ? repo.id.split('/') : [undefined];
  return {
    _id: repo.sha.slice(0, 24),
    id: repo.id,
    modelId: repo.id,
    ...(author ? { author } : {}),
    sha: repo.sha,
    lastModified: repo.createdAt,
    createdAt: repo.createdAt,
    private: false,
    disabled: false,
    gated: repo.gated,
    downloads: 0,
    likes: 0,
    tags: [],
    siblings: repo.files.map((f) => {
      if (!blobs) return { rfilename: f.path };
      const id = ids(f);
      const s = { rfilename: f.path, size: f.size, blobId: id.blobId };
      return f.lfs ? { ...s, lfs: { sha256: id.sha256, size: f.size, pointerSize: Buffer.byteLength(id.pointer ?? '') } } : s;
    }),
    usedStorage: repo.files.reduce((n, f) => n + f.size, 0),
  };
}

/**
 * One page of a listing and the cursor of the next one (null on the last page). The cursor is
 * opaque to the client: it follows the absolute URL in the `Link: <...>; rel="next"` header.
 */
export function page(entries, cursor, size) {
  const start = cursor ? Number.parseInt(Buffer.from(cursor, 'base64url').toString('utf8'), 10) || 0 : 0;
  const end = start + size;
  return { items: entries.slice(start, end), next: end < entries.length ? Buffer.from(String(end)).toString('base64url') : null };
}

// ---------------------------------------------------------------------------------------------
// Tokens, gating and the Hub's errors

/**
 * Who is asking: `anonymous` (no Bearer token), `user` (a token the hub knows; every token when the
 * description lists none), `invalid` (a token it does not know).
 * @param {Hub} hub
 * @param {string | undefined} authorization
 * @returns {{ who: 'anonymous' | 'user' | 'invalid', token: string | null }}
 */
export function caller(hub, authorization) {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return { who: 'anonymous', token: null };
  const token = m[1];
  if (hub.tokens === null) return { who: 'user', token };
  for (const repo of hub.repos.values()) if (repo.grants.has(token)) return { who: 'user', token };
  return { who: hub.tokens.has(token) ? 'user' : 'invalid', token };
}

/**
 * @typedef {{ status: number, headers: Record<string, string>, body: string }} Answer
 */

const json = (status, obj, headers = {}) => ({ status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(obj) });
/** The Hub's error: `X-Error-Code` (what `hf_raise_for_status` maps to an exception) and `X-Error-Message`. */
const hubError = (status, code, message, extra = {}) =>
  json(status, { error: message }, { ...(code ? { 'X-Error-Code': code } : {}), 'X-Error-Message': message, ...extra });

/** 401 for a token the Hub does not know, on any route (the client then raises a plain HfHubHTTPError). */
export function invalidCredentials() {
  return hubError(401, null, 'Invalid credentials in Authorization header');
}

/**
 * An unknown repo: 401 without a token, 404 with one (the Hub does not tell strangers which repos
 * exist), `X-Error-Code: RepoNotFound` either way → `RepositoryNotFoundError`.
 */
export function repoNotFound(who) {
  return hubError(who === 'anonymous' ? 401 : 404, 'RepoNotFound', 'Repository not found');
}

/** An unknown revision → `RevisionNotFoundError`. */
export function revisionNotFound(revision) {
  return hubError(404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
}

/** A file the commit does not have → `RemoteEntryNotFoundError` (the client caches `.no_exist/<commit>/<file>`). */
export function entryNotFound(repo) {
  return hubError(404, 'EntryNotFound', 'Entry not found', { 'X-Repo-Commit': repo.sha });
}

/**
 * May `who` download the files of `repo`? null = yes; otherwise the Hub's answer for a gated repo
 * (`X-Error-Code: GatedRepo` → `GatedRepoError`): 401 without a token, 403 for a token without
 * access. Only files are gated: the info and the tree listing stay public, as on the Hub.
 * @param {Repo} repo
 * @param {{ who: string, token: string | null }} c
 * @returns {Answer | null}
 */
export function gate(repo, c) {
  if (!repo.gated) return null;
  if (c.who === 'user' && c.token && repo.grants.has(c.token)) return null;
  if (c.who === 'anonymous') {
    return hubError(401, 'GatedRepo', `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`, { 'X-Repo-Commit': repo.sha });
  }
  return hubError(403, 'GatedRepo', `Access to model ${repo.id} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repo.id} to ask for access.`, { 'X-Repo-Commit': repo.sha });
}

export { json as jsonAnswer };

// ---------------------------------------------------------------------------------------------
// Files: headers, ranges, cuts

/** `inline; filename*=UTF-8''<name>; filename="<name>";` as the Hub and its CDN send it. */
export function contentDisposition(path) {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return `inline; filename*=UTF-8''${encodeURIComponent(name)}; filename="${name.replace(/["\\]/g, '_')}";`;
}

/** The CDN URL's signature: the CDN serves an LFS object only with the signature the Hub made. */
export function sign(secret, sha256) {
  return createHmac('sha256', secret).update(sha256).digest('hex').slice(0, 32);
}

/**
 * The headers of `HEAD|GET /{id}/resolve/{rev}/{file}` for a file the caller may read.
 * A regular file: 200 with `ETag: "<git blob id>"`, `Content-Length`. An LFS file: 302 to the CDN
 * (another origin, so the client drops its token there), with `X-Linked-Etag: "<sha256>"` and
 * `X-Linked-Size`, which the client prefers; `ETag` is the pointer's git id. Both carry
 * `X-Repo-Commit`, without which the client refuses the answer.
 * @param {RepoFile} file
 * @param {FileIds} id
 * @param {string} cdnUrl absolute URL of the object on the CDN (LFS only)
 */
export function resolveHeaders(repo, file, id, cdnUrl) {
  const common = { 'X-Repo-Commit': repo.sha, 'Accept-Ranges': 'bytes', 'Content-Disposition': contentDisposition(file.path) };
  if (file.lfs) {
    return {
      status: 302,
      headers: { ...common, Location: cdnUrl, ETag: `"${id.blobId}"`, 'X-Linked-Etag': `"${id.sha256}"`, 'X-Linked-Size': String(file.size) },
    };
  }
  return { status: 200, headers: { ...common, ETag: `"${id.etag}"`, 'Content-Type': contentType(file.path) } };
}

/**
 * Where the CDN is, when HUB_STANDIN_CDN_ORIGIN does not say: it must be another *host* than the
 * Hub, not only another port (huggingface_hub 1.x compares host names only, and follows a HEAD
 * redirect to the same host, where the CDN's answer lacks X-Repo-Commit). Without a second name,
 * the address the request came in on serves: the client asked for a name, the CDN gets the IP.
 * @param {string | undefined} hostHeader the request's Host
 * @param {string | undefined} localAddress the stand-in's address of the connection
 */
export function defaultCdnOrigin(hostHeader, localAddress, cdnPort) {
  const host = (hostHeader ?? 'localhost').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const ip = (localAddress ?? '').replace(/^::ffff:/, '');
  if (ip && ip !== host) return `http://${ip.includes(':') ? `[${ip}]` : ip}:${cdnPort}`;
  // Asked by address: the loopback has two names.
  const other = { '127.0.0.1': 'localhost', localhost: '127.0.0.1' }[host];
  return `http://${other ?? host}:${cdnPort}`;
}

/** The CDN's own headers for an LFS object (it knows nothing of commits). */
export function cdnHeaders(file, id) {
  return { ETag: `"${id.sha256}"`, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'Content-Disposition': contentDisposition(file.path) };
}

function contentType(path) {
  if (path.endsWith('.json')) return 'application/json; charset=utf-8';
  if (/\.(txt|md|model|py)$/.test(path)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/**
 * A `Range` header against a file of `size` bytes: null = the whole file (no header, or one we
 * ignore: several ranges, another unit, nonsense — RFC 9110 lets a server answer 200 then);
 * `{ unsatisfiable: true }` → 416; else `{ start, end }` (end exclusive).
 * @returns {{ start: number, end: number } | { unsatisfiable: true } | null}
 */
export function parseRange(header, size) {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { unsatisfiable: true };
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || last < start) return { unsatisfiable: true };
  return { start, end: last + 1 };
}

/**
 * Where a response for [start, end) of `file` is cut: the number of body bytes to send before
 * the connection goes, or null for no cut. A response is cut when it covers the file's `cut.at`
 * offset and fewer than `cut.times` responses were cut before. A request that starts at the
 * offset is cut before its first byte: with `times: "always"` the file never completes.
 * @param {RepoFile} file
 * @param {number} cutsSoFar
 */
export function cutAfter(file, start, end, cutsSoFar) {
  const c = file.cut;
  if (!c || cutsSoFar >= c.times) return null;
  if (c.at < start || c.at >= end) return null;
  return c.at - start;
}

// ---------------------------------------------------------------------------------------------
// Rate

/**
 * A shared budget of `rate` bytes per second. `reserve(n, now)` books n bytes after everything
 * booked before and says how many ms to wait until they are "sent", so concurrent transfers share
 * the rate and a transfer of S bytes takes S / rate seconds. Idle time is not saved up (no burst).
 */
export class RateLimiter {
  /** @param {number} rate bytes per second, 0 = unlimited */
  constructor(rate) {
    this.rate = rate;
    this.cursor = 0;
  }
  /** @returns {number} ms to wait before sending the n bytes */
  reserve(n, now) {
    if (!this.rate) return 0;
    const start = Math.max(now, this.cursor);
    this.cursor = start + (n * 1000) / this.rate;
    return this.cursor - now;
  }
  /** A good write size for this rate: about 50 writes a second, between 1 KiB and 64 KiB. */
  chunkSize() {
    if (!this.rate) return 256 * 1024;
    return Math.max(1024, Math.min(64 * 1024, Math.floor(this.rate / 50)));
  }
}
