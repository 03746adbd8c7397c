import { isAbsolute, posix, resolve } from 'node:path';
import * as v from 'valibot';
import { parseByteSize } from './_byte-size.js';
import { parseDuration } from './_duration.js';
import { normaliseCpuset } from './_cpuset.js';
import { closest } from './_did-you-mean.js';
import { resolveVllmImage } from './_image-ref.js';
import { hintFor, type IssueCollector, reportSchemaIssues } from './_issues.js';
import { type LEntry, type LNode, locate, type Pos, toPlain } from './_yaml-tree.js';
import { containerNameForKey } from './container-name.js';
import { ANY_HOST, DEFAULT_REPLICA_DOWN_AFTER_MS, DEFAULT_VLLM_IMAGE, DEFAULT_WAKE_TIMEOUT_MS, HF_CACHE_CONTAINER_PATH, LOCAL_HOST } from './defaults.js';
import { ModelOptionsSchema } from './schema.js';
import { isSecretName } from './settings.js';
import { flagName, flagOption, isRepeatableFlag, isSecretFlag, secretFlagHint } from './_vllm-flags.js';
import type { GpuSelection, IdlePolicy, ModelSpec, PullPolicy, ReplicaPolicy, RoutingStrategy, VolumeMount } from './types.js';
import { vllmWorldSize } from './vllm-world-size.js';
import { vllmFlagValue } from './vllm-flag-values.js';

/*
 * One model of models.yaml, from its YAML node to a ModelSpec (before hashing): its options in
 * the order the README documents them, its vLLM flags (checkFlags), its volumes. Long (~560
 * lines) because parseModel is one function that walks the options top to bottom, each check
 * using the model's node, label and issue collector; cut into pieces it would pass all of them
 * around and read worse.
 */

/** Values of the `defaults:` section, already validated. */
export interface ModelDefaults {
  image?: string;
  env: { name: string; value: string; pos: Pos; path: (string | number)[] }[];
  volumes: { mount: VolumeMount; pos: Pos; path: (string | number)[] }[];
  pull?: PullPolicy;
  replace?: 'rolling' | 'in-place';
  idle?: IdlePolicy | 'none';
  wakeTimeoutMs?: number;
  /** `defaults.replicas`, with where its `min` was written (for the models it leaves without an idle policy). */
  replicas?: { policy: ReplicaPolicy; minPos: Pos; path: (string | number)[] };
  routing?: RoutingStrategy;
}

/** What normalising a model needs besides its own node. */
export interface ModelContext {
  out: IssueCollector;
  settings: Record<string, string>;
  projectDir: string;
  homeDir: string;
  defaults: ModelDefaults;
}

/** A model as parsed, before hashing; plus what the cross-model checks need. */
export interface ParsedModel {
  spec: Omit<ModelSpec, 'specHash'>;
  keyPos: Pos;
  /** Position of `gpu-memory-utilization` (or of the key when unset). */
  utilizationPos: Pos;
  /** Position of `host:`, when given. */
  hostPos?: Pos;
  /** `api-key:` is written (its value may be missing: that is reported on its own). */
  apiKeyGiven: boolean;
  /**
   * `host: any` or `host: [a, b]`: serve places the replicas on one of several hosts, which
   * `parseConfig` resolves into `placementHosts` once the hosts are known.
   */
  placement?: { kind: 'any' } | { kind: 'list'; names: string[]; positions: Pos[] };
  path: (string | number)[];
}

/** Keys that are inferstack's own or Docker's, not vLLM flags. */
const NON_FLAG_KEYS = new Set(['model', 'gpus', 'cpuset-cpus', 'shm-size', 'image', 'env', 'volumes', 'pull', 'replace', 'idle', 'swap-group', 'wake-timeout', 'api-key', 'host', 'replicas', 'routing', 'additional_flags']);
/** Keys a typo of which is more likely than a real vLLM flag. */
const TYPO_TARGETS = ['model', 'gpus', 'cpuset-cpus', 'shm-size', 'image', 'env', 'volumes', 'pull', 'replace', 'replicas', 'routing', 'additional_flags', 'tensor-parallel-size', 'gpu-memory-utilization', 'served-model-name'];
/** Flags inferstack sets itself. */
const RESERVED_FLAGS: Record<string, string> = {
  port: 'inferstack runs vLLM with --port 8000 (the gateway and Prometheus reach it there)',
};
/** `host:` names the Docker host; an address there is vLLM's `--host`, which inferstack sets. */
const VLLM_HOST_HINT = 'remove it: inferstack runs vLLM with --host 0.0.0.0 so the gateway can reach it (host: names the Docker host a model runs on, from hosts:)';
const looksLikeAddress = (value: unknown) => typeof value === 'string' && (/^[0-9.]+$/.test(value) || value.includes(':') || value === 'localhost');
/** What vLLM gets from inferstack and so may not come from additional_flags either. */
const RESERVED_IN_FLAGS: Record<string, string> = {
  ...RESERVED_FLAGS,
  model: 'the model is given by model:, which inferstack passes to vLLM itself',
};
const FLAG_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const KNOWN_SCHEMA_KEYS = new Set(Object.keys(ModelOptionsSchema.entries));

