import { randomBytes } from 'node:crypto';
import type { ModelSpec, PullPolicy } from '@inferstack/config';
import type { DockerClient } from './client.js';
import { stopContainer } from './containers.js';
import { sleep } from './readiness.js';
import { DockerApiError, OperationAbortedError, WeightsClientMissingError, WeightsConfigError, WeightsDownloadError, WeightsError, WeightsNoSpaceError, describeDockerError } from './errors.js';
import { ensureImage } from './images.js';
import { LABEL_KIND } from './labels.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, classifyFailure, retryDelay } from './weights-failure.js';
import { createProgressMeter, formatBytes } from './weights-progress.js';
import { type CacheDisk, NO_CLIENT_EXIT, type ProgramError, type ProgramEvent, WEIGHTS_PROGRAM, type WeightsJob, type WeightsListing, parseProgramLine } from './weights-program.js';
import { SAFETENSORS_INDEX, type WeightsSelection, type WeightsSource, hubCachePath, selectWeightFiles, weightSources } from './weights-select.js';

/*
 * Model weights on a model's Docker host, with the real Hugging Face client in a short container
 * that mounts what the model mounts: what a repo holds and what the cache has of it
 * (inspectWeights, cacheState), the cache disk's space (cacheDiskSpace), and the download
 * (pullWeights). The program that runs in the container is weights-program.ts; which files are
 * needed, weights-select.ts.
 */

/** `inferstack.kind` of the containers that run the pull program. */
export const WEIGHTS_CONTAINER_KIND = 'weights';
/** The label naming the model a pull container works for. */
export const LABEL_WEIGHTS_MODEL = 'inferstack.weights-of';

/** What happens during a pull, as data (the CLI renders it). */
export type WeightsEvent =
  /** `image` lacks python3/huggingface_hub: the client of `fallback` runs instead. */
  | { type: 'weights-fallback'; key: string; image: string; fallback: string; reason: string }
  /** A source was listed: its commit, the files needed, how much is missing. */
  | { type: 'weights-listed'; key: string; repo: string; revision: string; commit: string | null; files: number; totalBytes: number; missingBytes: number; client: string }
  /** Bytes done (present ones included) of the model's total. */
  | { type: 'weights-progress'; key: string; doneBytes: number; totalBytes: number; bytesPerSecond?: number; etaSeconds?: number; filesDone: number; files: number }
  /** A file is complete in the cache. */
  | { type: 'weights-file'; key: string; repo: string; path: string; bytes: number }
  /** An attempt failed for a reason worth another; the next starts after `delayMs`. */
  | { type: 'weights-retry'; key: string; repo: string; attempt: number; delayMs: number; reason: string }
  /** Everything needed is in the cache. */
  | { type: 'weights-done'; key: string; files: number; bytes: number; downloadedBytes: number; alreadyComplete: boolean; seconds: number };

/** Options shared by the functions here. */
export interface WeightsOptions {
  /** The image whose Hugging Face client runs. @default spec.image (the model's own vLLM image) */
  image?: string;
  /**
   * Runs the client when `image` has no python3 or no huggingface_hub (a custom image). The cache
   * layout is the same across client versions, so the model's image reads what it wrote.
   * @default none: a WeightsClientMissingError
   */
  fallbackImage?: string;
  /** How to get the image(s) when missing. @default spec.pullPolicy */
  imagePolicy?: PullPolicy;
  /** Environment for the client over the model's own (a mirror's HF_ENDPOINT, a proxy). */
  env?: Record<string, string>;
  /** The Docker network of the container. @default Docker's default bridge (check mode: none) */
  network?: string;
  /** Labels added to ours (a test session, the stack). */
  labels?: Record<string, string>;
  signal?: AbortSignal;
  onEvent?: (event: WeightsEvent) => void;
  /** @default Date.now */
  now?: () => number;
}

/** Options of {@link pullWeights}. */
export interface PullWeightsOptions extends WeightsOptions {
  /** @default DEFAULT_RETRY_POLICY (5 attempts in a row without progress, 20 in all, 2 s doubling to 30 s) */
  retry?: Partial<RetryPolicy>;
  /** How often the program reports bytes. @default 0.5 */
  tickSeconds?: number;
  /**
   * What {@link inspectWeights} listed for this model just before (a pre-flight over several
   * models): used instead of listing again. @default listed here
   */
  inspection?: WeightsInspection;
}

