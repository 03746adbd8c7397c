import { HF_CACHE_CONTAINER_PATH, type ModelSpec, type VolumeMount, vllmFlagValue, vllmFlagValues } from '@inferstack/config';
import { fnmatch } from './_fnmatch.js';

/*
 * Which files of a Hugging Face repo vLLM loads, decided as vLLM 0.20–0.34 decides it (see
 * docs/upstream/vllm.md, "Which files vLLM downloads"), so that `serve pull` fetches those and
 * nothing else, and can say whether vLLM will then start from the cache alone. Pure.
 */

/**
 * One thing `serve pull` fetches for a model: a Hub repo at a revision, into a Hugging Face cache
 * inside the container (the model's own mounts make it the cache the model reads).
 */
export interface WeightsSource {
  /**
   * `model`: the weights and the files read at start (config, tokenizer); `weights`: only the
   * weights (vLLM's `--download-dir` puts them apart); `metadata`: only the small files;
   * `tokenizer`: the small files of the repo `--tokenizer` names.
   */
  role: 'model' | 'weights' | 'metadata' | 'tokenizer';
  repo: string;
  /** `--revision` (`--tokenizer-revision` for the tokenizer); unset: the repo's default branch. */
  revision?: string;
  /** The hub cache inside the container (`HF_HUB_CACHE`, or `--download-dir`). */
  cacheDir: string;
  /** vLLM's `--load-format`. @default 'auto' */
  loadFormat: string;
  /** vLLM's `--ignore-patterns`. @default ['original/**\/*'] */
  ignorePatterns: string[];
}

/** Something in a model's config that keeps `serve pull` from doing its job; found before anything runs. */
export interface WeightsConfigProblem {
  key: string;
  message: string;
  hint: string;
}

/** What {@link weightSources} finds. */
export interface WeightSources {
  sources: WeightsSource[];
  problems: WeightsConfigProblem[];
  /** Why there is nothing to pull (a model given as a local path), when so. */
  skipped?: string;
}

/** vLLM's `ignore_patterns` default (`LoadConfig`), which keeps Llama's `original/` checkpoints out. */
export const VLLM_DEFAULT_IGNORE_PATTERNS: readonly string[] = ['original/**/*'];

/**
 * The small files vLLM and transformers read at start besides the weights: config and generation
 * config, tokenizer (`tokenizer.json`, `vocab.json`, `merges.txt`, sentencepiece `*.model`,
 * `*.tiktoken`), chat templates (`*.jinja`), processor configs, remote code (`*.py`), the
 * safetensors index. Matched with fnmatch, so `*.json` also takes `1_Pooling/config.json`.
 */
export const METADATA_PATTERNS: readonly string[] = ['*.json', '*.jinja', '*.model', '*.tiktoken', '*.txt', '*.py'];

/** The safetensors index vLLM reads to download only the shards it names (`SAFE_WEIGHTS_INDEX_NAME`). */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** The hub cache inside a model's container, as huggingface_hub computes it from the environment. */
export function hubCachePath(env: Record<string, string | undefined>): string {
  const home = env.HF_HOME || `${env.XDG_CACHE_HOME || '/root/.cache'}/huggingface`;
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || `${home}/hub`;
}

/** The mount of `spec` that holds `path` (the deepest target containing it), if any. */
export function mountHolding(volumes: readonly VolumeMount[], path: string): VolumeMount | undefined {
  let best: VolumeMount | undefined;
  for (const v of volumes) {
    const target = v.target.replace(/\/+$/, '') || '/';
    const inside = path === target || path.startsWith(target === '/' ? '/' : `${target}/`);
    if (inside && (!best || target.length > best.target.length)) best = v;
  }
  return best;
}

/** Whether vLLM takes `model` as a local directory rather than a Hub repo id. */
export function isLocalModelPath(model: string): boolean {
  return /^(\/|\.{1,2}\/|~)/.test(model) || !/^[\w.-]+(\/[\w.-]+)?$/.test(model);
}

