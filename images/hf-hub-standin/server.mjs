// The Hugging Face Hub stand-in: answers the requests the real huggingface_hub client makes to
// list and download a repo's files (HF_ENDPOINT=http://<this>:8080), with generated contents, a
// rate limit, gated and unknown repos, and connection cuts. Two listeners: the Hub (API, resolve)
// and its "CDN" (LFS objects, another origin, as on huggingface.co). Pure parts live in lib.mjs;
// README.md says what each answer is based on. Runs as PID 1: exits on SIGTERM/SIGINT.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as lib from './lib.mjs';

const env = process.env;
const say = (msg) => process.stdout.write(`hf-hub-standin: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function loadDescription() {
  const text = env.HUB_STANDIN_REPOS_FILE ? readFileSync(env.HUB_STANDIN_REPOS_FILE, 'utf8') : env.HUB_STANDIN_REPOS;
  if (!text) {
    process.stderr.write('hf-hub-standin: set HUB_STANDIN_REPOS (JSON) or HUB_STANDIN_REPOS_FILE (a JSON file); see README.md\n');
    process.exit(2);
  }
  const parsed = lib.parseDescription(text);
  if (!parsed.ok) {
    process.stderr.write(`hf-hub-standin: the repo description has ${parsed.errors.length} problem(s):\n${parsed.errors.map((e) => `  ${e}\n`).join('')}`);
    process.exit(2);
  }
  if (env.HUB_STANDIN_RATE !== undefined) {
    const rate = Number(env.HUB_STANDIN_RATE);
    if (!Number.isSafeInteger(rate) || rate < 0) {
      process.stderr.write('hf-hub-standin: HUB_STANDIN_RATE must be bytes per second (0 = unlimited)\n');
      process.exit(2);
    }
    parsed.hub.rate = rate;
  }
  return parsed.hub;
}

const hub = loadDescription();
const hubPort = Number(env.HUB_STANDIN_PORT ?? 8080);
const cdnPort = Number(env.HUB_STANDIN_CDN_PORT ?? 8081);
/** Signs CDN URLs: only a URL the Hub handed out fetches an object. */
const secret = randomBytes(16);

// --- identifiers (sha256, git ids), computed once in the background: a few hundred MB take a second or two
/** @type {Map<import('./lib.mjs').RepoFile, import('./lib.mjs').FileIds>} */
const ids = new Map();
/** @type {Map<string, { repo: import('./lib.mjs').Repo, file: import('./lib.mjs').RepoFile }>} */
const bySha256 = new Map();
const hashing = (async () => {
  const t0 = performance.now();
  let bytes = 0;
  for (const repo of hub.repos.values()) {
    for (const file of repo.files) {
      const h = lib.idHasher(file);
      const read = lib.reader(file, 0);
      for (let left = file.size, i = 0; left > 0; i++) {
        const chunk = read(Math.min(left, 1024 * 1024));
        h.update(chunk);
        left -= chunk.length;
        if (i % 16 === 15) await new Promise((r) => setImmediate(r));
      }
      if (file.size === 0) h.update(Buffer.alloc(0));
      const id = h.done();
      ids.set(file, id);
      if (file.lfs) bySha256.set(id.sha256, { repo, file });
      bytes += file.size;
    }
  }
  say(`ready: ${ids.size} files (${(bytes / 1e6).toFixed(1)} MB) hashed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
})();
const idOf = (file) => {
  const id = ids.get(file);
  if (!id) throw new Error(`no ids for ${file.path} yet`);
  return id;
};

// --- rate: one budget for the whole hub, or the repo's own
const hubLimiter = new lib.RateLimiter(hub.rate);
const repoLimiters = new Map([...hub.repos.values()].filter((r) => r.rate !== null).map((r) => [r.id, new lib.RateLimiter(/** @type {number} */ (r.rate))]));
const limiterFor = (repo) => repoLimiters.get(repo.id) ?? hubLimiter;

// --- connection cuts done so far, per file
const cuts = new Map();

// --- the request log (GET /_standin/log), never with tokens
/** @type {object[]} */
let log = [];
let seq = 0;

/** @param {http.ServerResponse} res @param {import('./lib.mjs').Answer} a */
function answer(res, a, head) {
  res.writeHead(a.status, { ...a.headers, 'Content-Length': String(Buffer.byteLength(a.body)) });
  res.end(head ? undefined : a.body);
}

