// Model weights against the real daemon: the Hugging Face Hub stand-in (images/hf-hub-standin) on a
// network without a way out, and the real huggingface_hub client of the puller images
// (images/hf-puller: 2.4.0, 1.33.0, 0.36.2) standing in for the client a model's vLLM image ships.
// pullWeights fetches only the files vLLM loads into the cache volume the model mounts, byte for
// byte, says so when there is nothing to do, goes on after a reset connection, refuses what would
// fill the disk, and stops cleanly; cacheState reads the cache without the network; every
// container it runs is labelled and removed. The vLLM stand-in image (Node, no python3) plays a
// custom image without a Hugging Face client.
import { parseConfig, type ModelSpec } from '@inferstack/config';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker as dockerCli, sessionLabel, STANDIN_IMAGE, testSession } from '../../../test/support/docker.js';
import { cacheListing, createCacheVolume, createHfNetwork, HF_HUB_STANDIN_IMAGE, type HubStandin, pullerImage, pullerVersions, startHubStandin } from '../../../test/support/hf-hub.js';
import {
  OperationAbortedError,
  WeightsAccessError,
  WeightsClientMissingError,
  WeightsNoSpaceError,
  WeightsNotFoundError,
  type WeightsEvent,
  cacheDiskSpace,
  cacheState,
  inspectWeights,
  pullWeights,
} from '../src/index.js';

const MB = 1_000_000;
const docker = new Docker();
const session = testSession();
const labels = { 'inferstack.test': session };
const GRANTED = 'hf_test_granted_0123456789';
const USER = 'hf_test_user_0123456789';
const DESCRIPTION = {
  tokens: [USER],
  repos: {
    'org/model': {
      files: {
        'config.json': { json: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3' } },
        'generation_config.json': { json: { temperature: 0.6 } },
        'model.safetensors.index.json': { json: { metadata: {}, weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' } } },
        'model-00001-of-00002.safetensors': 24 * MB,
        'model-00002-of-00002.safetensors': 16 * MB,
        'tokenizer.json': 2 * MB,
        'tokenizer_config.json': { json: { model_max_length: 32768 } },
        'README.md': '# org/model\n',
        'pytorch_model.bin': 5 * MB,
        'original/consolidated.00.pth': 3 * MB,
      },
    },
    'org/gated': { gated: true, tokens: [GRANTED], rate: 4 * MB, files: { 'config.json': '{}', 'model.safetensors': 6 * MB } },
    // Reset (RST) once, after 15 MB: huggingface_hub 1.x and 2.x do not retry that themselves.
    'org/reset': { files: { 'config.json': '{}', 'model.safetensors': { size: 30 * MB, cut: { at: 15 * MB, how: 'reset' } } } },
    'org/slow': { rate: 8 * MB, files: { 'config.json': '{}', 'model.safetensors': 40 * MB } },
    'org/abort': { rate: 4 * MB, files: { 'config.json': '{}', 'model.safetensors': 40 * MB } },
    'org/tok': { files: { 'tokenizer.json': 100_000, 'tokenizer_config.json': '{}', 'model.safetensors': 3 * MB } },
  },
};
const NEWEST = '2.4.0';

let network = '';
let hub: HubStandin;
const volumes: string[] = [];

beforeAll(async () => {
  network = await createHfNetwork();
  hub = await startHubStandin({ network, description: DESCRIPTION });
}, 120_000);

afterAll(async () => {
  if (hub) await dockerCli(['rm', '-f', '-v', hub.id], { allowFail: true });
  if (volumes.length) await dockerCli(['volume', 'rm', '-f', ...volumes], { allowFail: true });
  if (network) await dockerCli(['network', 'rm', network], { allowFail: true });
});

async function volume(options: string[] = []): Promise<string> {
  const name = `inferstack-test-${session}-w${Math.random().toString(36).slice(2, 8)}`;
  await dockerCli(['volume', 'create', '--label', sessionLabel(), ...options, name]);
  volumes.push(name);
  return name;
}

/** A model as models.yaml gives it, with its Hugging Face cache on `cache` (a named volume). */
function model(options: Record<string, unknown>, settings: Record<string, string> = {}): ModelSpec {
  const yaml = `models:\n  - m-${Math.random().toString(36).slice(2, 8)}: ${JSON.stringify({ gpus: 'none', pull: 'never', ...options })}\n`;
  return parseConfig(yaml, { file: 'models.yaml', cwd: '/tmp', homeDir: '/tmp', settings }).models[0]!;
}

const base = (version = NEWEST) => ({ env: { HF_ENDPOINT: hub.endpoint }, network, labels, image: pullerImage(version), retry: { baseDelayMs: 200 } });

async function leftovers(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`inferstack.test=${session}`, 'inferstack.kind=weights'] } });
  return list.map((c) => c.Names[0] ?? c.Id);
}