/**
 * What `serve pull` fetches for a model: its repo at `--revision` into the cache its container
 * mounts, apart for `--download-dir`, and the repo `--tokenizer` names. A cache that is not on one
 * of the model's volumes would be lost with the pull's container: that is a problem, found here.
 */
export function weightSources(spec: Pick<ModelSpec, 'key' | 'model' | 'vllmArgs' | 'env' | 'volumes'> & { revision?: string }): WeightSources {
  const problems: WeightsConfigProblem[] = [];
  if (isLocalModelPath(spec.model)) return { sources: [], problems, skipped: `the model is a path (${spec.model}), not a Hugging Face repo: nothing to pull` };
  const args = spec.vllmArgs;
  const revision = spec.revision ?? vllmFlagValue(args, 'revision');
  const loadFormat = vllmFlagValue(args, 'load-format') ?? 'auto';
  const ignore = vllmFlagValues(args, 'ignore-patterns');
  const ignorePatterns = ignore && ignore.length > 0 ? ignore : [...VLLM_DEFAULT_IGNORE_PATTERNS];
  const hubCache = hubCachePath(spec.env);
  const onVolume = (path: string, what: string, remedy: string) => {
    if (mountHolding(spec.volumes, path)) return true;
    problems.push({
      key: spec.key,
      message: `${spec.key}: ${what} (${path} in the container) is not on a volume of the model, so weights pulled there would be lost`,
      hint: `mount a volume at ${path} (volumes: ["<host dir>:${path}"]) or ${remedy}`,
    });
    return false;
  };
  const base = { repo: spec.model, ...(revision !== undefined ? { revision } : {}), loadFormat, ignorePatterns };
  const sources: WeightsSource[] = [];
  const downloadDir = vllmFlagValue(args, 'download-dir');
  const cacheRemedy = spec.env.HF_HUB_CACHE ? 'remove HF_HUB_CACHE from env' : spec.env.HF_HOME && spec.env.HF_HOME !== HF_CACHE_CONTAINER_PATH ? 'remove HF_HOME from env' : `keep the Hugging Face cache mounted at ${HF_CACHE_CONTAINER_PATH}`;
  const cacheOk = onVolume(hubCache, 'the Hugging Face cache', cacheRemedy);
  if (downloadDir) {
    if (onVolume(downloadDir, 'download-dir', 'remove download-dir')) sources.push({ role: 'weights', ...base, cacheDir: downloadDir });
    if (cacheOk) sources.push({ role: 'metadata', ...base, cacheDir: hubCache });
  } else if (cacheOk) {
    sources.push({ role: 'model', ...base, cacheDir: hubCache });
  }
  const tokenizer = vllmFlagValue(args, 'tokenizer');
  if (tokenizer && tokenizer !== spec.model && !isLocalModelPath(tokenizer) && cacheOk) {
    const tokenizerRevision = vllmFlagValue(args, 'tokenizer-revision');
    sources.push({ role: 'tokenizer', repo: tokenizer, ...(tokenizerRevision ? { revision: tokenizerRevision } : {}), cacheDir: hubCache, loadFormat, ignorePatterns });
  }
  return { sources, problems };
}

/** One file of a repo, as the pull program lists it, with what the cache holds of it. */
export interface RepoFile {
  path: string;
  /** Bytes; `null` when the listing does not say (a snapshot's dangling link). */
  size: number | null;
  /** Its blob's name in the cache (the LFS sha256 or the git blob id), when known. */
  blob: string | null;
  /** Bytes of it in the cache: the whole file, or what a download has written so far. */
  bytes: number;
  /** In the cache's snapshot of the commit, at its full size. */
  complete: boolean;
}

/** A selected file: a {@link RepoFile} and why it is needed. */
export interface SelectedFile extends RepoFile {
  kind: 'weights' | 'metadata';
}