/**
 * Send bytes [start, end) of a file at the limiter's pace; cut the connection after `cutAt`
 * bytes when asked (after they left the process: a write's callback).
 */
async function sendBody(res, file, start, end, limiter, cutAt, entry) {
  const read = lib.reader(file, start);
  const limit = cutAt ?? end - start;
  const size = limiter.chunkSize();
  let sent = 0;
  let flushed = Promise.resolve();
  while (sent < limit) {
    if (res.destroyed) return;
    const n = Math.min(size, limit - sent);
    const wait = limiter.reserve(n, performance.now());
    if (wait >= 1) await sleep(wait);
    if (res.destroyed) return;
    const chunk = read(n);
    flushed = new Promise((r) => res.write(chunk, () => r(undefined)));
    sent += n;
    entry.bytes = sent;
    if (res.writableNeedDrain) await drained(res);
  }
  if (cutAt === null) {
    res.end();
    return;
  }
  await flushed;
  entry.cut = file.cut.how;
  say(`cutting ${entry.method} ${entry.path} after ${sent} bytes (${file.cut.how})`);
  // An RST makes the kernel drop what is still in flight: give the peer a moment to read the
  // bytes the log counts as sent, so a reset cuts at the same place every time.
  if (file.cut.how === 'reset') {
    await sleep(100);
    res.socket?.resetAndDestroy();
  }
  else res.socket?.destroy();
}

/** Resolves when a response may take more data (or is gone). */
function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve(undefined);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Serve a file (whole or a Range) with its headers. */
async function serveFile(req, res, repo, file, headers, entry) {
  const range = lib.parseRange(req.headers.range, file.size);
  if (range && 'unsatisfiable' in range) {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}`, 'Content-Length': '0' });
    return res.end();
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : file.size;
  const out = { ...headers, 'Content-Length': String(end - start) };
  if (range) out['Content-Range'] = `bytes ${start}-${end - 1}/${file.size}`;
  res.writeHead(range ? 206 : 200, out);
  if (req.method === 'HEAD') return res.end();
  const done = cuts.get(file) ?? 0;
  const cutAt = lib.cutAfter(file, start, end, done);
  if (cutAt !== null) cuts.set(file, done + 1);
  await sendBody(res, file, start, end, limiterFor(repo), cutAt, entry);
}

/** @param {'hub' | 'cdn'} listener */
async function handle(listener, req, res) {
  const url = new URL(req.url ?? '/', 'http://standin');
  const r = lib.route(url.pathname);
  const head = req.method === 'HEAD';

  if (r.kind === 'control' && listener === 'hub') return control(r.name, req, res);

  const c = lib.caller(hub, req.headers.authorization);
  const entry = {
    seq: ++seq,
    at: Date.now(),
    listener,
    method: req.method,
    path: url.pathname + url.search,
    kind: r.kind,
    repo: 'repoId' in r ? r.repoId : null,
    file: 'file' in r ? r.file : null,
    range: req.headers.range ?? null,
    auth: c.who,
    status: 0,
    bytes: 0,
    ms: 0,
    done: false,
    cut: null,
  };
  log.push(entry);
  const t0 = performance.now();
  res.on('close', () => {
    entry.status = res.statusCode;
    entry.ms = Math.round(performance.now() - t0);
    entry.done = res.writableFinished;
    say(`${listener} ${entry.method} ${entry.path} ${entry.range ? `[${entry.range}] ` : ''}→ ${entry.status} ${entry.bytes} B ${entry.ms} ms${entry.cut ? ` (cut: ${entry.cut})` : entry.done ? '' : ' (closed early)'}`);
  });

  if (!['GET', 'HEAD'].includes(req.method ?? '')) return answer(res, lib.jsonAnswer(405, { error: 'Method not allowed' }), head);

  if (listener === 'cdn') {
    if (r.kind !== 'cdn') return answer(res, lib.jsonAnswer(404, { error: 'Not found' }), head);
    await hashing;
    const found = bySha256.get(r.sha256);
    if (!found || url.searchParams.get('X-Signature') !== lib.sign(secret, r.sha256)) {
      return answer(res, { status: 403, headers: { 'Content-Type': 'application/xml' }, body: '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' }, head);
    }
    entry.repo = found.repo.id;
    entry.file = found.file.path;
    return serveFile(req, res, found.repo, found.file, lib.cdnHeaders(found.file, idOf(found.file)), entry);
  }

  if (r.kind === 'harnesses') return answer(res, lib.jsonAnswer(200, { standardEnvVars: [], harnesses: {} }), head);
  if (r.kind !== 'info' && r.kind !== 'tree' && r.kind !== 'resolve') return answer(res, lib.jsonAnswer(404, { error: 'Not found' }), head);

  if (c.who === 'invalid') return answer(res, lib.invalidCredentials(), head);
  const repo = hub.repos.get(r.repoId);
  if (!repo) return answer(res, lib.repoNotFound(c.who), head);
  const sha = lib.resolveRevision(repo, r.revision);
  if (!sha) return answer(res, lib.revisionNotFound(r.revision), head);
  await hashing;

  if (r.kind === 'info') {
    return answer(res, lib.jsonAnswer(200, lib.modelInfo(repo, ['1', 'true', 'True'].includes(url.searchParams.get('blobs') ?? ''), idOf)), head);
  }
  if (r.kind === 'tree') {
    const recursive = ['1', 'true', 'True'].includes(url.searchParams.get('recursive') ?? '');
    const entries = lib.treeEntries(repo, r.path, recursive, idOf);
    if (!entries) return answer(res, lib.entryNotFound(repo), head);
    const p = lib.page(entries, url.searchParams.get('cursor'), hub.treePageSize);
    const headers = {};
    if (p.next) {
      const next = new URL(url.pathname + url.search, `http://${req.headers.host ?? `localhost:${hubPort}`}`);
      next.searchParams.set('cursor', p.next);
      headers.Link = `<${next.href}>; rel="next"`;
    }
    return answer(res, lib.jsonAnswer(200, p.items, headers), head);
  }

  // resolve
  const denied = lib.gate(repo, c);
  if (denied) return answer(res, denied, head);
  const file = repo.files.find((f) => f.path === r.file);
  if (!file) return answer(res, lib.entryNotFound(repo), head);
  const id = idOf(file);
  const cdnOrigin = env.HUB_STANDIN_CDN_ORIGIN ?? lib.defaultCdnOrigin(req.headers.host, req.socket.localAddress, cdnPort);
  const cdnUrl = `${cdnOrigin}/lfs/${id.sha256}?X-Signature=${lib.sign(secret, id.sha256)}`;
  const h = lib.resolveHeaders(repo, file, id, cdnUrl);
  if (h.status === 302) return answer(res, { status: 302, headers: h.headers, body: '' }, head);
  return serveFile(req, res, repo, file, h.headers, entry);
}