/** One source of a model, listed, with the files it needs. */
export interface InspectedSource {
  source: WeightsSource;
  listing: WeightsListing;
  selection: WeightsSelection;
}

/** What a model's weights are on the Hub and in its cache (see {@link inspectWeights}). */
export interface WeightsInspection {
  key: string;
  sources: InspectedSource[];
  /** Bytes of every needed file, and of those still to download. */
  totalBytes: number;
  missingBytes: number;
  /** Every needed file is in the cache. */
  complete: boolean;
  /** Whether vLLM can start offline once complete, and if not why (see WeightsSelection.offline). */
  offline: { ready: boolean; reason?: string };
  /** The disk of the model's Hugging Face cache. */
  disk?: CacheDisk;
  /** The huggingface_hub version that ran, and the image it came from. */
  client?: { version: string; image: string };
  /** Why there is nothing to pull (a local model path). */
  skipped?: string;
}

/** What {@link pullWeights} did. */
export interface WeightsPullResult {
  key: string;
  /** Files needed, and their bytes. */
  files: number;
  bytes: number;
  /** Bytes this pull added to the cache. */
  downloadedBytes: number;
  /** Nothing was missing: a no-op. */
  alreadyComplete: boolean;
  /** The commit of each source (`repo` → commit). */
  commits: Record<string, string>;
  offline: { ready: boolean; reason?: string };
  seconds: number;
  skipped?: string;
}

/** What the cache holds of a model, read without the network (see {@link cacheState}). */
export interface WeightsCacheState {
  key: string;
  /** Every needed file is there, as far as the cache can tell (`basis`). */
  complete: boolean;
  /** Bytes of the needed files in the cache, and their total when the file list is known. */
  bytes: number;
  totalBytes: number;
  /**
   * How the needed files were known: `tree-cache` (the file list huggingface_hub >= 1.x keeps of
   * the commit: exact), `snapshot` (only what the snapshot holds: the weights its index names and
   * a config are checked, other missing files cannot be seen), `none` (nothing cached for the
   * revision: no ref, or no snapshot).
   */
  basis: 'tree-cache' | 'snapshot' | 'none';
  /** The commit the revision resolves to in the cache. */
  commits: Record<string, string | null>;
  /** vLLM can start with HF_HUB_OFFLINE=1: complete, and its weights are found offline. */
  offline: { ready: boolean; reason?: string };
  disk: CacheDisk;
  sources: InspectedSource[];
  skipped?: string;
}

/**
 * List what a model needs from the Hub (the commit its revision is at, the files vLLM loads, their
 * sizes) and what its cache already has, with the client of its image on its host. For the
 * pre-flight (`checkWeightsSpace`) and `doctor`: nothing is downloaded.
 */
export async function inspectWeights(docker: DockerClient, spec: ModelSpec, options: WeightsOptions = {}): Promise<WeightsInspection> {
  const { sources, problems, skipped } = weightSources(spec);
  if (problems.length > 0) throw new WeightsConfigError(problems);
  if (skipped) return { key: spec.key, sources: [], totalBytes: 0, missingBytes: 0, complete: true, offline: { ready: false, reason: skipped }, skipped };
  const runner = createRunner(docker, spec, options);
  const inspected: InspectedSource[] = [];
  for (const source of sources) inspected.push(await listSource(runner, spec, source, 'list', options));
  return summarise(spec.key, inspected, runner.client());
}

/**
 * Download what a model needs that its cache lacks: the files vLLM loads at the model's revision,
 * with the model's `HF_TOKEN`, into the cache its container mounts, with the real Hugging Face
 * client of its image (or `fallbackImage`) in a labelled container on the model's Docker host,
 * which is removed afterwards. Idempotent: when everything is there it says so
 * (`alreadyComplete`) after one request to the Hub. Resumable: files already complete are kept,
 * and a cut or reset connection is retried (huggingface_hub 0.x continues a file where it stopped;
 * 1.x and 2.x start that file again). Progress comes as `weights-progress` events.
 *
 * @throws WeightsConfigError (before anything runs), WeightsAccessError, WeightsNotFoundError,
 *   WeightsNoSpaceError, WeightsCacheError, WeightsClientMissingError, WeightsDownloadError
 *   (after the retries), OperationAbortedError (the container is stopped; what is complete stays)
 */
