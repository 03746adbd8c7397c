import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without type declarations: the stand-in stays dependency-free JS
import * as lib from './lib.mjs';

const hub = (doc: object) => {
  const r = lib.parseDescription(doc);
  if (!r.ok) throw new Error(`expected the description to parse: ${r.errors.join('; ')}`);
  return r.hub;
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const idsOf = (file: any) => {
  const h = lib.idHasher(file);
  h.update(lib.contentOf(file));
  return h.done();
};

describe('parseDescription', () => {
  it('takes sizes, contents and JSON, and fills in what the Hub would have', () => {
    const h = hub({
      repos: {
        'org/m': {
          files: {
            'config.json': { json: { model_type: 'qwen3' } },
            'README.md': '# m\n',
            'tokenizer.json': 3000,
            'model.safetensors': 1000,
            'big.txt': 11 * 1024 * 1024,
            'small.bin': { size: 10, lfs: false },
          },
        },
      },
    });
    const repo = h.repos.get('org/m');
    expect(repo.refs).toEqual(['main']);
    expect(repo.gated).toBe(false);
    expect(repo.sha).toMatch(/^[0-9a-f]{40}$/);
    // Sorted by path (bytewise, as git does), LFS by extension or size (unless told), JSON
    // pretty-printed with a newline.
    expect(repo.files.map((f: any) => [f.path, f.size, f.lfs])).toEqual([
      ['README.md', 4, false],
      ['big.txt', 11 * 1024 * 1024, true],
      ['config.json', 28, false],
      ['model.safetensors', 1000, true],
      ['small.bin', 10, false],
      ['tokenizer.json', 3000, false],
    ]);
    expect(lib.contentOf(repo.files[2]).toString()).toBe('{\n  "model_type": "qwen3"\n}\n');
    expect(h.rate).toBe(0);
    expect(h.tokens).toBeNull();
  });

  it('gives a repo the same commit id every time, and another one when its files change', () => {
    const a = hub({ repos: { 'org/m': { files: { 'a.safetensors': 10 } } } }).repos.get('org/m').sha;
    expect(hub({ repos: { 'org/m': { files: { 'a.safetensors': 10 } } } }).repos.get('org/m').sha).toBe(a);
    expect(hub({ repos: { 'org/m': { files: { 'a.safetensors': 11 } } } }).repos.get('org/m').sha).not.toBe(a);
    expect(hub({ repos: { 'org/m': { sha: 'a'.repeat(40), files: { x: 1 } } } }).repos.get('org/m').sha).toBe('a'.repeat(40));
  });

  it('reports every problem at once, each with its path', () => {
    const r = lib.parseDescription({
      rate: -1,
      extra: 1,
      repos: {
        'not a repo': { files: { x: 1 } },
        'org/a': { tokens: ['t'], files: { '../x': 1, 'b.safetensors': { size: 10, cut: { at: 10 } }, 'c': { size: 1, content: 'x' } } },
        'org/b': { gated: 'yes', files: { d: 1, 'd/e': 2 } },
        'org/c': { files: {} },
      },
    });
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      'description.extra: unknown key (known: rate, tokens, treePageSize, repos)',
      'rate: must be bytes per second (a non-negative integer; 0 = unlimited)',
      'repos["not a repo"]: not a repo id (name or org/name of letters, digits, . _ -)',
      'repos["org/a"].tokens: only a gated repo grants access to tokens',
      'repos["org/a"].files["../x"]: not a relative file path',
      'repos["org/a"].files["b.safetensors"].cut.at: must be a byte offset inside the file (0 to 9)',
      'repos["org/a"].files["c"]: give exactly one of size, content, json',
      'repos["org/b"].gated: must be true, false, "auto" or "manual"',
      'repos["org/b"].files: "d" is a file and a folder',
      'repos["org/c"].files: must be an object of path → file, not empty',
    ]);
    expect(lib.parseDescription('{nope').errors[0]).toMatch(/^description: not JSON/);
  });

  it('reads cuts: once by default, a number of times, or always; closing or resetting', () => {
    const h = hub({ repos: { 'o/m': { files: { a: { size: 100, cut: { at: 50 } }, b: { size: 100, cut: { at: 1, times: 3, how: 'reset' } }, c: { size: 100, cut: { at: 0, times: 'always' } } } } } });
    expect(h.repos.get('o/m').files.map((f: any) => f.cut)).toEqual([
      { at: 50, times: 1, how: 'close' },
      { at: 1, times: 3, how: 'reset' },
      { at: 0, times: Infinity, how: 'close' },
    ]);
  });
});