function control(name, req, res) {
  const send = (status, obj) => answer(res, lib.jsonAnswer(status, obj), req.method === 'HEAD');
  if (name === 'ready' && req.method === 'GET') return send(ids.size === [...hub.repos.values()].reduce((n, r) => n + r.files.length, 0) ? 200 : 503, { files: ids.size });
  if (name === 'log' && req.method === 'GET') return send(200, { entries: log });
  if (name === 'reset' && req.method === 'POST') {
    log = [];
    cuts.clear();
    return send(200, { reset: true });
  }
  if (name === 'repos' && req.method === 'GET') {
    // What the tests compare downloads with: every file's size and identifiers.
    const out = {};
    for (const repo of hub.repos.values()) {
      out[repo.id] = { sha: repo.sha, refs: repo.refs, gated: repo.gated, files: repo.files.map((f) => ({ path: f.path, size: f.size, lfs: f.lfs, ...(ids.get(f) ?? {}) })) };
    }
    return send(200, out);
  }
  return send(404, { error: `unknown control ${req.method} /_standin/${name}` });
}

function listen(listener, port) {
  const server = http.createServer((req, res) => {
    handle(listener, req, res).catch((e) => {
      say(`error on ${req.method} ${req.url}: ${e?.stack ?? e}`);
      if (!res.headersSent) answer(res, lib.jsonAnswer(500, { error: 'stand-in error' }), false);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(port, '0.0.0.0');
  return server;
}

listen('hub', hubPort);
listen('cdn', cdnPort);
const total = [...hub.repos.values()].reduce((n, r) => n + r.files.reduce((m, f) => m + f.size, 0), 0);
say(`hub on :${hubPort}, cdn on :${cdnPort}; ${hub.repos.size} repo(s), ${(total / 1e6).toFixed(1)} MB; rate ${hub.rate ? `${hub.rate} B/s` : 'unlimited'}`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