export async function pullWeights(docker: DockerClient, spec: ModelSpec, options: PullWeightsOptions = {}): Promise<WeightsPullResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const seconds = () => (now() - started) / 1000;
  const { sources, problems, skipped } = weightSources(spec);
  if (problems.length > 0) throw new WeightsConfigError(problems);
  if (skipped) return { key: spec.key, files: 0, bytes: 0, downloadedBytes: 0, alreadyComplete: true, commits: {}, offline: { ready: false, reason: skipped }, seconds: 0, skipped };
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const given = options.inspection;
  const reuse = given !== undefined && given.key === spec.key && given.sources.length === sources.length;
  // A listing given: its client runs the download (the fallback was found and said then).
  const runner = createRunner(docker, spec, reuse && given.client ? { ...options, image: given.client.image } : options);
  const emit = (event: WeightsEvent) => options.onEvent?.(event);

  // Listing is retried like downloading: a Hub that does not answer once is no reason to stop.
  const list = async (source: WeightsSource): Promise<InspectedSource> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await listSource(runner, spec, source, 'list', options);
      } catch (error) {
        const retryable = error instanceof RetryableListingError;
        const delayMs = retryable ? retryDelay(policy, attempt, attempt) : undefined;
        const cause = retryable ? error.error : error;
        if (delayMs === undefined) throw cause;
        emit({ type: 'weights-retry', key: spec.key, repo: source.repo, attempt, delayMs, reason: (cause as Error).message });
        await sleep(delayMs, options.signal);
      }
    }
  };

  const inspected: InspectedSource[] = reuse ? [...given.sources] : [];
  if (!reuse) for (const source of sources) inspected.push(await list(source));
  const before = summarise(spec.key, inspected, reuse ? given.client : runner.client());
  const presentAtStart = before.totalBytes - before.missingBytes;
  if (before.complete) {
    emit({ type: 'weights-done', key: spec.key, files: countFiles(inspected), bytes: before.totalBytes, downloadedBytes: 0, alreadyComplete: true, seconds: seconds() });
    return { key: spec.key, files: countFiles(inspected), bytes: before.totalBytes, downloadedBytes: 0, alreadyComplete: true, commits: commitsOf(inspected), offline: before.offline, seconds: seconds() };
  }
  const disk = before.disk;
  if (disk && before.missingBytes > disk.freeBytes) {
    throw new WeightsNoSpaceError(spec.key, spec.model, { neededBytes: before.missingBytes, freeBytes: disk.freeBytes, path: disk.path });
  }

  // Bytes per file of every source, as the program reports them; the model's progress is their sum.
  const bytes = new Map<string, { bytes: number; complete: boolean; size: number }>();
  const fileKey = (i: number, path: string) => `${i}\u0000${path}`;
  const record = () => {
    bytes.clear();
    inspected.forEach((s, i) => {
      for (const f of s.selection.files) bytes.set(fileKey(i, f.path), { bytes: f.complete ? (f.size ?? f.bytes) : f.bytes, complete: f.complete, size: f.size ?? f.bytes });
    });
  };
  record();
  let totalBytes = before.totalBytes;
  const meter = createProgressMeter({ totalBytes });
  const progress = () => {
    let done = 0;
    let filesDone = 0;
    for (const f of bytes.values()) {
      done += Math.min(f.bytes, f.size);
      if (f.complete) filesDone++;
    }
    emit({ type: 'weights-progress', key: spec.key, doneBytes: done, totalBytes, ...meter.update(done, now()), filesDone, files: bytes.size });
  };
  progress();

  for (let i = 0; i < inspected.length; i++) {
    let stalled = 0;
    for (let attempt = 1; ; attempt++) {
      const current = inspected[i]!;
      const missing = current.selection.files.filter((f) => !f.complete);
      if (missing.length === 0) break;
      const presentBefore = current.selection.presentBytes;
      const job: WeightsJob = {
        mode: 'download',
        repo: current.source.repo,
        ...(current.source.revision ? { revision: current.source.revision } : {}),
        cacheDir: current.source.cacheDir,
        commit: current.listing.commit!,
        files: missing.map((f) => ({ path: f.path, size: f.size, blob: f.blob })),
        tickSeconds: options.tickSeconds ?? 0.5,
      };
      const run = await runner.run(job, (event) => {
        if (event.e !== 'progress') return;
        for (const [path, n, complete] of event.files) {
          const entry = bytes.get(fileKey(i, path));
          if (!entry) continue;
          if (complete && !entry.complete) emit({ type: 'weights-file', key: spec.key, repo: current.source.repo, path, bytes: n });
          entry.bytes = n;
          entry.complete = complete;
        }
        progress();
      });
      const failure = run.events.find((e): e is Extract<ProgramEvent, { e: 'error' }> => e.e === 'error');
      const done = run.events.find((e): e is Extract<ProgramEvent, { e: 'done' }> => e.e === 'done');
      let reason: WeightsError | undefined;
      if (failure) {
        const classified = classifyFailure(failure, failureContext(spec, options, current, before.missingBytes));
        if (!classified.retryable) throw classified.error;
        reason = classified.error;
      } else if (!done) {
        reason = new WeightsDownloadError(spec.key, current.source.repo, `the pull's container exited with code ${run.exitCode}: ${lastLines(run.stderr)}`);
      } else if (done.commit !== current.listing.commit || done.missing.length > 0) {
        reason = new WeightsDownloadError(spec.key, current.source.repo, `${current.source.repo} changed while it was pulled (now at ${done.commit})`);
      }
      // List again: what is complete now, and the commit the revision is at.
      inspected[i] = await list(current.source);
      record();
      totalBytes = summarise(spec.key, inspected).totalBytes;
      meter.setTotal(totalBytes);
      progress();
      if (inspected[i]!.selection.complete) break;
      stalled = inspected[i]!.selection.presentBytes > presentBefore ? 0 : stalled + 1;
      const delayMs = retryDelay(policy, attempt, stalled);
      const why = reason?.message ?? 'files are still missing';
      if (delayMs === undefined) {
        throw new WeightsDownloadError(spec.key, current.source.repo, `gave up on ${current.source.repo} for ${spec.key} after ${attempt} attempts: ${why}`, {
          attempts: attempt,
          hint: reason?.hint ?? 'run serve pull again: it keeps what it has',
          ...(reason ? { cause: reason } : {}),
        });
      }
      emit({ type: 'weights-retry', key: spec.key, repo: current.source.repo, attempt, delayMs, reason: why });
      await sleep(delayMs, options.signal);
    }
  }

  const after = summarise(spec.key, inspected, runner.client());
  const result: WeightsPullResult = {
    key: spec.key,
    files: countFiles(inspected),
    bytes: after.totalBytes,
    downloadedBytes: Math.max(0, after.totalBytes - after.missingBytes - presentAtStart),
    alreadyComplete: false,
    commits: commitsOf(inspected),
    offline: after.offline,
    seconds: seconds(),
  };
  emit({ type: 'weights-done', key: spec.key, files: result.files, bytes: result.bytes, downloadedBytes: result.downloadedBytes, alreadyComplete: false, seconds: result.seconds });
  return result;
}