const files = async (cache: string) => (await cacheListing(cache)).filter((e) => e.type !== 'dir');

describe.each(pullerVersions())('huggingface_hub %s as the model image\'s client', (version) => {
  it('pulls the files vLLM loads, byte for byte; a second pull is a no-op that says so; the cache then reads complete without the network', async () => {
    const cache = await createCacheVolume();
    volumes.push(cache);
    const spec = model({ model: 'org/model', image: pullerImage(version), volumes: [`${cache}:/root/.cache/huggingface`] });
    await hub.reset();
    const events: WeightsEvent[] = [];
    const result = await pullWeights(docker, spec, { ...base(version), onEvent: (e) => events.push(e) });
    const served = (await hub.repos())['org/model']!;
    const wanted = served.files.filter((f) => !['README.md', 'pytorch_model.bin', 'original/consolidated.00.pth'].includes(f.path));
    expect(result).toMatchObject({ key: spec.key, files: 7, bytes: wanted.reduce((n, f) => n + f.size, 0), alreadyComplete: false, offline: { ready: true } });
    expect(result.downloadedBytes).toBe(result.bytes);
    expect(result.commits).toEqual({ 'org/model': served.sha });

    // Only the files vLLM loads, each a link to a blob with the Hub's bytes; the ref of main.
    const listing = await files(cache);
    const snapshot = `models--org--model/snapshots/${served.sha}/`;
    const links = listing.filter((e) => e.type === 'link' && e.path.startsWith(snapshot)).map((e) => e.path.slice(snapshot.length)).sort();
    expect(links).toEqual(['config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']);
    for (const f of served.files.filter((x) => links.includes(x.path))) {
      expect(listing.find((e) => e.path === `models--org--model/blobs/${f.etag}`)?.sha256, f.path).toBe(f.sha256);
    }
    expect(listing.find((e) => e.path === 'models--org--model/refs/main')?.text).toBe(served.sha);
    expect(listing.some((e) => e.path.endsWith('.incomplete'))).toBe(false);

    // Events a person can follow: listed, bytes rising to the total, each file, done.
    expect(events[0]).toMatchObject({ type: 'weights-listed', repo: 'org/model', revision: 'main', commit: served.sha, files: 7, missingBytes: result.bytes, client: version });
    const progress = events.filter((e): e is Extract<WeightsEvent, { type: 'weights-progress' }> => e.type === 'weights-progress');
    expect(progress.at(-1)).toMatchObject({ doneBytes: result.bytes, totalBytes: result.bytes, filesDone: 7, files: 7 });
    expect(progress.map((p) => p.doneBytes)).toEqual([...progress.map((p) => p.doneBytes)].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === 'weights-file').map((e) => (e as { path: string }).path).sort()).toEqual(links);
    expect(events.at(-1)).toMatchObject({ type: 'weights-done', alreadyComplete: false, files: 7 });
    expect(await leftovers()).toEqual([]);

    // Again: one request to the Hub (the revision's info), nothing written, said so.
    await hub.reset();
    const again: WeightsEvent[] = [];
    const second = await pullWeights(docker, spec, { ...base(version), onEvent: (e) => again.push(e) });
    expect(second).toMatchObject({ alreadyComplete: true, downloadedBytes: 0, bytes: result.bytes, files: 7 });
    expect(again.map((e) => e.type)).toEqual(['weights-listed', 'weights-done']);
    expect((await hub.log()).map((e) => e.kind)).toEqual(['info']);
    expect(await files(cache)).toEqual(listing);

    // Without the network: complete, at the commit main points to, startable offline.
    const state = await cacheState(docker, spec, base(version));
    expect(state).toMatchObject({ complete: true, bytes: result.bytes, totalBytes: result.bytes, commits: { 'org/model': served.sha }, offline: { ready: true } });
    // 0.36.2 keeps no file list of the commit: the snapshot itself is read.
    expect(state.basis).toBe(version.startsWith('0.') ? 'snapshot' : 'tree-cache');
    expect(state.disk.freeBytes).toBeGreaterThan(0);
    expect(await leftovers()).toEqual([]);
  });

  it('goes on after a connection reset (which the client does not retry itself, or leaves to the next run)', async () => {
    const cache = await createCacheVolume();
    volumes.push(cache);
    const spec = model({ model: 'org/reset', image: pullerImage(version), volumes: [`${cache}:/root/.cache/huggingface`] });
    await hub.reset();
    const events: WeightsEvent[] = [];
    const result = await pullWeights(docker, spec, { ...base(version), onEvent: (e) => events.push(e) });
    expect(result).toMatchObject({ alreadyComplete: false, bytes: 30 * MB + 2 });
    const retries = events.filter((e) => e.type === 'weights-retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ repo: 'org/reset', attempt: 1, delayMs: 200, reason: expect.stringMatching(/^the download of org\/reset was interrupted: (ReadError|ChunkedEncodingError)/) });
    // 0.x keeps the partial file and asks for the rest; 1.x and 2.x start the file again.
    const cdn = (await hub.log()).filter((e) => e.listener === 'cdn');
    expect(cdn.map((e) => ({ range: e.range, cut: e.cut }))).toEqual([
      { range: null, cut: 'reset' },
      { range: version.startsWith('0.') ? `bytes=${10 * 1024 * 1024}-` : null, cut: null },
    ]);
    const served = (await hub.repos())['org/reset']!;
    const blob = served.files.find((f) => f.path === 'model.safetensors')!;
    expect((await files(cache)).find((e) => e.path === `models--org--reset/blobs/${blob.etag}`)?.sha256).toBe(blob.sha256);
    expect(await leftovers()).toEqual([]);
  });
});