/** The option name a key stands for: underscores become hyphens, except in additional_flags. */
function canonicalKey(key: string): string {
  if (key === 'additional_flags' || key === 'additional-flags') return 'additional_flags';
  return key.replaceAll('_', '-');
}

/**
 * Validates and normalises one model. Reports every problem to `ctx.out`; returns `undefined`
 * when the model is too broken to describe.
 */
export function parseModel(
  key: string,
  keyValid: boolean,
  keyPos: Pos,
  node: LNode,
  path: (string | number)[],
  ctx: ModelContext,
): ParsedModel | undefined {
  const { out } = ctx;
  const label = `model "${key}"`;
  if (node.kind === 'scalar' && node.value === null) {
    out.add(keyPos, path, 'missing-model', `${label} has no options`, `indent its options under it, starting with model: <Hugging Face repo id>`);
    return undefined;
  }
  if (node.kind !== 'map') {
    out.add(
      node.pos,
      path,
      'invalid-type',
      `${label} must be a map of options, got ${node.kind === 'seq' ? 'a list' : JSON.stringify(node.value)}`,
      node.kind === 'scalar' && typeof node.value === 'string'
        ? `write it as "${key}:" followed by "model: ${node.value}" indented below`
        : 'write model: <Hugging Face repo id> and other options indented below the key',
    );
    return undefined;
  }

  // Canonical keys (max_model_len → max-model-len), keeping file order and positions.
  const entries = new Map<string, LEntry>();
  for (const entry of node.entries) {
    const canonical = canonicalKey(entry.key);
    const earlier = entries.get(canonical);
    if (earlier) {
      out.add(
        entry.keyPos,
        [...path, entry.key],
        'duplicate-option',
        `${label}: "${entry.key}" repeats "${earlier.key}" (line ${earlier.keyPos.line})`,
        'keep one of them (underscores and hyphens in option names are the same)',
      );
      continue;
    }
    entries.set(canonical, entry);
  }
  const plain: Record<string, unknown> = {};
  for (const [canonical, entry] of entries) {
    Object.defineProperty(plain, canonical, { value: toPlain(entry.value), enumerable: true, writable: true, configurable: true });
  }
  const positionOf = (rel: (string | number)[], which: 'key' | 'value'): Pos => {
    const entry = typeof rel[0] === 'string' ? entries.get(rel[0]) : undefined;
    if (!entry) return node.pos;
    if (rel.length === 1) return which === 'key' ? entry.keyPos : entry.value.pos;
    return locate(entry.value, rel.slice(1), which);
  };
  const flagKeys = new Set([...entries.keys()].filter((k) => !KNOWN_SCHEMA_KEYS.has(k)));
  const result = v.safeParse(ModelOptionsSchema, plain);
  const invalid = new Set<string>();
  const invalidItems = new Set<string>();
  if (!result.success) {
    for (const issue of result.issues) {
      const first = issue.path?.[0]?.key;
      if (typeof first === 'string') invalid.add(first);
      const second = issue.path?.[1]?.key;
      if (second !== undefined) invalidItems.add(`${String(first)}/${String(second)}`);
    }
    // A missing model gets its own, plainer message below.
    const missingModel = !entries.has('model');
    const vllmHost = looksLikeAddress(plain.host);
    reportSchemaIssues(
      out,
      ModelOptionsSchema as never,
      result.issues.filter((i) => !(missingModel && i.path?.length === 1 && i.path[0]?.key === 'model') && !(vllmHost && i.path?.[0]?.key === 'host')),
      node,
      path,
      label,
      { flagKeys, positionOf },
    );
  }
  if (looksLikeAddress(plain.host)) {
    // The reference tool's files could not set it either; an address here means vLLM's --host.
    out.add(entries.get('host')!.keyPos, [...path, entries.get('host')!.key], 'reserved-flag', `${label}: "host: ${String(plain.host)}" would be vLLM's --host, which cannot be set`, VLLM_HOST_HINT);
  }
  if (!entries.has('model')) {
    const typo = closest('model', node.entries.map((e) => e.key), 2);
    out.add(
      keyPos,
      [...path, 'model'],
      'missing-model',
      `${label} has no "model:"${typo ? ` ("${typo}" looks like a typo of it)` : ''}`,
      'add model: <Hugging Face repo id>, e.g. model: Qwen/Qwen3-VL-4B-Instruct',
    );
  }
  const ok = (name: string) => entries.has(name) && !invalid.has(name);
  const value = (name: string): unknown => plain[name];
  const pos = (name: string): Pos => entries.get(name)?.value.pos ?? keyPos;

  // Keys that are not options: typos of ours, reserved flags, names argv cannot carry.
  for (const [canonical, entry] of entries) {
    if (KNOWN_SCHEMA_KEYS.has(canonical)) continue;
    if (RESERVED_FLAGS[canonical]) {
      out.add(entry.keyPos, [...path, entry.key], 'reserved-flag', `${label}: "${entry.key}" cannot be set`, `remove it: ${RESERVED_FLAGS[canonical]}`);
      continue;
    }
    if (!FLAG_NAME.test(canonical)) {
      out.add(
        entry.keyPos,
        [...path, entry.key],
        'invalid-flag-name',
        `${label}: "${entry.key}" is not a vLLM flag name`,
        canonical.startsWith('-')
          ? `write it without the leading dashes: ${canonical.replace(/^-+/, '')}:`
          : 'flag names use letters, digits and hyphens, e.g. max-model-len',
      );
      continue;
    }
    if (isSecretFlag(canonical)) {
      out.add(entry.keyPos, [...path, entry.key], 'secret-flag', `${label}: "${entry.key}" would put a secret on vLLM's command line`, secretFlagHint(canonical));
      continue;
    }
    const typo = closest(canonical, TYPO_TARGETS, canonical.length <= 5 ? 1 : 2);
    // A misspelt `model` is already part of the "no model:" message.
    if (typo !== undefined && !(typo === 'model' && !entries.has('model'))) {
      out.add(
        entry.keyPos,
        [...path, entry.key],
        'unknown-option',
        `${label}: "${entry.key}" looks like a typo of "${typo}" (it would be passed to vLLM as --${canonical})`,
        `rename it to ${typo}; if it really is a vLLM flag, put it in additional_flags: [--${canonical}, <value>]`,
      );
    }
  }

  checkFlags(entries, invalid, invalidItems, label, path, out);

  // GPUs.
  let gpus: GpuSelection = { kind: 'all' };
  if (ok('gpus')) {
    const g = value('gpus');
    if (g === 'none' || g === false || (Array.isArray(g) && g.length === 0)) gpus = { kind: 'none' };
    else if (g === 'all') gpus = { kind: 'all' };
    // Its count comes from the vLLM flags, once they are read (below).
    else if (g === 'auto') gpus = { kind: 'auto', count: 1 };
    else {
      const list = (Array.isArray(g) ? g : [g]) as number[];
      const seen = new Set<number>();
      list.forEach((index, i) => {
        if (seen.has(index)) {
          out.add(positionOf(['gpus', i], 'value'), [...path, 'gpus', i], 'duplicate-gpu', `${label}: GPU ${index} is listed twice in gpus`, 'list each GPU once, e.g. gpus: [0, 1]');
        }
        seen.add(index);
      });
      gpus = { kind: 'devices', indices: [...seen] };
    }
  }

  const tensorParallelSize = ok('tensor-parallel-size') ? (value('tensor-parallel-size') as number) : undefined;
  const pipeline = value('pipeline-parallel-size');
  const pipelineSize = typeof pipeline === 'number' && Number.isInteger(pipeline) && pipeline > 0 ? pipeline : undefined;
  if (tensorParallelSize !== undefined || pipelineSize !== undefined) {
    const world = (tensorParallelSize ?? 1) * (pipelineSize ?? 1);
    const what = pipelineSize !== undefined ? `tensor-parallel-size × pipeline-parallel-size is ${world}` : `tensor-parallel-size is ${world}`;
    const at = tensorParallelSize !== undefined ? pos('tensor-parallel-size') : pos('pipeline-parallel-size');
    if (gpus.kind === 'devices' && gpus.indices.length !== world && ok('gpus')) {
      const n = gpus.indices.length;
      out.add(
        at,
        [...path, tensorParallelSize !== undefined ? 'tensor-parallel-size' : 'pipeline-parallel-size'],
        'tensor-parallel-mismatch',
        `${label}: ${what} but gpus lists ${n} GPU${n === 1 ? '' : 's'} ([${gpus.indices.join(', ')}])`,
        `list ${world} GPUs (e.g. gpus: [${Array.from({ length: world }, (_, i) => i).join(', ')}]) or set tensor-parallel-size: ${n}`,
      );
    } else if (gpus.kind === 'none' && world > 1) {
      out.add(at, [...path, 'tensor-parallel-size'], 'tensor-parallel-without-gpu', `${label}: ${what} but gpus is none`, 'give the model GPUs, or set tensor-parallel-size: 1');
    }
  }

  // CPU set and shared memory.
  let cpusetCpus: string | undefined;
  if (ok('cpuset-cpus')) {
    const r = normaliseCpuset(value('cpuset-cpus') as string | number | number[]);
    if ('problem' in r) out.add(pos('cpuset-cpus'), [...path, 'cpuset-cpus'], 'invalid-value', `${label}: cpuset-cpus ${r.problem}`, hintFor('cpuset-cpus'));
    else cpusetCpus = r.value;
  }
  let shmSizeBytes: number | undefined;
  if (ok('shm-size')) {
    const s = value('shm-size');
    const bytes = typeof s === 'number' ? s : parseByteSize(s as string);
    if (bytes === undefined || bytes <= 0) {
      out.add(pos('shm-size'), [...path, 'shm-size'], 'invalid-value', `${label}: shm-size ${JSON.stringify(s)} is not a size above zero`, hintFor('shm-size'));
    } else {
      shmSizeBytes = bytes;
    }
  }
  const gpuMemoryUtilization = ok('gpu-memory-utilization') ? (value('gpu-memory-utilization') as number) : undefined;

  // Environment: defaults first, then the model's own; secrets apart.
  const env: Record<string, string> = { HF_HOME: HF_CACHE_CONTAINER_PATH, VLLM_NO_USAGE_STATS: '1' };
  const secretEnv: Record<string, string> = {};
  const hfToken = ctx.settings.HF_TOKEN;
  if (hfToken) secretEnv.HF_TOKEN = hfToken;
  const modelEnv: ModelDefaults['env'] = [];
  const envValue = value('env');
  if (envValue !== null && typeof envValue === 'object' && !Array.isArray(envValue)) {
    const entry = entries.get('env');
    for (const [name, raw] of Object.entries(envValue as Record<string, unknown>)) {
      if (invalidItems.has(`env/${name}`)) continue;
      modelEnv.push({ name, value: String(raw), pos: entry ? locate(entry.value, [name], 'key') : keyPos, path: [...path, entry?.key ?? 'env', name] });
    }
  }
  for (const item of [...ctx.defaults.env, ...modelEnv]) {
    if (item.name === 'VLLM_PORT') {
      out.add(item.pos, item.path, 'vllm-port', `${label}: VLLM_PORT must not be set`, 'remove it: VLLM_PORT is vLLM\'s internal port base, not the HTTP port (that is always 8000)');
      continue;
    }
    if (item.name === 'VLLM_API_KEY') {
      out.add(item.pos, item.path, 'api-key-in-env', `${label}: set the API key with api-key:, not env: VLLM_API_KEY`, 'write api-key: "${VLLM_API_KEY}" to take it from .env');
      continue;
    }
    delete env[item.name];
    delete secretEnv[item.name];
    if (isSecretName(item.name)) secretEnv[item.name] = item.value;
    else env[item.name] = item.value;
  }

  // API key: to the environment, never to argv.
  let apiKey: string | undefined;
  if (ok('api-key')) {
    const raw = String(value('api-key'));
    const ref = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(raw);
    if (ref) {
      const name = ref[1] as string;
      const found = ctx.settings[name];
      if (found) apiKey = found;
      else out.add(pos('api-key'), [...path, 'api-key'], 'missing-setting', `${label}: api-key refers to ${name}, which is not set`, `set ${name}=... in .env or in the environment`);
    } else {
      apiKey = raw;
    }
    if (apiKey !== undefined) secretEnv.VLLM_API_KEY = apiKey;
  }

  // Volumes: the HF cache first; defaults, then the model's (same target: the later one wins).
  const volumes: VolumeMount[] = [hfCacheMount(ctx)];
  const modelVolumes: ModelDefaults['volumes'] = [];
  const volumesValue = value('volumes');
  if (Array.isArray(volumesValue)) {
    const entry = entries.get('volumes');
    volumesValue.forEach((text: unknown, i) => {
      if (typeof text !== 'string' || invalidItems.has(`volumes/${i}`)) return;
      const vpos = entry ? locate(entry.value, [i]) : keyPos;
      const mount = parseVolume(text, ctx, vpos, [...path, entry?.key ?? 'volumes', i]);
      if (mount) modelVolumes.push({ mount, pos: vpos, path: [...path, 'volumes', i] });
    });
  }
  for (const list of [ctx.defaults.volumes, modelVolumes]) {
    const seenHere = new Map<string, Pos>();
    for (const { mount, pos: vpos, path: vpath } of list) {
      const dup = seenHere.get(mount.target);
      if (dup) {
        out.add(vpos, vpath, 'duplicate-volume', `${label}: two volumes are mounted at ${mount.target} (also line ${dup.line})`, 'mount one volume per target path');
        continue;
      }
      seenHere.set(mount.target, vpos);
      const at = volumes.findIndex((m) => m.target === mount.target);
      if (at >= 0) volumes[at] = mount;
      else volumes.push(mount);
    }
  }

  // vLLM flags, in file order.
  const vllmArgs: string[] = [];
  let servedModelName: string | undefined;
  for (const [canonical] of entries) {
    if (invalid.has(canonical)) continue;
    const raw = plain[canonical];
    if (canonical === 'additional_flags') {
      for (const flag of raw as (string | number)[]) vllmArgs.push(String(flag));
      continue;
    }
    if (NON_FLAG_KEYS.has(canonical) || RESERVED_FLAGS[canonical] || !FLAG_NAME.test(canonical)) continue;
    if (canonical === 'served-model-name') {
      const names = Array.isArray(raw) ? (raw as string[]) : [String(raw)];
      servedModelName = names[0];
      vllmArgs.push('--served-model-name', ...names);
      continue;
    }
    if (raw === true) vllmArgs.push(`--${canonical}`);
    else if (raw === false) continue;
    else if (typeof raw === 'string') vllmArgs.push(`--${canonical}`, raw);
    else if (typeof raw === 'number') vllmArgs.push(`--${canonical}`, String(raw));
    else if (raw !== null && typeof raw === 'object') vllmArgs.push(`--${canonical}`, JSON.stringify(raw));
  }

  if (!keyValid || !ok('model')) return undefined;
  const model = value('model') as string;
  const image = resolveVllmImage(
    (ok('image') ? (value('image') as string) : undefined) ?? ctx.defaults.image ?? (ctx.settings.VLLM_IMAGE || undefined) ?? DEFAULT_VLLM_IMAGE,
  );
  const platform = ctx.settings.VLLM_PLATFORM || undefined;
  const revision = vllmFlagValue(vllmArgs, 'revision');
  const pullPolicy = (ok('pull') ? (value('pull') as PullPolicy) : undefined) ?? ctx.defaults.pull ?? 'missing';
  const replace = (ok('replace') ? (value('replace') as 'rolling' | 'in-place') : undefined) ?? ctx.defaults.replace;
  const idleRaw = ok('idle') ? (value('idle') as 'none' | { after: string | number; then?: IdlePolicy['then'] }) : undefined;
  // Durations passed the schema, whose check is parseDuration's own range: they parse.
  const idle = idleRaw === undefined ? ctx.defaults.idle : idleRaw === 'none' ? 'none' : { afterMs: parseDuration(idleRaw.after)!, then: idleRaw.then ?? 'sleep' };
  const swapGroup = ok('swap-group') ? (value('swap-group') as string) : undefined;
  if (gpus.kind === 'auto') gpus = { kind: 'auto', count: vllmWorldSize({ vllmArgs, ...(tensorParallelSize !== undefined ? { tensorParallelSize } : {}) }) };
  const replicas = modelReplicas(entries, ok('replicas') ? value('replicas') : undefined, ctx, label, path);
  const routing = (ok('routing') ? (value('routing') as RoutingStrategy) : undefined) ?? ctx.defaults.routing ?? 'least-busy';
  const idlePolicy = idle !== undefined && idle !== 'none' ? idle : undefined;
  if (replicas.policy.min === 0 && !idlePolicy) {
    out.add(
      replicas.minPos,
      replicas.path,
      'replicas-need-idle',
      `${label}: replicas min 0${replicas.fromDefaults ? ' (from defaults)' : ''} lets its last replica go while nobody asks, which needs an idle policy to say how (sleep or stop)${idle === 'none' ? ', and it has idle: none' : ''}`,
      `give it an idle policy, e.g. idle: {after: 15m} (then: sleep, deep-sleep or stop; a request wakes it), or keep one replica with min: 1`,
    );
  }
  if (swapGroup !== undefined && replicas.policy.max > 1) {
    out.add(
      pos('swap-group'),
      [...path, 'swap-group'],
      'replicas-swap-group',
      `${label}: swap-group ${swapGroup} takes turns with one container per model, and replicas asks for up to ${replicas.policy.max}`,
      'remove swap-group (replicas scale with the load instead), or keep one replica (replicas: 1)',
    );
  }
  if (swapGroup !== undefined && gpus.kind === 'auto') {
    out.add(
      pos('swap-group'),
      [...path, 'swap-group'],
      'auto-gpus-swap-group',
      `${label}: the members of swap-group ${swapGroup} take turns on the same GPUs, and gpus: auto lets serve put it on any`,
      'list the GPUs the group shares (e.g. gpus: [0]), or remove swap-group',
    );
  }
  const hostValue = ok('host') ? (value('host') as string | string[]) : undefined;
  let placement: ParsedModel['placement'];
  if (Array.isArray(hostValue)) {
    const hostNode = entries.get('host')!.value;
    const names: string[] = [];
    const positions: Pos[] = [];
    hostValue.forEach((name, i) => {
      const at = locate(hostNode, [i]);
      const first = names.indexOf(name);
      if (first >= 0) {
        out.add(at, [...path, 'host', i], 'duplicate-host', `${label}: host ${name} is listed twice in host`, 'list each host once, e.g. host: [gpu1, gpu2]');
        return;
      }
      names.push(name);
      positions.push(at);
    });
    placement = { kind: 'list', names, positions };
  } else if (hostValue === ANY_HOST) {
    placement = { kind: 'any' };
  }
  if (placement && gpus.kind !== 'auto') {
    out.add(
      pos('host'),
      [...path, 'host'],
      'placement-needs-auto-gpus',
      `${label}: host: ${placement.kind === 'any' ? ANY_HOST : `[${placement.names.join(', ')}]`} lets serve place the model on one of several hosts, which needs gpus: auto, and gpus is ${describeGpus(gpus)}`,
      `set gpus: auto (serve picks GPUs with free memory on those hosts, as many as vLLM uses), or name one host (host: ${placement.kind === 'list' ? (placement.names[0] ?? 'gpu2') : LOCAL_HOST})${gpus.kind === 'devices' ? ': a GPU list names GPUs of one host' : ''}`,
    );
  }
  const wakeTimeoutMs = (ok('wake-timeout') ? parseDuration(value('wake-timeout') as string | number) : undefined) ?? ctx.defaults.wakeTimeoutMs ?? DEFAULT_WAKE_TIMEOUT_MS;
  // Sleep mode (an idle policy that sleeps, or a swap group) needs vLLM's flag and its dev-mode
  // routes; the routes never leave the stack's network (model containers publish no port).
  const sleeps = (idle !== undefined && idle !== 'none' && idle.then !== 'stop') || swapGroup !== undefined;
  if (sleeps) {
    if (!vllmArgs.includes('--enable-sleep-mode')) vllmArgs.push('--enable-sleep-mode');
    env.VLLM_SERVER_DEV_MODE = '1';
  }

  const spec: Omit<ModelSpec, 'specHash'> = {
    key,
    containerName: containerNameForKey(key),
    model,
    servedModelName: servedModelName ?? model,
    ...(revision !== undefined ? { revision } : {}),
    image,
    ...(platform ? { platform } : {}),
    pullPolicy,
    ...(replace === 'in-place' ? { replace } : {}),
    ...(idle !== undefined && idle !== 'none' ? { idle } : {}),
    ...(swapGroup !== undefined ? { swapGroup } : {}),
    ...(wakeTimeoutMs !== DEFAULT_WAKE_TIMEOUT_MS ? { wakeTimeoutMs } : {}),
    gpus,
    replicas: replicas.policy,
    routing,
    ...(cpusetCpus !== undefined ? { cpusetCpus } : {}),
    ...(shmSizeBytes !== undefined ? { shmSizeBytes } : {}),
    ...(tensorParallelSize !== undefined ? { tensorParallelSize } : {}),
    ...(gpuMemoryUtilization !== undefined ? { gpuMemoryUtilization } : {}),
    vllmArgs,
    env,
    secretEnv,
    volumes,
    ...(apiKey !== undefined ? { apiKey } : {}),
    // A placement (any, a list) is resolved by parseConfig, which knows the hosts.
    host: typeof hostValue === 'string' && hostValue !== ANY_HOST ? hostValue : LOCAL_HOST,
    source: { file: out.file, line: keyPos.line, column: keyPos.column },
  };
  return {
    spec,
    keyPos,
    utilizationPos: entries.get('gpu-memory-utilization')?.value.pos ?? keyPos,
    ...(entries.has('host') ? { hostPos: entries.get('host')!.value.pos } : {}),
    apiKeyGiven: entries.has('api-key'),
    ...(placement && gpus.kind === 'auto' ? { placement } : {}),
    path,
  };
}