/**
 * What a model's cache holds, without the network (the container has none and
 * `HF_HUB_OFFLINE=1`, the mounts read-only): the commit its revision resolves to (the revision
 * itself when it is a commit, else `refs/<revision>`), the bytes of the files vLLM needs, whether
 * they are complete, and whether vLLM can start offline. Without a ref (the revision was never
 * pulled) the state is `basis: 'none'`, not complete: only the Hub knows the commit.
 */
export async function cacheState(docker: DockerClient, spec: ModelSpec, options: WeightsOptions = {}): Promise<WeightsCacheState> {
  const { sources, problems, skipped } = weightSources(spec);
  if (problems.length > 0) throw new WeightsConfigError(problems);
  const runner = createRunner(docker, spec, options);
  if (skipped) {
    const disk = await diskOf(runner, spec, options);
    return { key: spec.key, complete: true, bytes: 0, totalBytes: 0, basis: 'none', commits: {}, offline: { ready: false, reason: skipped }, disk, sources: [], skipped };
  }
  const inspected: InspectedSource[] = [];
  for (const source of sources) inspected.push(await listSource(runner, spec, source, 'check', options));
  const sum = summarise(spec.key, inspected);
  const bases = inspected.map((s) => s.listing.source);
  const basis = bases.includes('none') ? 'none' : bases.includes('snapshot') ? 'snapshot' : 'tree-cache';
  let complete = sum.complete && basis !== 'none';
  let offline = sum.offline;
  // A snapshot alone cannot show a file that never arrived; a model without its config cannot start.
  const noConfig = inspected.find((s) => s.listing.source === 'snapshot' && s.source.role !== 'weights' && !s.listing.files.some((f) => f.path === 'config.json' || f.path === 'params.json'));
  if (noConfig) complete = false;
  if (!complete) {
    offline = {
      ready: false,
      reason:
        basis === 'none'
          ? `${inspected.find((s) => s.listing.source === 'none')?.source.repo ?? spec.model} has not been pulled at this revision`
          : noConfig
            ? `${noConfig.source.repo} has no config.json in the cache`
            : sum.missingBytes > 0 ? `${formatBytes(sum.missingBytes)} of the files vLLM needs are not in the cache` : 'files vLLM needs are not in the cache',
    };
  }
  return {
    key: spec.key,
    complete,
    bytes: sum.totalBytes - sum.missingBytes,
    totalBytes: sum.totalBytes,
    basis,
    commits: Object.fromEntries(inspected.map((s) => [s.source.repo, s.listing.commit])),
    offline,
    disk: inspected[0]!.listing.disk,
    sources: inspected,
  };
}

