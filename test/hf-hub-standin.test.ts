// The Hugging Face Hub stand-in against the real Hugging Face client, in containers on a network
// without a way out: what `serve pull` (issue 23) will rely on. Every puller image
// (images/hf-puller/locks: huggingface_hub 2.4.0, the newest; 1.33.0; 0.36.2, the line of vLLM
// images on transformers 4) downloads a repo's weights, config and tokenizer into a cache volume
// like a model's, and meets a second download, a gated repo, an unknown repo, a cut and a reset
// connection; the newest also the rate limit.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without type declarations: the stand-in stays dependency-free JS
import * as lib from '../images/hf-hub-standin/lib.mjs';
import { docker } from './support/docker.js';
import {
  cacheListing,
  createCacheVolume,
  createHfNetwork,
  HF_HOME,
  type HubLogEntry,
  type HubStandin,
  type PullResult,
  pullerVersions,
  runPuller,
  snapshotDownload,
  startHubStandin,
} from './support/hf-hub.js';

const MB = 1_000_000;
const MiB = 1024 * 1024;
const DESCRIPTION = {
  // A token the hub knows (a user without access to the gated repo); any other is invalid.
  tokens: ['hf_test_user'],
  repos: {
    'org/model': {
      files: {
        'config.json': { json: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', torch_dtype: 'bfloat16' } },
        'generation_config.json': { json: { do_sample: true, temperature: 0.6 } },
        'model.safetensors.index.json': { json: { metadata: { total_size: 250 * MB }, weight_map: {} } },
        'model-00001-of-00002.safetensors': 150 * MB,
        'model-00002-of-00002.safetensors': 100 * MB,
        // Below the LFS threshold: a regular git file, served by the hub itself.
        'tokenizer.json': 2 * MB,
        'tokenizer_config.json': { json: { model_max_length: 32768 } },
        // Not for vLLM: the patterns leave these on the hub.
        'README.md': '# org/model\n',
        'pytorch_model.bin': 5 * MB,
        'original/consolidated.00.pth': 3 * MB,
      },
    },
    'org/gated': { gated: true, tokens: ['hf_test_granted'], files: { 'config.json': '{}', 'model.safetensors': MB } },
    // Cut once, after 15 MB: beyond the first 10 MiB chunk the client writes (it resumes from there).
    'org/cut': { files: { 'config.json': '{}', 'model.safetensors': { size: 30 * MB, cut: { at: 15 * MB } } } },
    // Reset (RST) once, after 15 MB.
    'org/reset': { files: { 'config.json': '{}', 'model.safetensors': { size: 30 * MB, cut: { at: 15 * MB, how: 'reset' } } } },
    'org/slow': { rate: 50 * MB, files: { 'config.json': '{}', 'model.safetensors': 200 * MB } },
  },
};
/** What a pull asks for: the weights (safetensors), config and tokenizer files. */
const PATTERNS = ['*.safetensors', '*.json', 'tokenizer*'];
const WANTED = [
  'config.json',
  'generation_config.json',
  'model-00001-of-00002.safetensors',
  'model-00002-of-00002.safetensors',
  'model.safetensors.index.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

/** sha256 of a file as the generator makes it, computed here (not by the stand-in). */
const parsed = lib.parseDescription(DESCRIPTION);
if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
function expectedSha256(repoId: string, path: string): string {
  const file = parsed.hub.repos.get(repoId).files.find((f: any) => f.path === path);
  const h = createHash('sha256');
  const read = lib.reader(file, 0);
  for (let left = file.size; left > 0; left -= 4 * MiB) h.update(read(Math.min(left, 4 * MiB)));
  return h.digest('hex');
}

const versions = pullerVersions();
let network = '';
let hub: HubStandin;
const volumes: string[] = [];
async function freshVolume(): Promise<string> {
  const v = await createCacheVolume();
  volumes.push(v);
  return v;
}

beforeAll(async () => {
  expect(versions).toContain('2.4.0');
  network = await createHfNetwork();
  hub = await startHubStandin({ network, description: DESCRIPTION });
}, 120_000);

afterAll(async () => {
  if (hub) await docker(['rm', '-f', '-v', hub.id], { allowFail: true });
  if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes], { allowFail: true });
  if (network) await docker(['network', 'rm', network], { allowFail: true });
});