/** `gpus` as written, for messages. */
function describeGpus(gpus: GpuSelection): string {
  if (gpus.kind === 'devices') return `[${gpus.indices.join(', ')}]`;
  return gpus.kind === 'auto' ? 'auto' : gpus.kind;
}

/**
 * A model's replicas (its own `replicas:`, else the defaults', else one), with where `min` was
 * written for the checks that refer to it. A fixed count is `min = max`; a map scales, and its
 * `down-after` defaults to {@link DEFAULT_REPLICA_DOWN_AFTER_MS}. `min` above `max` is reported.
 */
function modelReplicas(
  entries: Map<string, LEntry>,
  raw: unknown,
  ctx: ModelContext,
  label: string,
  path: (string | number)[],
): { policy: ReplicaPolicy; minPos: Pos; path: (string | number)[]; fromDefaults: boolean } {
  const entry = entries.get('replicas');
  if (raw === undefined || !entry) {
    const fromDefaults = ctx.defaults.replicas;
    if (fromDefaults) return { ...fromDefaults, fromDefaults: true };
    return { policy: { min: 1, max: 1 }, minPos: { line: 0, column: 0 }, path: [...path, 'replicas'], fromDefaults: false };
  }
  const parsed = replicaPolicy(raw as ReplicasValue);
  const minPos = typeof raw === 'number' ? entry.value.pos : locate(entry.value, ['min']);
  if (parsed.policy.min > parsed.policy.max) {
    ctx.out.add(minPos, [...path, entry.key, 'min'], 'replicas-range', `${label}: replicas min ${parsed.policy.min} is more than max ${parsed.policy.max}`, `lower min to at most ${parsed.policy.max}, or raise max`);
  }
  return { policy: parsed.policy, minPos, path: [...path, entry.key, ...(typeof raw === 'number' ? [] : ['min'])], fromDefaults: false };
}