/**
 * The free space of the disk that holds a model's Hugging Face cache on its host (`statvfs` in a
 * short container with the model's mounts, no network). For the pre-flight, with the sizes from
 * {@link inspectWeights}: see `checkWeightsSpace`.
 */
export async function cacheDiskSpace(docker: DockerClient, spec: ModelSpec, options: WeightsOptions = {}): Promise<CacheDisk> {
  const { problems } = weightSources(spec);
  if (problems.length > 0) throw new WeightsConfigError(problems);
  return diskOf(createRunner(docker, spec, options), spec, options);
}

async function diskOf(runner: Runner, spec: ModelSpec, options: WeightsOptions): Promise<CacheDisk> {
  const source = weightSources(spec).sources[0];
  const listed = await listSource(runner, spec, source ?? { role: 'metadata', repo: 'inferstack/none', cacheDir: hubCachePath(spec.env), loadFormat: 'auto', ignorePatterns: [] }, 'check', options);
  return listed.listing.disk;
}

function summarise(key: string, inspected: InspectedSource[], client?: { version: string; image: string }): WeightsInspection {
  let totalBytes = 0;
  let missingBytes = 0;
  let offline: WeightsInspection['offline'] = { ready: true };
  for (const s of inspected) {
    totalBytes += s.selection.totalBytes;
    missingBytes += s.selection.missingBytes;
    if (offline.ready && !s.selection.offline.ready) offline = s.selection.offline;
  }
  const complete = inspected.every((s) => s.selection.complete);
  return {
    key,
    sources: inspected,
    totalBytes,
    missingBytes,
    complete,
    offline,
    ...(inspected[0] ? { disk: inspected[0].listing.disk } : {}),
    ...(client ? { client } : {}),
  };
}

const countFiles = (inspected: InspectedSource[]) => inspected.reduce((n, s) => n + s.selection.files.length, 0);
const commitsOf = (inspected: InspectedSource[]) => Object.fromEntries(inspected.filter((s) => s.listing.commit).map((s) => [s.source.repo, s.listing.commit!]));

function failureContext(spec: ModelSpec, options: WeightsOptions, current: InspectedSource, neededBytes: number) {
  return {
    key: spec.key,
    repo: current.source.repo,
    ...(current.source.revision ? { revision: current.source.revision } : {}),
    hasToken: hasToken(spec),
    endpoint: endpointOf(spec, options),
    space: { neededBytes, freeBytes: current.listing.disk.freeBytes, path: current.listing.disk.path },
  };
}