describe('generated contents', () => {
  const h = hub({ repos: { 'o/m': { files: { 'a.safetensors': 100_003, 'b.safetensors': 100_003, 'c.txt': 'hello\n' } } } });
  const [a, b, c] = h.repos.get('o/m').files;

  it('are the same bytes every time, and differ between files', () => {
    const whole = lib.contentOf(a);
    expect(whole.length).toBe(100_003);
    expect(lib.contentOf(a).equals(whole)).toBe(true);
    expect(lib.contentOf(b).equals(whole)).toBe(false);
    const again = hub({ repos: { 'o/m': { files: { 'a.safetensors': 100_003 } } } }).repos.get('o/m').files[0];
    expect(sha256(lib.contentOf(again))).toBe(sha256(whole));
  });

  it('can be read from any offset, in pieces of any size (a Range request)', () => {
    const whole = lib.contentOf(a);
    for (const offset of [0, 1, 15, 16, 17, 65_537, 100_002]) {
      const read = lib.reader(a, offset);
      const parts = [read(7), read(4096), read(1_000_000)];
      expect(Buffer.concat(parts).equals(whole.subarray(offset))).toBe(true);
      expect(read(10).length).toBe(0);
    }
    expect(lib.reader(c, 2)(100).toString()).toBe('llo\n');
  });
});

describe('identifiers', () => {
  const h = hub({ repos: { 'o/m': { files: { 'README.md': 'hello\n', 'm.safetensors': 5000 } } } });
  const [readme, weights] = h.repos.get('o/m').files;

  it('name a regular file by its git blob id (the ETag the client keeps it under)', () => {
    const id = idsOf(readme);
    // `printf 'hello\n' | git hash-object --stdin`
    expect(id.blobId).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
    expect(id.etag).toBe(id.blobId);
    expect(id.pointer).toBeNull();
  });

  it('name an LFS file by its sha256, with the git id of its pointer in the tree', () => {
    const id = idsOf(weights);
    const sum = sha256(lib.contentOf(weights));
    expect(id.sha256).toBe(sum);
    expect(id.etag).toBe(sum);
    expect(id.pointer).toBe(`version https://git-lfs.github.com/spec/v1\noid sha256:${sum}\nsize 5000\n`);
    expect(id.blobId).toBe(lib.gitBlobId(Buffer.from(id.pointer)));
  });
});

describe('route', () => {
  it('knows the requests huggingface_hub makes', () => {
    expect(lib.route('/api/models/org/name/revision/main')).toEqual({ kind: 'info', repoId: 'org/name', revision: 'main' });
    expect(lib.route('/api/models/gpt2/revision/refs%2Fpr%2F1')).toEqual({ kind: 'info', repoId: 'gpt2', revision: 'refs/pr/1' });
    expect(lib.route('/api/models/org/name')).toEqual({ kind: 'info', repoId: 'org/name', revision: null });
    expect(lib.route('/api/models/org/name/tree/abc')).toEqual({ kind: 'tree', repoId: 'org/name', revision: 'abc', path: '' });
    expect(lib.route('/api/models/gpt2/tree/main/sub/dir')).toEqual({ kind: 'tree', repoId: 'gpt2', revision: 'main', path: 'sub/dir' });
    expect(lib.route('/org/name/resolve/main/original/consolidated%2000.pth')).toEqual({ kind: 'resolve', repoId: 'org/name', revision: 'main', file: 'original/consolidated 00.pth' });
    expect(lib.route('/gpt2/resolve/v1.0/config.json')).toEqual({ kind: 'resolve', repoId: 'gpt2', revision: 'v1.0', file: 'config.json' });
    expect(lib.route('/api/agent-harnesses')).toEqual({ kind: 'harnesses' });
    expect(lib.route(`/lfs/${'a'.repeat(64)}`)).toEqual({ kind: 'cdn', sha256: 'a'.repeat(64) });
    expect(lib.route('/_standin/log')).toEqual({ kind: 'control', name: 'log' });
  });

  it('leaves the rest alone', () => {
    for (const p of ['/', '/api/models', '/api/models/o/n/commits/main', '/o/n/blob/main/x', '/o/n/resolve/main', '/lfs/xyz', '/api/datasets/o/n']) {
      expect(lib.route(p)).toEqual({ kind: 'unknown' });
    }
  });
});