/** Which files a source needs and how much of them the cache holds. */
export interface WeightsSelection {
  /**
   * The weights vLLM loads: `safetensors`, `bin`, `pt`, `mistral` (consolidated safetensors),
   * `none` (no weights needed: metadata only, or `--load-format dummy`), `unknown` (a load
   * format whose files we do not know: vLLM downloads them itself).
   */
  format: 'safetensors' | 'bin' | 'pt' | 'mistral' | 'none' | 'unknown';
  files: SelectedFile[];
  totalBytes: number;
  presentBytes: number;
  missingBytes: number;
  /** Every selected file is complete in the cache. */
  complete: boolean;
  /**
   * Whether vLLM, once `complete`, starts from the cache with `HF_HUB_OFFLINE=1` (it finds its
   * weights without listing the repo), and if not, why.
   */
  offline: { ready: boolean; reason?: string };
  notes: string[];
}

type Rule = { format: WeightsSelection['format']; patterns: string[] };

/** The allow patterns of vLLM's `DefaultModelLoader._prepare_weights` per load format (0.20–0.34). */
function ruleFor(loadFormat: string, files: readonly RepoFile[]): Rule | { format: 'unknown' } | { format: 'none' } {
  switch (loadFormat) {
    case 'auto':
      // vLLM looks for consolidated*.safetensors by base name anywhere in the repo (Mistral's own format).
      return files.some((f) => fnmatch(f.path.split('/').at(-1)!, 'consolidated*.safetensors')) ? ruleFor('mistral', files) : ruleFor('hf', files);
    case 'hf':
      return { format: 'safetensors', patterns: ['*.safetensors', '*.bin', '*.pt'] };
    case 'safetensors':
    case 'fastsafetensors':
    case 'instanttensor':
    case 'runai_streamer':
      return { format: 'safetensors', patterns: ['*.safetensors'] };
    case 'mistral':
      return { format: 'mistral', patterns: ['consolidated*.safetensors'] };
    case 'pt':
      return { format: 'pt', patterns: ['*.pt'] };
    case 'npcache':
      return { format: 'bin', patterns: ['*.bin'] };
    case 'dummy':
      return { format: 'none' };
    default:
      return { format: 'unknown' };
  }
}

const FORMAT_OF: Record<string, WeightsSelection['format']> = { '*.safetensors': 'safetensors', '*.bin': 'bin', '*.pt': 'pt' };

/** huggingface_hub's `filter_repo_objects` turns a pattern ending in `/` into `<dir>/*`. */
const pattern = (p: string) => (p.endsWith('/') ? `${p}*` : p);
const matchesAny = (path: string, patterns: readonly string[]) => patterns.some((p) => fnmatch(path, pattern(p)));

/**
 * The files of `listing` that `source` needs, as vLLM picks them: the weights of its load format
 * (the first of `*.safetensors`, `*.bin`, `*.pt` present at the top of the repo; for safetensors
 * with `model.safetensors.index.json`, the shards its `weight_map` names; minus
 * `ignorePatterns`) and the small files read at start ({@link METADATA_PATTERNS}). Also whether
 * vLLM will then start offline: huggingface_hub 1.x and later refuse an offline snapshot that
 * lacks a file its cached file list has for the pattern vLLM asks with, so an unneeded
 * `*.safetensors` left on the Hub keeps vLLM from starting offline.
 */