/** `replicas:` as the schema accepts it. */
export type ReplicasValue = number | { min?: number; max: number; 'down-after'?: string | number };

/** The policy a valid `replicas:` value stands for. */
export function replicaPolicy(raw: ReplicasValue): { policy: ReplicaPolicy } {
  if (typeof raw === 'number') return { policy: { min: raw, max: raw } };
  // The schema checked the duration (parseDuration's own range): it parses.
  const downAfterMs = raw['down-after'] === undefined ? DEFAULT_REPLICA_DOWN_AFTER_MS : parseDuration(raw['down-after'])!;
  return { policy: { min: raw.min ?? 1, max: raw.max, downAfterMs } };
}

/** One place a model gives vLLM a flag: an option key, or an item of additional_flags. */
interface FlagMention {
  name: string;
  pos: Pos;
  path: (string | number)[];
  /** How it reads in messages: `max-model-len:` or `--max-model-len in additional_flags`. */
  shown: string;
}

/**
 * vLLM keeps the last of a repeated flag, and of a flag and its `--no-` form: the order would
 * decide silently (and the spec hash, which sorts flags, would not see it). So a flag may be
 * given once, as a key or in additional_flags; flags that carry secrets and flags inferstack
 * sets itself may not come from additional_flags at all.
 */
function checkFlags(
  entries: Map<string, LEntry>,
  invalid: Set<string>,
  invalidItems: Set<string>,
  label: string,
  path: (string | number)[],
  out: IssueCollector,
): void {
  const mentions: FlagMention[] = [];
  for (const [canonical, entry] of entries) {
    if (invalid.has(canonical)) continue;
    if (canonical === 'additional_flags') {
      if (entry.value.kind !== 'seq') continue;
      entry.value.items.forEach((item, i) => {
        const raw = item.kind === 'scalar' ? item.value : undefined;
        if ((typeof raw !== 'string' && typeof raw !== 'number') || invalidItems.has(`additional_flags/${i}`)) return;
        const name = flagName(String(raw));
        if (name === undefined) return;
        const itemPath = [...path, entry.key, i];
        const token = String(raw).split('=')[0];
        if (name === 'host') {
          out.add(item.pos, itemPath, 'reserved-flag', `${label}: ${token} in additional_flags cannot be set`, VLLM_HOST_HINT);
          return;
        }
        if (RESERVED_IN_FLAGS[name]) {
          out.add(item.pos, itemPath, 'reserved-flag', `${label}: ${token} in additional_flags cannot be set`, `remove it: ${RESERVED_IN_FLAGS[name]}`);
          return;
        }
        if (isSecretFlag(name)) {
          // The value (the next item, or after "=") is a secret: never in the message.
          out.add(item.pos, itemPath, 'secret-flag', `${label}: ${token} in additional_flags would put a secret on vLLM's command line`, secretFlagHint(name));
          return;
        }
        mentions.push({ name, pos: item.pos, path: itemPath, shown: `${token} in additional_flags` });
      });
      continue;
    }
    if (NON_FLAG_KEYS.has(canonical) || RESERVED_FLAGS[canonical] || !FLAG_NAME.test(canonical) || isSecretFlag(canonical)) continue;
    mentions.push({ name: canonical, pos: entry.keyPos, path: [...path, entry.key], shown: `${entry.key}:` });
  }

  const byName = new Map<string, FlagMention>();
  const byOption = new Map<string, FlagMention>();
  for (const m of mentions) {
    const { option } = flagOption(m.name);
    const same = byName.get(m.name);
    if (same) {
      if (isRepeatableFlag(m.name)) continue;
      out.add(
        m.pos,
        m.path,
        'duplicate-flag',
        `${label}: --${m.name} is given twice, as ${same.shown} (line ${same.pos.line}) and as ${m.shown}`,
        'keep one of them: vLLM uses only the last, so their order would decide',
      );
      continue;
    }
    const other = byOption.get(option);
    if (other) {
      out.add(
        m.pos,
        m.path,
        'conflicting-flags',
        `${label}: ${m.shown} contradicts ${other.shown} (line ${other.pos.line}); vLLM would use whichever comes last`,
        `keep the one you mean: --${option} turns it on, --no-${option} off`,
      );
      continue;
    }
    byName.set(m.name, m);
    byOption.set(option, m);
  }
}