describe('revisions, tree and info', () => {
  const h = hub({ repos: { 'o/m': { refs: ['main', 'v1'], files: { 'config.json': '{}', 'm.safetensors': 20, 'sub/a.txt': 'a', 'sub/deep/b.txt': 'b' } } } });
  const repo = h.repos.get('o/m');

  it('resolves a branch, a tag or the commit id, nothing else', () => {
    expect(lib.resolveRevision(repo, 'main')).toBe(repo.sha);
    expect(lib.resolveRevision(repo, 'v1')).toBe(repo.sha);
    expect(lib.resolveRevision(repo, repo.sha)).toBe(repo.sha);
    expect(lib.resolveRevision(repo, null)).toBe(repo.sha);
    expect(lib.resolveRevision(repo, 'dev')).toBeNull();
    expect(lib.resolveRevision(repo, repo.sha.slice(0, 7))).toBeNull();
  });

  it('lists files (with lfs for LFS files) and folders, recursively or one level', () => {
    const all = lib.treeEntries(repo, '', true, idsOf);
    expect(all.map((e: any) => `${e.type} ${e.path}`)).toEqual(['file config.json', 'file m.safetensors', 'directory sub', 'file sub/a.txt', 'directory sub/deep', 'file sub/deep/b.txt']);
    const weights = all.find((e: any) => e.path === 'm.safetensors');
    expect(weights).toEqual({ type: 'file', oid: expect.stringMatching(/^[0-9a-f]{40}$/), size: 20, path: 'm.safetensors', lfs: { oid: idsOf(repo.files[1]).sha256, size: 20, pointerSize: 127 } });
    expect(all.find((e: any) => e.path === 'config.json').lfs).toBeUndefined();
    expect(lib.treeEntries(repo, '', false, idsOf).map((e: any) => e.path)).toEqual(['config.json', 'm.safetensors', 'sub']);
    expect(lib.treeEntries(repo, 'sub', false, idsOf).map((e: any) => e.path)).toEqual(['sub/a.txt', 'sub/deep']);
    expect(lib.treeEntries(repo, 'nope', true, idsOf)).toBeNull();
  });

  it('pages a listing with an opaque cursor that ends on the last page', () => {
    const entries = Array.from({ length: 7 }, (_, i) => i);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: { items: number[]; next: string | null } = lib.page(entries, cursor, 3);
      seen.push(...p.items);
      cursor = p.next;
      pages++;
    } while (cursor);
    expect(seen).toEqual(entries);
    expect(pages).toBe(3);
    expect(lib.page(entries, null, 1000).next).toBeNull();
  });

  it('answers the model info with sha and siblings (sizes and LFS data with blobs)', () => {
    const info = lib.modelInfo(repo, false, idsOf);
    expect(info).toMatchObject({ id: 'o/m', modelId: 'o/m', author: 'o', sha: repo.sha, private: false, gated: false });
    expect(info.siblings).toEqual([{ rfilename: 'config.json' }, { rfilename: 'm.safetensors' }, { rfilename: 'sub/a.txt' }, { rfilename: 'sub/deep/b.txt' }]);
    const withBlobs = lib.modelInfo(repo, true, idsOf);
    expect(withBlobs.siblings[1]).toEqual({ rfilename: 'm.safetensors', size: 20, blobId: expect.any(String), lfs: { sha256: idsOf(repo.files[1]).sha256, size: 20, pointerSize: 127 } });
  });
});