describe(`pullWeights with huggingface_hub ${NEWEST}`, () => {
  it('reports the rate and the time left, and stops cleanly when cancelled: nothing half-written stays, a new pull completes', async () => {
    const cache = await volume();
    const spec = model({ model: 'org/abort', image: pullerImage(NEWEST), volumes: [`${cache}:/root/.cache/huggingface`] });
    const controller = new AbortController();
    const seen: Array<Extract<WeightsEvent, { type: 'weights-progress' }>> = [];
    const cancelled = pullWeights(docker, spec, {
      ...base(),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type !== 'weights-progress') return;
        seen.push(e);
        if (e.doneBytes >= 16 * MB) controller.abort();
      },
    });
    await expect(cancelled).rejects.toBeInstanceOf(OperationAbortedError);
    const rated = seen.filter((p) => p.bytesPerSecond !== undefined && p.bytesPerSecond > 0);
    expect(rated.length).toBeGreaterThan(0);
    // The stand-in sends this repo at 4 MB/s at most; our side measures it from the bytes on disk.
    for (const p of rated) {
      expect(p.bytesPerSecond!).toBeLessThan(6 * MB);
      expect(p.etaSeconds!).toBeCloseTo((p.totalBytes - p.doneBytes) / p.bytesPerSecond!, 3);
    }
    expect(await leftovers()).toEqual([]);
    // huggingface_hub 2.x cannot resume its per-process temporary file: the program removed it.
    expect((await files(cache)).filter((e) => e.path.endsWith('.incomplete'))).toEqual([]);
    const state = await cacheState(docker, spec, base());
    expect(state).toMatchObject({ complete: false, offline: { ready: false } });

    const done = await pullWeights(docker, spec, base());
    expect(done).toMatchObject({ alreadyComplete: false, bytes: 40 * MB + 2 });
    expect(await cacheState(docker, spec, base())).toMatchObject({ complete: true, basis: 'tree-cache' });
  });

  it('a gated repo: without a token, with a token without access, with access; the token is in no event, message, argv or label', async () => {
    const cache = await volume();
    const options = { model: 'org/gated', image: pullerImage(NEWEST), volumes: [`${cache}:/root/.cache/huggingface`] };
    const noToken = pullWeights(docker, model(options), base());
    await expect(noToken).rejects.toBeInstanceOf(WeightsAccessError);
    await expect(noToken).rejects.toMatchObject({ reason: 'gated-no-token', hint: expect.stringContaining('accept the model\'s licence at http://hf-hub:8080/org/gated') });

    const denied = await pullWeights(docker, model(options, { HF_TOKEN: USER }), base()).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(WeightsAccessError);
    expect(denied).toMatchObject({ reason: 'no-access' });
    expect(JSON.stringify({ ...(denied as object), message: (denied as Error).message })).not.toContain(USER);

    const events: WeightsEvent[] = [];
    const seenContainers: Array<{ cmd: string; labels: string; env: string[] }> = [];
    const granted = await pullWeights(docker, model(options, { HF_TOKEN: GRANTED }), {
      ...base(),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'weights-progress' && seenContainers.length === 0 && e.doneBytes > 0) {
          void docker.listContainers({ filters: { label: [`inferstack.test=${session}`, 'inferstack.kind=weights'] } }).then(async (list) => {
            for (const c of list) {
              const info = await docker.getContainer(c.Id).inspect();
              seenContainers.push({ cmd: JSON.stringify([info.Config.Entrypoint, info.Config.Cmd]), labels: JSON.stringify(info.Config.Labels), env: info.Config.Env });
            }
          });
        }
      },
    });
    expect(granted).toMatchObject({ alreadyComplete: false, bytes: 6 * MB + 2 });
    expect(JSON.stringify(events)).not.toContain(GRANTED);
    await new Promise((r) => setTimeout(r, 500));
    expect(seenContainers.length).toBeGreaterThan(0);
    for (const c of seenContainers) {
      expect(c.cmd).not.toContain(GRANTED);
      expect(c.labels).not.toContain(GRANTED);
      expect(c.env).toContain(`HF_TOKEN=${GRANTED}`);
    }
    // The CDN never saw the token (the client drops it for another host).
    expect((await hub.log()).filter((e) => e.listener === 'cdn' && e.auth !== 'anonymous')).toEqual([]);
  });

  it('a model id or revision that does not exist is an answer, not retried', async () => {
    const cache = await volume();
    const started = Date.now();
    await expect(pullWeights(docker, model({ model: 'org/nope', image: pullerImage(NEWEST), volumes: [`${cache}:/root/.cache/huggingface`] }), base())).rejects.toMatchObject({
      constructor: WeightsNotFoundError,
      what: 'repo',
      message: expect.stringContaining('org/nope (the model of'),
    });
    await expect(pullWeights(docker, model({ model: 'org/model', revision: 'v9', image: pullerImage(NEWEST), volumes: [`${cache}:/root/.cache/huggingface`] }), base())).rejects.toMatchObject({
      constructor: WeightsNotFoundError,
      what: 'revision',
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses what would not fit on the cache disk, with the numbers, before downloading anything', async () => {
    const small = await volume(['--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=20m']);
    const spec = model({ model: 'org/slow', image: pullerImage(NEWEST), volumes: [`${small}:/root/.cache/huggingface`] });
    const disk = await cacheDiskSpace(docker, spec, base());
    expect(disk).toMatchObject({ path: '/root/.cache/huggingface/hub', totalBytes: 20 * 1024 * 1024 });
    const inspection = await inspectWeights(docker, spec, base());
    expect(inspection).toMatchObject({ totalBytes: 40 * MB + 2, missingBytes: 40 * MB + 2, complete: false, disk: { device: disk.device } });
    await hub.reset();
    const refused = await pullWeights(docker, spec, base()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WeightsNoSpaceError);
    expect(refused).toMatchObject({ neededBytes: 40 * MB + 2, freeBytes: disk.freeBytes, path: '/root/.cache/huggingface/hub' });
    expect((refused as Error).message).toMatch(/^not enough space for org\/slow: 40\.0 MB to download, 2\d\.\d MB free on the disk of the Hugging Face cache/);
    expect((await hub.log()).filter((e) => e.kind === 'cdn' || e.kind === 'resolve')).toEqual([]);
  });

  it('download-dir on its own volume and a tokenizer from another repo go where vLLM reads them', async () => {
    const cache = await volume();
    const models = await volume();
    const spec = model({ model: 'org/model', image: pullerImage(NEWEST), volumes: [`${cache}:/root/.cache/huggingface`, `${models}:/models`], 'download-dir': '/models', tokenizer: 'org/tok' });
    const result = await pullWeights(docker, spec, base());
    expect(Object.keys(result.commits).sort()).toEqual(['org/model', 'org/tok']);
    const inModels = (await cacheListing(models, '.')).filter((e) => e.type === 'link').map((e) => e.path.split('/').at(-1)).sort();
    expect(inModels).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const inCache = (await files(cache)).filter((e) => e.type === 'link').map((e) => e.path.replace(/snapshots\/[0-9a-f]+\//, '')).sort();
    expect(inCache).toEqual([
      'models--org--model/config.json',
      'models--org--model/generation_config.json',
      'models--org--model/model.safetensors.index.json',
      'models--org--model/tokenizer.json',
      'models--org--model/tokenizer_config.json',
      'models--org--tok/tokenizer.json',
      'models--org--tok/tokenizer_config.json',
    ]);
    expect(await cacheState(docker, spec, base())).toMatchObject({ complete: true });
  });
});

describe('an image without a Hugging Face client', () => {
  it('is said so; with a fallback image, that image\'s client pulls into the same cache', async () => {
    const cache = await volume();
    const spec = model({ model: 'org/tok', image: STANDIN_IMAGE, volumes: [`${cache}:/root/.cache/huggingface`] });
    const options = { env: { HF_ENDPOINT: hub.endpoint }, network, labels };
    // No python3 at all (a Node image), a python3 that is no Python (the vLLM stand-in's shim), python3 without huggingface_hub.
    await expect(pullWeights(docker, spec, { ...options, image: HF_HUB_STANDIN_IMAGE })).rejects.toMatchObject({ constructor: WeightsClientMissingError, image: HF_HUB_STANDIN_IMAGE, message: expect.stringContaining('no python3') });
    await expect(pullWeights(docker, spec, options)).rejects.toMatchObject({ constructor: WeightsClientMissingError, image: STANDIN_IMAGE, message: expect.stringContaining('its python3 did not run the program (exit 1') });
    await expect(pullWeights(docker, spec, { ...options, image: 'inferstack-test/debian-python:bookworm' })).rejects.toMatchObject({ message: expect.stringContaining('no huggingface_hub') });
    const events: WeightsEvent[] = [];
    const result = await pullWeights(docker, spec, { ...options, fallbackImage: pullerImage(NEWEST), onEvent: (e) => events.push(e) });
    expect(result).toMatchObject({ alreadyComplete: false, files: 3 });
    expect(events[0]).toMatchObject({ type: 'weights-fallback', image: STANDIN_IMAGE, fallback: pullerImage(NEWEST) });
    expect(await leftovers()).toEqual([]);
  });
});