export function selectWeightFiles(
  listing: { repo: string; files: readonly RepoFile[]; indexes?: Record<string, readonly string[]> },
  source: Pick<WeightsSource, 'role' | 'loadFormat' | 'ignorePatterns'>,
): WeightsSelection {
  const notes: string[] = [];
  const files = listing.files;
  const wantsWeights = source.role === 'model' || source.role === 'weights';
  const wantsMetadata = source.role !== 'weights';
  const chosen = new Map<string, SelectedFile>();
  let format: WeightsSelection['format'] = 'none';
  let offline: WeightsSelection['offline'] = { ready: true };

  if (wantsWeights) {
    const rule = ruleFor(source.loadFormat, files);
    format = rule.format;
    if (rule.format === 'unknown') {
      notes.push(`load-format ${source.loadFormat}: which files it reads is not known here, so its weights are not pulled (vLLM downloads them as it starts)`);
      offline = { ready: false, reason: `vLLM's --load-format ${source.loadFormat} loads files serve pull does not fetch` };
    } else if ('patterns' in rule) {
      const top = files.filter((f) => !f.path.includes('/'));
      let allow: string[] = rule.patterns;
      const index = listing.indexes?.[SAFETENSORS_INDEX];
      if (rule.patterns.includes('*.safetensors') && top.some((f) => f.path === SAFETENSORS_INDEX)) {
        if (index && index.length > 0) allow = [...index];
        else {
          allow = ['*.safetensors'];
          if (!index) notes.push(`${SAFETENSORS_INDEX} could not be read: all *.safetensors are pulled`);
        }
        format = 'safetensors';
      } else {
        // vLLM matches the patterns against `<repo>/<name>` of the top level and keeps the first that matches.
        const first = rule.patterns.find((p) => top.some((f) => fnmatch(`${listing.repo}/${f.path}`, p)));
        if (first) {
          allow = [first];
          if (rule.format === 'safetensors') format = FORMAT_OF[first] ?? 'safetensors';
        }
      }
      const weights = files.filter((f) => matchesAny(f.path, allow) && !matchesAny(f.path, source.ignorePatterns));
      for (const f of weights) chosen.set(f.path, { ...f, kind: 'weights' });
      if (weights.length === 0) {
        notes.push(`no weight files (${rule.patterns.join(', ')}) in ${listing.repo}`);
        offline = { ready: false, reason: `${listing.repo} has no weight files vLLM loads` };
      } else {
        offline = offlineReadiness(rule, source, listing.repo, files, new Set(weights.map((f) => f.path)));
      }
    }
  }

  if (wantsMetadata) {
    for (const f of files) {
      if (!chosen.has(f.path) && matchesAny(f.path, METADATA_PATTERNS)) chosen.set(f.path, { ...f, kind: 'metadata' });
    }
  }

  const selected = [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let totalBytes = 0;
  let presentBytes = 0;
  for (const f of selected) {
    const size = f.size ?? f.bytes;
    totalBytes += size;
    presentBytes += f.complete ? size : Math.min(f.bytes, size);
  }
  return {
    format,
    files: selected,
    totalBytes,
    presentBytes,
    missingBytes: totalBytes - presentBytes,
    complete: selected.every((f) => f.complete),
    offline,
    notes,
  };
}

/**
 * vLLM offline (`HF_HUB_OFFLINE=1`) cannot list the repo: it asks the cache with each pattern of
 * its load format in turn and uses the first that finds files at the snapshot's top level. For
 * Mistral's format it would have to list the repo to notice it, and huggingface_hub ≥ 1.x raises
 * `IncompleteSnapshotError` when its cached file list has a file for the pattern that the snapshot
 * lacks. Conservative: assumes that list is cached (our pull with a 1.x or 2.x client writes it).
 */
function offlineReadiness(rule: Rule, source: Pick<WeightsSource, 'loadFormat' | 'ignorePatterns'>, repo: string, files: readonly RepoFile[], selected: ReadonlySet<string>): WeightsSelection['offline'] {
  if (source.loadFormat === 'auto' && rule.format === 'mistral') {
    return { ready: false, reason: `vLLM tells Mistral's format (consolidated*.safetensors) from the repo's file list, which it cannot read offline; set load-format: mistral to start ${repo} offline` };
  }
  for (const p of rule.patterns) {
    const expected = files.filter((f) => fnmatch(f.path, pattern(p)) && !matchesAny(f.path, source.ignorePatterns));
    const lacking = expected.filter((f) => !selected.has(f.path));
    if (lacking.length > 0) {
      const sample = lacking.slice(0, 3).map((f) => f.path).join(', ');
      return {
        ready: false,
        reason: `offline, vLLM asks the cache for every ${p} of ${repo}, also ${sample}${lacking.length > 3 ? ` and ${lacking.length - 3} more` : ''} that it does not load, and huggingface_hub 1.x and later refuse the incomplete snapshot`,
      };
    }
    if (expected.some((f) => !f.path.includes('/'))) return { ready: true };
  }
  return { ready: true };
}