/** List one source (online or from the cache) and select its files. */
async function listSource(runner: Runner, spec: ModelSpec, source: WeightsSource, mode: 'list' | 'check', options: WeightsOptions): Promise<InspectedSource> {
  const job: WeightsJob = { mode, repo: source.repo, ...(source.revision ? { revision: source.revision } : {}), cacheDir: source.cacheDir, indexes: [SAFETENSORS_INDEX] };
  const run = await runner.run(job);
  const listing = run.events.find((e): e is Extract<ProgramEvent, { e: 'listing' }> => e.e === 'listing');
  if (!listing) {
    const failure = run.events.find((e): e is Extract<ProgramEvent, { e: 'error' }> => e.e === 'error');
    if (failure) {
      const classified = classifyFailure(failure, { key: spec.key, repo: source.repo, ...(source.revision ? { revision: source.revision } : {}), hasToken: hasToken(spec), endpoint: endpointOf(spec, options) });
      throw classified.retryable ? new RetryableListingError(classified.error) : classified.error;
    }
    throw new RetryableListingError(new WeightsDownloadError(spec.key, source.repo, `cannot list ${source.repo}: the pull's container exited with code ${run.exitCode}: ${lastLines(run.stderr)}`));
  }
  const { e: _e, ...rest } = listing;
  const selection = selectWeightFiles(rest, source);
  if (mode === 'list') {
    options.onEvent?.({ type: 'weights-listed', key: spec.key, repo: source.repo, revision: rest.revision, commit: rest.commit, files: selection.files.length, totalBytes: selection.totalBytes, missingBytes: selection.missingBytes, client: runner.client()?.version ?? 'unknown' });
  }
  return { source, listing: rest, selection };
}

/** A listing failed for a reason worth another attempt; `pullWeights` retries, the others report `error`. */
class RetryableListingError extends Error {
  constructor(readonly error: WeightsError) {
    super(error.message);
  }
}

const hasToken = (spec: ModelSpec) => Boolean(spec.secretEnv.HF_TOKEN || spec.secretEnv.HUGGING_FACE_HUB_TOKEN);
const endpointOf = (spec: ModelSpec, options: WeightsOptions) => ({ ...spec.env, ...options.env }.HF_ENDPOINT || 'https://huggingface.co');

const lastLines = (text: string) => text.trim().split('\n').slice(-5).join(' | ').slice(-1000) || '(no output)';

interface ProgramRun {
  exitCode: number;
  events: ProgramEvent[];
  stderr: string;
}

interface Runner {
  run(job: WeightsJob, onEvent?: (event: ProgramEvent) => void): Promise<ProgramRun>;
  client(): { version: string; image: string } | undefined;
}

/**
 * Runs jobs in containers of the model's image, switching once to `fallbackImage` when that image
 * has no python3 or huggingface_hub.
 */