/** A pull that succeeded; otherwise the client's exception and the end of its output. */
function expectPulled(r: PullResult): asserts r is Extract<PullResult, { ok: true }> {
  if (!r.ok) throw new Error(`the pull failed: ${r.module}.${r.error} (${r.status}): ${r.message}\n${r.run.stderr.slice(-3000)}`);
}

const fileRequests = (log: HubLogEntry[]) => log.filter((e) => e.kind === 'resolve' || e.kind === 'cdn');

describe.each(versions)('huggingface_hub %s', (version) => {
  const pull = (volume: string, repo: string, extra: { token?: string; patterns?: string[] } = {}) =>
    snapshotDownload({ version, network, volume, endpoint: hub.endpoint, repo, patterns: PATTERNS, ...extra });
  let volume = '';

  it('downloads only the weights, config and tokenizer files, byte for byte, into the HF cache layout', async () => {
    await hub.reset();
    volume = await freshVolume();
    const r = await pull(volume, 'org/model');
    expectPulled(r);
    const served = (await hub.repos())['org/model']!;
    const snapshot = `snapshots/${served.sha}`;
    expect(r.path).toBe(`${HF_HOME}/hub/models--org--model/${snapshot}`);

    const listing = await cacheListing(volume, 'hub/models--org--model', version);
    const at = (path: string) => listing.find((e) => e.path === path);
    for (const dir of ['blobs', 'refs', 'snapshots', snapshot]) expect(at(dir)?.type, dir).toBe('dir');
    expect(at('refs/main')).toMatchObject({ type: 'file', text: served.sha });
    const links = listing.filter((e) => e.path.startsWith(`${snapshot}/`));
    expect(links.map((e) => e.path.slice(snapshot.length + 1)).sort()).toEqual(WANTED);
    for (const path of WANTED) {
      const file = served.files.find((f) => f.path === path)!;
      // A relative link to the blob named by the file's ETag: its sha256 for LFS files, its git id otherwise.
      expect(file.etag).toBe(file.lfs ? file.sha256 : file.blobId);
      expect(at(`${snapshot}/${path}`), path).toEqual({ path: `${snapshot}/${path}`, type: 'link', target: `../../blobs/${file.etag}` });
      const blob = at(`blobs/${file.etag}`);
      expect(blob, path).toMatchObject({ type: 'file', size: file.size, sha256: expectedSha256('org/model', path) });
      expect(blob?.sha256).toBe(file.sha256);
    }
    expect(listing.filter((e) => e.path.endsWith('.incomplete'))).toEqual([]);
    expect(listing.filter((e) => e.path.startsWith('blobs/')).length).toBe(WANTED.length);

    // Only the wanted files were asked for; LFS files came from the CDN after a redirect, the
    // others from the hub itself; each file once.
    const log = await hub.log();
    expect([...new Set(fileRequests(log).map((e) => e.file))].sort()).toEqual(WANTED);
    for (const path of WANTED) {
      const lfs = served.files.find((f) => f.path === path)!.lfs;
      const asked = fileRequests(log).filter((e) => e.file === path).map((e) => `${e.listener} ${e.method} ${e.status}`);
      expect(asked, path).toEqual(lfs ? ['hub HEAD 302', 'cdn GET 200'] : ['hub HEAD 200', 'hub GET 200']);
    }
  });

  it('downloads nothing the second time: one look at the revision, no file requests', async () => {
    await hub.reset();
    const r = await pull(volume, 'org/model');
    expectPulled(r);
    const log = await hub.log();
    expect(fileRequests(log)).toEqual([]);
    expect(log.map((e) => `${e.method} ${e.path}`)).toEqual(['GET /api/models/org/model/revision/main']);
  });

  it('refuses a gated repo without a token or with one that has no access, and downloads it with one that has', async () => {
    await hub.reset();
    const v = await freshVolume();
    expect(await pull(v, 'org/gated')).toMatchObject({ ok: false, module: 'huggingface_hub.errors', error: 'GatedRepoError', status: 401 });
    expect(await pull(v, 'org/gated', { token: 'hf_test_user' })).toMatchObject({ ok: false, error: 'GatedRepoError', status: 403 });
    const invalid = await pull(v, 'org/gated', { token: 'hf_not_known' });
    expect(invalid).toMatchObject({ ok: false, error: 'HfHubHTTPError', status: 401 });
    expect(!invalid.ok && invalid.message).toContain('Invalid credentials in Authorization header');

    const granted = await pull(v, 'org/gated', { token: 'hf_test_granted' });
    expectPulled(granted);
    const listing = await cacheListing(v, 'hub/models--org--gated', version);
    expect(listing.find((e) => e.path.endsWith('/model.safetensors'))?.type).toBe('link');

    // The hub saw the token; the CDN never did (the client drops it on the way to another origin).
    const log = await hub.log();
    const granting = log.filter((e) => e.kind === 'resolve' && e.status === 302);
    expect(granting.map((e) => e.auth)).toEqual(['user']);
    expect(log.filter((e) => e.listener === 'cdn').map((e) => e.auth)).toEqual(['anonymous']);
    expect(JSON.stringify(log)).not.toContain('hf_test_granted');
  });

  it('reports an unknown repo as not found, with or without a token', async () => {
    const v = await freshVolume();
    expect(await pull(v, 'org/missing')).toMatchObject({ ok: false, module: 'huggingface_hub.errors', error: 'RepositoryNotFoundError', status: 401 });
    expect(await pull(v, 'org/missing', { token: 'hf_test_user' })).toMatchObject({ ok: false, error: 'RepositoryNotFoundError', status: 404 });
  });

  // huggingface_hub >= 1 (checked: 2.4.0) retries a cut transfer in the same run with a Range
  // request; 0.36 gives up on it, keeps `<blob>.incomplete` and continues it on the next run.
  const resumesInRun = Number(version.split('.')[0]) >= 1;
  it(`completes a file whose connection was cut, continuing it with a Range request (${resumesInRun ? 'in the same run' : 'on the next run'})`, async () => {
    await hub.reset();
    const v = await freshVolume();
    const first = await pull(v, 'org/cut');
    if (resumesInRun) {
      expectPulled(first);
    } else {
      expect(first).toMatchObject({ ok: false, module: 'requests.exceptions', error: 'ChunkedEncodingError' });
      const partial = await cacheListing(v, 'hub/models--org--cut', version);
      expect(partial.filter((e) => e.path.endsWith('.incomplete')).map((e) => e.size)).toEqual([10 * MiB]);
      const second = await pull(v, 'org/cut');
      expectPulled(second);
    }
    const served = (await hub.repos())['org/cut']!.files.find((f) => f.path === 'model.safetensors')!;
    const listing = await cacheListing(v, 'hub/models--org--cut', version);
    expect(listing.find((e) => e.path === `blobs/${served.sha256}`)).toMatchObject({ size: 30 * MB, sha256: expectedSha256('org/cut', 'model.safetensors') });
    expect(listing.filter((e) => e.path.endsWith('.incomplete'))).toEqual([]);

    // The client keeps whole 10 MiB chunks: it asks again from the last one it wrote.
    const cdn = (await hub.log()).filter((e) => e.listener === 'cdn');
    expect(cdn.map((e) => ({ range: e.range, status: e.status, bytes: e.bytes, cut: e.cut, done: e.done }))).toEqual([
      { range: null, status: 200, bytes: 15 * MB, cut: 'close', done: false },
      { range: `bytes=${10 * MiB}-`, status: 206, bytes: 30 * MB - 10 * MiB, cut: null, done: true },
    ]);
  });

  // A reset (RST) is no short body but a read error: >= 1 (checked: 1.33.0, 2.4.0) does not retry
  // it and deletes its partial file, the next run starts the file again; 0.36 treats it as a cut.
  it(`fails a file whose connection was reset, and ${resumesInRun ? 'downloads it again' : 'continues it'} on the next run`, async () => {
    await hub.reset();
    const v = await freshVolume();
    const first = await pull(v, 'org/reset');
    const partial = (await cacheListing(v, 'hub/models--org--reset', version)).filter((e) => e.path.endsWith('.incomplete'));
    if (resumesInRun) {
      expect(first).toMatchObject({ ok: false, error: 'ReadError', module: expect.stringMatching(/^httpx/) });
      expect(partial).toEqual([]);
    } else {
      expect(first).toMatchObject({ ok: false, module: 'requests.exceptions', error: 'ChunkedEncodingError' });
      expect(partial.map((e) => e.size)).toEqual([10 * MiB]);
    }
    const second = await pull(v, 'org/reset');
    expectPulled(second);
    const served = (await hub.repos())['org/reset']!.files.find((f) => f.path === 'model.safetensors')!;
    const listing = await cacheListing(v, 'hub/models--org--reset', version);
    expect(listing.find((e) => e.path === `blobs/${served.sha256}`)).toMatchObject({ size: 30 * MB, sha256: expectedSha256('org/reset', 'model.safetensors') });
    const cdn = (await hub.log()).filter((e) => e.listener === 'cdn');
    expect(cdn.map((e) => ({ range: e.range, bytes: e.bytes, cut: e.cut }))).toEqual([
      { range: null, bytes: 15 * MB, cut: 'reset' },
      resumesInRun ? { range: null, bytes: 30 * MB, cut: null } : { range: `bytes=${10 * MiB}-`, bytes: 30 * MB - 10 * MiB, cut: null },
    ]);
  });

  it('takes the patterns of `hf download --include` in the syntax of this version', async () => {
    await hub.reset();
    const v = await freshVolume();
    // argparse (0.x): one flag, several values; click (1.x, 2.x): the flag repeated. In the other
    // syntax 0.x keeps only the last pattern and 2.x takes the second pattern for a file name.
    const include = resumesInRun ? ['--include', 'config.json', '--include', 'tokenizer*'] : ['--include', 'config.json', 'tokenizer*'];
    const run = await runPuller({ version, network, volume: v, endpoint: hub.endpoint, args: ['hf', 'download', 'org/model', ...include] });
    expect(run.code, run.stderr).toBe(0);
    expect([...new Set(fileRequests(await hub.log()).map((e) => e.file))].sort()).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json']);
  });
});

describe('the rate limit', () => {
  it('makes a 200 MB file take about size / rate (50 MB/s: 4 s)', async () => {
    await hub.reset();
    const v = await freshVolume();
    const r = await snapshotDownload({ version: versions[0]!, network, volume: v, endpoint: hub.endpoint, repo: 'org/slow' });
    expectPulled(r);
    const [transfer] = (await hub.log()).filter((e) => e.listener === 'cdn');
    expect(transfer).toMatchObject({ file: 'model.safetensors', bytes: 200 * MB, done: true });
    // Never faster than the rate; slower only by what a busy machine adds (unlimited, the same
    // transfer takes well under a second here).
    expect(transfer!.ms).toBeGreaterThanOrEqual(3_950);
    expect(transfer!.ms).toBeLessThan(6_000);
    expect(r.run.seconds).toBeGreaterThan(4);
  });
});
