// Helpers for tests that download model weights: the Hugging Face Hub stand-in
// (images/hf-hub-standin) and the real Hugging Face client (images/hf-puller) in containers on a
// network of their own, with a cache volume like the one a model's container mounts. Everything
// carries the session label. Tokens reach containers through the docker client's environment
// (`-e HF_TOKEN`), never through argv.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { docker, sessionLabel, testSession, waitFor } from './docker.js';

export const HF_HUB_STANDIN_IMAGE = 'inferstack-test/hf-hub-standin';
/** The Hugging Face cache in the vLLM image (HF_HOME), where a model's cache volume is mounted. */
export const HF_HOME = '/root/.cache/huggingface';

/** The huggingface_hub versions there is a puller image for (images/hf-puller/locks/<version>.lock). */
export function pullerVersions(): string[] {
  const dir = fileURLToPath(new URL('../../images/hf-puller/locks', import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.lock'))
    .map((f) => f.slice(0, -'.lock'.length))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
}
export const pullerImage = (version: string) => `inferstack-test/hf-puller:${version}`;

const suffix = () => Math.random().toString(36).slice(2, 8);

/** A labelled network without a way out (`--internal`): the client reaches the stand-in and nothing else. */
export async function createHfNetwork(name = `hf-${suffix()}`): Promise<string> {
  const full = `inferstack-test-${testSession()}-${name}`;
  await docker(['network', 'create', '--internal', '--label', sessionLabel(), full]);
  return full;
}

/** A labelled volume for a Hugging Face cache. */
export async function createCacheVolume(name = `hfcache-${suffix()}`): Promise<string> {
  const full = `inferstack-test-${testSession()}-${name}`;
  await docker(['volume', 'create', '--label', sessionLabel(), full]);
  return full;
}

/** One request as the stand-in logged it (GET /_standin/log). */
export interface HubLogEntry {
  seq: number;
  at: number;
  listener: 'hub' | 'cdn';
  method: string;
  path: string;
  kind: 'info' | 'tree' | 'resolve' | 'cdn' | 'harnesses' | 'unknown';
  repo: string | null;
  file: string | null;
  range: string | null;
  auth: 'anonymous' | 'user' | 'invalid';
  status: number;
  bytes: number;
  ms: number;
  done: boolean;
  cut: 'close' | 'reset' | null;
}

export interface HubStandin {
  id: string;
  name: string;
  /** HF_ENDPOINT for clients on the network. */
  endpoint: string;
  log(): Promise<HubLogEntry[]>;
  /** Forget the log and the cuts made so far. */
  reset(): Promise<void>;
  /** Every file's size, sha256 and git id, as the stand-in serves them. */
  repos(): Promise<Record<string, { sha: string; files: Array<{ path: string; size: number; lfs: boolean; sha256: string; blobId: string; etag: string }> }>>;
}

/**
 * Start the stand-in on `network` under `alias` (its CDN under `<alias>-cdn`), serving `description` (see
 * images/hf-hub-standin/README.md), and wait until it has hashed its files. Its control routes are
 * asked from inside the container (an internal network publishes no ports).
 */
export async function startHubStandin(options: { network: string; description: object; alias?: string; env?: Record<string, string> }): Promise<HubStandin> {
  const alias = options.alias ?? 'hf-hub';
  const name = `inferstack-test-${testSession()}-hfhub-${suffix()}`;
  // The CDN gets a host name of its own, as on huggingface.co (the client treats another host
  // differently from another port: it does not follow the redirect there, nor send the token).
  const cdn = `${alias}-cdn`;
  const args = ['run', '-d', '--name', name, '--label', sessionLabel(), '--network', options.network, '--network-alias', alias, '--network-alias', cdn];
  args.push('-e', 'HUB_STANDIN_REPOS', '-e', `HUB_STANDIN_CDN_ORIGIN=http://${cdn}:8081`);
  for (const [k, v] of Object.entries(options.env ?? {})) args.push('-e', `${k}=${v}`);
  const started = await dockerWithEnv([...args, HF_HUB_STANDIN_IMAGE], { HUB_STANDIN_REPOS: JSON.stringify(options.description) });
  if (started.code !== 0) throw new Error(`docker run ${HF_HUB_STANDIN_IMAGE} exited ${started.code}: ${started.stderr.trim()}`);
  const id = started.stdout.trim();
  const control = async (method: string, path: string) => {
    const script = `fetch('http://127.0.0.1:8080${path}', { method: '${method}' }).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(String(e)); process.exit(2); })`;
    const r = await docker(['exec', id, 'node', '-e', script], { allowFail: true });
    if (r.code !== 0) throw new Error(`stand-in ${method} ${path}: exit ${r.code} ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  await waitFor('the hub stand-in to hash its files', () => control('GET', '/_standin/ready').then(() => true), { timeoutMs: 60_000, intervalMs: 250 });
  return {
    id,
    name,
    endpoint: `http://${alias}:8080`,
    log: async () => (await control('GET', '/_standin/log')).entries,
    reset: async () => void (await control('POST', '/_standin/reset')),
    repos: () => control('GET', '/_standin/repos'),
  };
}

export interface PullerRun {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Run the real client (`hf ...` or `python3 ...`) in the puller image on `network`, with the
 * cache volume at HF_HOME, HF_ENDPOINT pointing at the stand-in and the update check off (it
 * would ask pypi.org). `token` goes in as HF_TOKEN through the environment.
 */
export async function runPuller(options: { version: string; network: string; volume: string; endpoint: string; args: string[]; token?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<PullerRun> {
  const name = `inferstack-test-${testSession()}-pull-${suffix()}`;
  const args = ['run', '--rm', '--name', name, '--label', sessionLabel(), '--network', options.network, '-v', `${options.volume}:${HF_HOME}`];
  const env: Record<string, string> = { HF_ENDPOINT: options.endpoint, HF_HUB_DISABLE_UPDATE_CHECK: '1', HF_HUB_DISABLE_PROGRESS_BARS: '1', ...options.env };
  for (const [k, v] of Object.entries(env)) args.push('-e', `${k}=${v}`);
  if (options.token !== undefined) args.push('-e', 'HF_TOKEN');
  const t0 = Date.now();
  const r = await dockerWithEnv([...args, pullerImage(options.version), ...options.args], options.token === undefined ? {} : { HF_TOKEN: options.token }, options.timeoutMs ?? 170_000);
  return { ...r, seconds: (Date.now() - t0) / 1000 };
}

/** What `snapshotDownload` reports: the snapshot folder, or the client's exception. */
export type PullResult =
  | { ok: true; path: string; run: PullerRun }
  | { ok: false; error: string; module: string; status: number | null; message: string; run: PullerRun };

// The portable way to pull: `snapshot_download` has kept its signature from huggingface_hub 0.x
// to 2.x, where the `hf download` flags have not (see images/hf-hub-standin/README.md).
const SNAPSHOT_SCRIPT = `
import json, os, sys
from huggingface_hub import snapshot_download
try:
    path = snapshot_download(os.environ["PULL_REPO"], revision=os.environ.get("PULL_REVISION") or None,
                             allow_patterns=json.loads(os.environ.get("PULL_PATTERNS", "null")))
    print(json.dumps({"ok": True, "path": path}))
except Exception as e:
    response = getattr(e, "response", None)
    print(json.dumps({"ok": False, "error": type(e).__name__, "module": type(e).__module__,
                      "status": getattr(response, "status_code", None), "message": str(e)}))
    sys.exit(1)
`;

/** `snapshot_download(repo, revision, allow_patterns)` with the real client in the puller image. */
export async function snapshotDownload(options: { version: string; network: string; volume: string; endpoint: string; repo: string; patterns?: string[]; revision?: string; token?: string }): Promise<PullResult> {
  const env: Record<string, string> = { PULL_REPO: options.repo, PULL_PATTERNS: JSON.stringify(options.patterns ?? null) };
  if (options.revision) env.PULL_REVISION = options.revision;
  const run = await runPuller({ ...options, env, args: ['python3', '-c', SNAPSHOT_SCRIPT] });
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let parsed: any;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(`the puller printed no result (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { ...parsed, run };
}

/** One entry of a Hugging Face cache, as `cacheListing` finds it. */
export interface CacheEntry {
  path: string;
  type: 'dir' | 'file' | 'link';
  target?: string;
  size?: number;
  sha256?: string;
  /** The content of a file of at most 256 bytes (a ref). */
  text?: string;
}

const LISTING_SCRIPT = `
import hashlib, json, os, sys
root = sys.argv[1]
out = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames) + sorted(filenames):
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, root)
        if os.path.islink(full):
            out.append({"path": rel, "type": "link", "target": os.readlink(full)})
        elif os.path.isdir(full):
            out.append({"path": rel, "type": "dir"})
        else:
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            entry = {"path": rel, "type": "file", "size": os.path.getsize(full), "sha256": h.hexdigest()}
            if entry["size"] <= 256:
                with open(full, "rb") as f:
                    entry["text"] = f.read().decode("utf-8", "replace")
            out.append(entry)
print(json.dumps(out))
`;

/** Every folder, file (size, sha256, small ones' text) and symlink (target) under `<HF_HOME>/<sub>` of a cache volume. */
export async function cacheListing(volume: string, sub = 'hub', version = pullerVersions()[0]!): Promise<CacheEntry[]> {
  const r = await docker(['run', '--rm', '--label', sessionLabel(), '--network', 'none', '-v', `${volume}:${HF_HOME}`, pullerImage(version), 'python3', '-c', LISTING_SCRIPT, `${HF_HOME}/${sub}`], { timeoutMs: 120_000 });
  return JSON.parse(r.stdout) as CacheEntry[];
}

/** `docker <args>` with extra environment for the docker client (values `-e NAME` passes on). */
function dockerWithEnv(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