describe('tokens, gating and errors', () => {
  const doc = { repos: { 'o/open': { files: { a: 'a' } }, 'o/gated': { gated: true, tokens: ['hf_granted'], files: { a: 'a' } } } };

  it('tells anonymous callers, known tokens and unknown ones apart', () => {
    const open = hub(doc);
    expect(lib.caller(open, undefined)).toEqual({ who: 'anonymous', token: null });
    expect(lib.caller(open, 'Bearer hf_any')).toEqual({ who: 'user', token: 'hf_any' });
    const strict = hub({ ...doc, tokens: ['hf_user'] });
    expect(lib.caller(strict, 'Bearer hf_user').who).toBe('user');
    expect(lib.caller(strict, 'bearer hf_granted').who).toBe('user');
    expect(lib.caller(strict, 'Bearer hf_other').who).toBe('invalid');
    expect(lib.caller(strict, 'Basic abc').who).toBe('anonymous');
  });

  it('gates files: 401 without a token, 403 for one without access, the GatedRepo code either way', () => {
    const h = hub(doc);
    const gated = h.repos.get('o/gated');
    expect(lib.gate(h.repos.get('o/open'), { who: 'anonymous', token: null })).toBeNull();
    expect(lib.gate(gated, { who: 'user', token: 'hf_granted' })).toBeNull();
    const anon = lib.gate(gated, { who: 'anonymous', token: null });
    expect(anon.status).toBe(401);
    expect(anon.headers['X-Error-Code']).toBe('GatedRepo');
    expect(anon.headers['X-Error-Message']).toBe('Access to model o/gated is restricted. You must have access to it and be authenticated to access it. Please log in.');
    const other = lib.gate(gated, { who: 'user', token: 'hf_other' });
    expect(other.status).toBe(403);
    expect(other.headers['X-Error-Code']).toBe('GatedRepo');
    expect(other.headers['X-Error-Message']).toContain('you are not in the authorized list');
  });

  it('answers an unknown repo 401 to strangers and 404 to users, RepoNotFound either way', () => {
    expect(lib.repoNotFound('anonymous')).toMatchObject({ status: 401, headers: { 'X-Error-Code': 'RepoNotFound' } });
    expect(lib.repoNotFound('user')).toMatchObject({ status: 404, headers: { 'X-Error-Code': 'RepoNotFound' } });
    expect(lib.revisionNotFound('dev')).toMatchObject({ status: 404, headers: { 'X-Error-Code': 'RevisionNotFound', 'X-Error-Message': 'Invalid rev id: dev' } });
    expect(lib.invalidCredentials()).toMatchObject({ status: 401, headers: { 'X-Error-Message': 'Invalid credentials in Authorization header' } });
    expect(lib.invalidCredentials().headers['X-Error-Code']).toBeUndefined();
  });
});

describe('resolve headers', () => {
  const h = hub({ repos: { 'o/m': { files: { 'config.json': '{}', 'm.safetensors': 20 } } } });
  const repo = h.repos.get('o/m');

  it('send a regular file with its git id as ETag and the commit', () => {
    const [config] = repo.files;
    const r = lib.resolveHeaders(repo, config, idsOf(config), 'unused');
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ ETag: `"${idsOf(config).blobId}"`, 'X-Repo-Commit': repo.sha, 'Accept-Ranges': 'bytes' });
    expect(r.headers['X-Linked-Etag']).toBeUndefined();
  });

  it('redirect an LFS file to the CDN with the linked ETag and size', () => {
    const weights = repo.files[1];
    const id = idsOf(weights);
    const r = lib.resolveHeaders(repo, weights, id, 'http://cdn:8081/lfs/x');
    expect(r.status).toBe(302);
    expect(r.headers).toMatchObject({ Location: 'http://cdn:8081/lfs/x', 'X-Linked-Etag': `"${id.sha256}"`, 'X-Linked-Size': '20', ETag: `"${id.blobId}"`, 'X-Repo-Commit': repo.sha });
    expect(lib.contentDisposition('sub/m.safetensors')).toBe(`inline; filename*=UTF-8''m.safetensors; filename="m.safetensors";`);
  });
});

