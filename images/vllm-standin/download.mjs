// What vLLM does before it loads a model that is not a local path: download its weights from the
// Hub into the Hugging Face cache with huggingface_hub's snapshot_download (progress bars
// disabled), or, with HF_HUB_OFFLINE=1, find them there without asking. The stand-in imitates it
// only with STANDIN_DOWNLOAD=1 (tests and benchmarks against the Hub stand-in, where the time of
// a download inside vLLM is the point); it speaks the same requests the real client makes (the
// revision's info, then `resolve` per file, following the redirect of LFS files to the CDN) and
// writes the same cache layout (blobs by etag, snapshot links, refs), so the real client reads
// what it wrote and the other way round. See images/hf-hub-standin/README.md for the requests.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The files vLLM loads: safetensors (else .bin), their index, config and tokenizer files. */
function needed(names) {
  const safetensors = names.filter((n) => n.endsWith('.safetensors'));
  const weights = safetensors.length > 0 ? safetensors : names.filter((n) => n.endsWith('.bin'));
  const other = names.filter((n) => !n.includes('/') && (n.endsWith('.json') || n.endsWith('.model') || n.endsWith('.txt')) && !n.startsWith('README'));
  return [...new Set([...weights.filter((n) => !n.startsWith('original/')), ...other])];
}

/**
 * Make sure the weights of `repo` at `revision` are in the cache under `hfHome`: returns the
 * seconds spent downloading (0 when nothing was missing). Throws with vLLM's kind of message.
 */
export async function ensureWeights({ repo, revision = 'main', env }) {
  const hfHome = env.HF_HOME || '/root/.cache/huggingface';
  const dir = join(env.HF_HUB_CACHE || join(hfHome, 'hub'), `models--${repo.replaceAll('/', '--')}`);
  const ref = join(dir, 'refs', revision);
  if (env.HF_HUB_OFFLINE === '1' || env.HF_HUB_OFFLINE === 'true') {
    const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : /^[0-9a-f]{40}$/.test(revision) ? revision : undefined;
    if (!commit || !existsSync(join(dir, 'snapshots', commit, 'config.json'))) {
      throw new Error(`OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the cached files. Check your internet connection or see how to run the library in offline mode at 'https://huggingface.co/docs/transformers/installation#offline-mode'.`);
    }
    return 0;
  }
  const endpoint = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const info = await fetch(`${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`, { headers });
  if (!info.ok) throw new Error(`huggingface_hub.errors.RepositoryNotFoundError: ${info.status} Client Error for ${endpoint}/api/models/${repo}/revision/${revision}`);
  const { sha, siblings } = await info.json();
  const t0 = Date.now();
  let fetched = false;
  for (const name of needed((siblings ?? []).map((s) => s.rfilename))) {
    const link = join(dir, 'snapshots', sha, name);
    if (existsSync(link)) continue;
    const r = await fetch(`${endpoint}/${repo}/resolve/${sha}/${name}`, { headers });
    if (!r.ok || !r.body) throw new Error(`huggingface_hub.errors.HfHubHTTPError: ${r.status} Client Error for ${endpoint}/${repo}/resolve/${sha}/${name}`);
    const etag = (r.headers.get('x-linked-etag') ?? r.headers.get('etag') ?? name).replace(/^W\//, '').replaceAll('"', '');
    const blob = join(dir, 'blobs', etag);
    mkdirSync(dirname(blob), { recursive: true });
    await pipeline(Readable.fromWeb(r.body), createWriteStream(`${blob}.incomplete`));
    renameSync(`${blob}.incomplete`, blob);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), blob), link);
    fetched = true;
  }
  mkdirSync(dirname(ref), { recursive: true });
  writeFileSync(ref, sha);
  return fetched ? (Date.now() - t0) / 1000 : 0;
}