/** The Hugging Face cache mount from `HUGGINGFACE_CACHE`. */
export function hfCacheMount(ctx: Pick<ModelContext, 'settings' | 'projectDir' | 'homeDir'>): VolumeMount {
  const configured = ctx.settings.HUGGINGFACE_CACHE || '~/.cache/huggingface';
  return { source: hostPath(configured, ctx), target: HF_CACHE_CONTAINER_PATH, readOnly: false };
}

function hostPath(p: string, ctx: Pick<ModelContext, 'projectDir' | 'homeDir'>): string {
  if (p === '~') return ctx.homeDir;
  if (p.startsWith('~/')) return resolve(ctx.homeDir, p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(ctx.projectDir, p);
}

const NAMED_VOLUME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Parses `source:/target[:ro|rw]`; paths are made absolute, plain names are named volumes. */
export function parseVolume(
  text: string,
  ctx: Pick<ModelContext, 'out' | 'projectDir' | 'homeDir'>,
  pos: Pos,
  path: (string | number)[],
): VolumeMount | undefined {
  const parts = text.split(':');
  const [source = '', target = '', mode] = parts;
  if (parts.length > 3 || !target.startsWith('/') || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    ctx.out.add(pos, path, 'invalid-volume', `volume ${JSON.stringify(text)} is not "source:/target[:ro]"`, hintFor('volumes'));
    return undefined;
  }
  const isPath = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  if (!isPath && !NAMED_VOLUME.test(source)) {
    ctx.out.add(
      pos,
      path,
      'invalid-volume',
      `volume source ${JSON.stringify(source)} is neither a path nor a volume name`,
      'start host paths with /, ./ or ~/; volume names use letters, digits, _ . -',
    );
    return undefined;
  }
  return {
    source: isPath ? hostPath(source, ctx) : source,
    target: posix.normalize(target),
    readOnly: mode === 'ro',
  };
}