describe('defaultCdnOrigin', () => {
  it('puts the CDN on another host than the one the client asked for, not only another port', () => {
    expect(lib.defaultCdnOrigin('hf-hub:8080', '172.18.0.2', 8081)).toBe('http://172.18.0.2:8081');
    expect(lib.defaultCdnOrigin('hf-hub:8080', '::ffff:172.18.0.2', 8081)).toBe('http://172.18.0.2:8081');
    expect(lib.defaultCdnOrigin('hf-hub:8080', 'fd00::2', 8081)).toBe('http://[fd00::2]:8081');
    expect(lib.defaultCdnOrigin('127.0.0.1:18080', '127.0.0.1', 18081)).toBe('http://localhost:18081');
    expect(lib.defaultCdnOrigin('localhost:18080', '::ffff:127.0.0.1', 18081)).toBe('http://127.0.0.1:18081');
  });
});

describe('parseRange', () => {
  it('reads the ranges the client sends, and says when one cannot be served', () => {
    expect(lib.parseRange(undefined, 100)).toBeNull();
    expect(lib.parseRange('bytes=10-', 100)).toEqual({ start: 10, end: 100 });
    expect(lib.parseRange('bytes=10-19', 100)).toEqual({ start: 10, end: 20 });
    expect(lib.parseRange('bytes=90-200', 100)).toEqual({ start: 90, end: 100 });
    expect(lib.parseRange('bytes=-30', 100)).toEqual({ start: 70, end: 100 });
    expect(lib.parseRange('bytes=100-', 100)).toEqual({ unsatisfiable: true });
    expect(lib.parseRange('bytes=20-10', 100)).toEqual({ unsatisfiable: true });
    expect(lib.parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(lib.parseRange('items=1-2', 100)).toBeNull();
  });
});

describe('cutAfter', () => {
  const h = hub({ repos: { 'o/m': { files: { once: { size: 100, cut: { at: 50 } }, always: { size: 100, cut: { at: 50, times: 'always' } }, none: 100 } } } });
  const [always, none, once] = h.repos.get('o/m').files;

  it('cuts a response that covers the offset, as many times as asked', () => {
    expect(lib.cutAfter(once, 0, 100, 0)).toBe(50);
    expect(lib.cutAfter(once, 0, 100, 1)).toBeNull();
    expect(lib.cutAfter(once, 40, 100, 0)).toBe(10);
    expect(lib.cutAfter(once, 60, 100, 0)).toBeNull();
    expect(lib.cutAfter(once, 0, 50, 0)).toBeNull();
    expect(lib.cutAfter(always, 50, 100, 99)).toBe(0);
    expect(lib.cutAfter(none, 0, 100, 0)).toBeNull();
  });
});

describe('RateLimiter', () => {
  it('spreads a transfer over size / rate seconds', () => {
    const limiter = new lib.RateLimiter(1000);
    const waits = Array.from({ length: 10 }, () => limiter.reserve(100, 0));
    expect(waits).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });

  it('shares the rate between transfers and saves no idle time for later', () => {
    const limiter = new lib.RateLimiter(1000);
    expect(limiter.reserve(500, 0)).toBe(500);
    expect(limiter.reserve(500, 0)).toBe(1000);
    // Idle from 1000 to 5000 ms: the next chunk still takes its full time.
    expect(limiter.reserve(100, 5000)).toBe(100);
  });

  it('does not wait without a rate, and writes in pieces that fit the rate', () => {
    expect(new lib.RateLimiter(0).reserve(1e9, 0)).toBe(0);
    expect(new lib.RateLimiter(0).chunkSize()).toBe(256 * 1024);
    expect(new lib.RateLimiter(50 * 1024 * 1024).chunkSize()).toBe(64 * 1024);
    expect(new lib.RateLimiter(10_000).chunkSize()).toBe(1024);
  });
});