function createRunner(docker: DockerClient, spec: ModelSpec, options: WeightsOptions): Runner {
  let image = options.image ?? spec.image;
  let fallenBack = false;
  let client: { version: string; image: string } | undefined;
  const ensured = new Set<string>();
  const secrets = [spec.secretEnv.HF_TOKEN, spec.secretEnv.HUGGING_FACE_HUB_TOKEN].filter((s): s is string => Boolean(s));
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);

  const once = async (job: WeightsJob, onEvent?: (event: ProgramEvent) => void): Promise<ProgramRun | { noClient: string }> => {
    if (!ensured.has(image)) {
      await ensureImage(docker, image, { policy: options.imagePolicy ?? spec.pullPolicy, ...(spec.platform ? { platform: spec.platform } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      ensured.add(image);
    }
    const run = await runContainer(docker, spec, image, job, options, (event) => {
      if (event.e === 'client') client = { version: event.version, image };
      onEvent?.(event);
    });
    if ('noPython' in run) return { noClient: scrub(run.noPython) };
    const noClient = run.events.find((e) => e.e === 'no-client');
    if (noClient || run.exitCode === NO_CLIENT_EXIT) return { noClient: noClient && noClient.e === 'no-client' ? `no huggingface_hub for Python ${noClient.python}` : 'no huggingface_hub' };
    // The program reports the client first thing: a python3 that got no further is not one we can use
    // (Python 2, a wrapper script).
    if (run.exitCode !== 0 && !run.events.some((e) => e.e === 'client')) return { noClient: `its python3 did not run the program (exit ${run.exitCode}: ${scrub(lastLines(run.stderr))})` };
    return { ...run, stderr: scrub(run.stderr) };
  };

  return {
    client: () => client,
    async run(job, onEvent) {
      const first = await once(job, onEvent);
      if (!('noClient' in first)) return first;
      if (!options.fallbackImage || fallenBack) throw new WeightsClientMissingError(spec.key, job.repo, image, first.noClient);
      const from = image;
      image = options.fallbackImage;
      fallenBack = true;
      options.onEvent?.({ type: 'weights-fallback', key: spec.key, image: from, fallback: image, reason: first.noClient });
      const second = await once(job, onEvent);
      if ('noClient' in second) throw new WeightsClientMissingError(spec.key, job.repo, image, second.noClient);
      return second;
    },
  };
}

/** The environment of the pull's container: the model's, its Hugging Face token, ours. */
function containerEnv(spec: ModelSpec, job: WeightsJob, extra: Record<string, string> | undefined): string[] {
  const env: Record<string, string> = {
    HF_HUB_DISABLE_PROGRESS_BARS: '1',
    HF_HUB_DISABLE_TELEMETRY: '1',
    HF_HUB_DISABLE_UPDATE_CHECK: '1',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...spec.env,
  };
  // A pull is for downloading: the model's own offline switch is for vLLM.
  delete env.HF_HUB_OFFLINE;
  delete env.TRANSFORMERS_OFFLINE;
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const value = spec.secretEnv[name];
    if (value) env[name] = value;
  }
  Object.assign(env, extra);
  if (job.mode === 'check') env.HF_HUB_OFFLINE = '1';
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

const NO_PYTHON = /executable file not found|no such file or directory/i;

/** Run the program once in a fresh labelled container; report lines as they come; remove it. */
async function runContainer(docker: DockerClient, spec: ModelSpec, image: string, job: WeightsJob, options: WeightsOptions, onEvent: (event: ProgramEvent) => void): Promise<ProgramRun | { noPython: string }> {
  if (options.signal?.aborted) throw new OperationAbortedError();
  const offline = job.mode === 'check';
  const name = `inferstack-weights-${spec.key.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 60)}-${randomBytes(3).toString('hex')}`;
  let id: string | undefined;
  const events: ProgramEvent[] = [];
  let stderr = '';
  try {
    try {
      const container = await docker.createContainer({
        name,
        Image: image,
        ...(spec.platform ? { platform: spec.platform } : {}),
        Entrypoint: ['python3'],
        Cmd: ['-c', WEIGHTS_PROGRAM, JSON.stringify(job)],
        Env: containerEnv(spec, job, options.env),
        Labels: { ...options.labels, [LABEL_KIND]: WEIGHTS_CONTAINER_KIND, [LABEL_WEIGHTS_MODEL]: spec.key },
        HostConfig: {
          Binds: spec.volumes.map((v) => `${v.source}:${v.target}${v.readOnly || offline ? ':ro' : ''}`),
          NetworkMode: offline ? 'none' : (options.network ?? 'default'),
        },
      });
      id = container.id;
    } catch (error) {
      throw new DockerApiError(`cannot create the weights container of ${spec.key}`, error);
    }
    const container = docker.getContainer(id);
    try {
      await container.start();
    } catch (error) {
      const message = describeDockerError(error);
      if (NO_PYTHON.test(message) && /python3/.test(message)) return { noPython: `no python3 (${message})` };
      throw new DockerApiError(`cannot start the weights container of ${spec.key}`, error);
    }
    const onAbort = () => void stopContainer(docker, id!, 10).catch(() => {});
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream;
      let pending = '';
      const out = {
        write: (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const event = parseProgramLine(pending.slice(0, nl));
            pending = pending.slice(nl + 1);
            if (event) {
              events.push(event);
              onEvent(event);
            }
          }
          return true;
        },
      } as unknown as NodeJS.WritableStream;
      const err = {
        write: (chunk: Buffer) => {
          stderr = (stderr + chunk.toString('utf8')).slice(-8000);
          return true;
        },
      } as unknown as NodeJS.WritableStream;
      await new Promise<void>((resolve) => {
        docker.modem.demuxStream(stream, out, err);
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (options.signal?.aborted) throw new OperationAbortedError();
      if (StatusCode === 127 && events.length === 0) return { noPython: `no python3 (exit 127: ${stderr.trim().slice(-300)})` };
      return { exitCode: StatusCode, events, stderr };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    if (id) await docker.getContainer(id).remove({ force: true, v: true }).catch(() => {});
  }
}

