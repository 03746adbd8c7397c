import { DEFAULT_VLLM_IMAGE, resolveVllmImage, type ModelSpec, type StackConfig } from '@inferstack/config';
import {
  ImagePullError,
  WeightsClientMissingError,
  WeightsNoSpaceError,
  cacheState,
  checkWeightsSpace,
  decideWeightsPull,
  inspectImage,
  inspectWeights,
  offlineStartEnv,
  pullWeights,
  type DockerClient,
  type WeightsInspection,
  type WeightsOptions,
  type WeightsSpaceNeed,
} from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import type { HostPlanPart } from '../verbs/plan.js';
import type { ModelPullOutcome } from '../verbs/pull.js';
import type { ModelStatusRow } from '../verbs/status.js';

/*
 * `up` pulls a model's weights before it starts a container for it (unless `pull: never`), so a
 * new model, a rolling replacement or a replica never waits for a download inside vLLM, and a
 * model whose weights are in its cache starts with `HF_HUB_OFFLINE=1` (unless the user set it):
 * its start needs no network. What the cache holds is read without the network first; with
 * `pull: missing` a complete cache is not asked about at the Hub.
 */

/**
 * The image whose Hugging Face client pulls for a model whose own image has none (a custom
 * image): the stack's default vLLM image (`VLLM_IMAGE`, else serve's default). The cache layout
 * is the same across client versions, so the model's image reads what it wrote.
 */
export function weightsFallbackImage(config: StackConfig): string {
  const setting = config.settings.VLLM_IMAGE;
  return setting ? resolveVllmImage(setting) : DEFAULT_VLLM_IMAGE;
}

/** The network a pull container joins: the stack's, when it exists on the host (a Hub mirror may live there), else Docker's default bridge. */
export async function pullNetwork(docker: DockerClient, config: StackConfig): Promise<string | undefined> {
  try {
    await docker.getNetwork(config.network).inspect();
    return config.network;
  } catch {
    return undefined;
  }
}

/** What {@link spaceFirst} found for one model: its listing, or why it must not be pulled. */
export type SpaceVerdict = { inspection?: WeightsInspection; refused?: WeightsNoSpaceError };

/**
 * The disk pre-flight of one host, before anything is downloaded there: what each model still
 * needs (the Hub's file list against its cache, listed with the real client), summed per cache
 * disk, against that disk's free space. The models on a disk that cannot hold what all of them
 * need are refused, with the numbers. A model that cannot be listed here is left to its pull,
 * which lists again (with retries) and says why.
 */
export async function spaceFirst(docker: DockerClient, host: string, specs: readonly ModelSpec[], options: WeightsOptions): Promise<Map<string, SpaceVerdict>> {
  const verdicts = new Map<string, SpaceVerdict>();
  for (const spec of specs) {
    if (options.signal?.aborted) break;
    const inspection = await inspectWeights(docker, spec, options).catch(() => undefined);
    verdicts.set(spec.key, inspection ? { inspection } : {});
  }
  const inspections = [...verdicts.values()].flatMap((v) => v.inspection ?? []);
  for (const problem of checkWeightsSpace(spaceNeeds(host, inspections, specs))) {
    for (const m of problem.models) {
      const repo = specs.find((spec) => spec.key === m.key)?.model ?? m.key;
      const refused = new WeightsNoSpaceError(m.key, repo, problem, { message: problem.message, hint: problem.hint });
      verdicts.set(m.key, { ...verdicts.get(m.key), refused });
    }
  }
  return verdicts;
}

/**
 * What the models of one host still need on their cache disks, for `checkWeightsSpace`: a repo at
 * a commit in one cache is counted once, however many models load it. A disk is named by the
 * host path the model mounts (HUGGINGFACE_CACHE), not the path inside the container.
 */
export function spaceNeeds(host: string, inspections: readonly WeightsInspection[], specs: readonly Pick<ModelSpec, 'key' | 'volumes'>[] = []): WeightsSpaceNeed[] {
  const counted = new Set<string>();
  return inspections.flatMap((i) => {
    if (!i.disk) return [];
    let missingBytes = 0;
    for (const s of i.sources) {
      const id = `${i.disk.device}\u0000${s.source.cacheDir}\u0000${s.source.repo}\u0000${s.listing.commit}`;
      if (counted.has(id)) continue;
      counted.add(id);
      missingBytes += s.selection.missingBytes;
    }
    const spec = specs.find((m) => m.key === i.key);
    return [{ key: i.key, host, disk: { ...i.disk, path: spec ? hostPathOf(spec, i.disk.path) : i.disk.path }, missingBytes }];
  });
}

/** A path inside a model's container as the host names it, through the model's mounts (the longest that holds it). */
export function hostPathOf(spec: Pick<ModelSpec, 'volumes'>, path: string): string {
  const mount = spec.volumes
    .filter((v) => path === v.target || path.startsWith(`${v.target.replace(/\/$/, '')}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return mount && mount.source.startsWith('/') ? `${mount.source.replace(/\/$/, '')}${path.slice(mount.target.replace(/\/$/, '').length)}` : path;
}

/** Pull one model's image and weights on one host (see docker-ops' `pullWeights`), with the host's {@link pullOptions} and what {@link spaceFirst} listed. */
export async function pullModel(docker: DockerClient, host: string, spec: ModelSpec, options: WeightsOptions, verdict: SpaceVerdict = {}): Promise<ModelPullOutcome> {
  try {
    if (verdict.refused) throw verdict.refused;
    const result = await pullWeights(docker, spec, { ...options, ...(verdict.inspection ? { inspection: verdict.inspection } : {}) });
    return { key: spec.key, host, ok: true, result };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    return { key: spec.key, host, ok: false, error: error as Error, ...(hint ? { hint } : {}) };
  }
}

/** How `serve pull` runs the client on a host: the stack's default vLLM image when the model's has none, on the stack's network. */
export async function pullOptions(ctx: StackContext, docker: DockerClient, host: string): Promise<WeightsOptions> {
  const network = await pullNetwork(docker, ctx.config);
  return {
    fallbackImage: weightsFallbackImage(ctx.config),
    labels: ctx.labels,
    ...(network ? { network } : {}),
    signal: ctx.signal,
    onEvent: (event) => ctx.emit({ ...event, host }),
  };
}

/** A model's weights before it starts, on one host: the environment it starts with, or why it must not start. */
export type WeightsFirst = { ok: true; startEnv: Record<string, string> } | { ok: false; message: string; hint?: string };

/** `<host>\0<key>`: a model's replicas on one host share its cache. */
const weightsId = (host: string, key: string) => `${host}\u0000${key}`;

/** What {@link weightsFirst} found for a model on a host (undefined: not looked at). */
export type WeightsLookup = (host: string, key: string) => WeightsFirst | undefined;

async function present(docker: DockerClient, image: string): Promise<string | undefined> {
  return (await inspectImage(docker, image)) ? image : undefined;
}

/** Why a model must not start when its weights could not be pulled, or a warning when vLLM may download them itself. */
function notPulled(ctx: StackContext, spec: ModelSpec, error: unknown): WeightsFirst {
  // No client to pull with: vLLM downloads at start, as it always did.
  if (error instanceof WeightsClientMissingError || error instanceof ImagePullError) {
    ctx.emit({ type: 'note', level: 'warn', message: `${spec.key}: weights not pulled before it starts (${(error as Error).message}); vLLM downloads them when it starts` });
    return { ok: true, startEnv: {} };
  }
  const hint = (error as { hint?: string }).hint;
  return { ok: false, message: `${spec.key} was not started: its weights could not be pulled: ${(error as Error).message}`, ...(hint ? { hint } : {}) };
}

/** The models of one host (see the module's comment): the cache read first, then the disk pre-flight, then the pulls. */
async function weightsOnHost(ctx: StackContext, docker: DockerClient, host: string, specs: readonly ModelSpec[], out: Map<string, WeightsFirst>): Promise<void> {
  // `up` pulls no image for the client alone: the default vLLM image helps when it is there already.
  const fallback = await present(docker, weightsFallbackImage(ctx.config));
  const options: WeightsOptions = { ...(fallback ? { fallbackImage: fallback } : {}), labels: ctx.labels, signal: ctx.signal };
  const toPull: ModelSpec[] = [];
  for (const spec of specs) {
    if (ctx.signal.aborted) return;
    try {
      const state = spec.pullPolicy === 'always' ? undefined : await cacheState(docker, spec, options);
      if (state?.skipped) out.set(weightsId(host, spec.key), { ok: true, startEnv: {} });
      else if (!decideWeightsPull(spec.pullPolicy, state).pull) out.set(weightsId(host, spec.key), { ok: true, startEnv: offlineStartEnv(spec, state) });
      else toPull.push(spec);
    } catch (error) {
      out.set(weightsId(host, spec.key), notPulled(ctx, spec, error));
    }
  }
  if (toPull.length === 0) return;
  const network = await pullNetwork(docker, ctx.config);
  const pulling: WeightsOptions = { ...options, ...(network ? { network } : {}), onEvent: (event) => ctx.emit({ ...event, host }) };
  const verdicts = await spaceFirst(docker, host, toPull, pulling);
  for (const spec of toPull) {
    if (ctx.signal.aborted) return;
    const verdict = verdicts.get(spec.key) ?? {};
    try {
      if (verdict.refused) throw verdict.refused;
      const pulled = await pullWeights(docker, spec, { ...pulling, ...(verdict.inspection ? { inspection: verdict.inspection } : {}) });
      out.set(weightsId(host, spec.key), { ok: true, startEnv: offlineStartEnv(spec, { complete: true, offline: pulled.offline }) });
    } catch (error) {
      out.set(weightsId(host, spec.key), notPulled(ctx, spec, error));
    }
  }
}

/**
 * The weights of every model a plan starts a container for (create, recreate, start), unless its
 * pull policy is `never`: every host at once, a host's models one after the other, each model
 * once however many replicas start. The models of a host whose cache disk cannot hold what they
 * all still need are refused before anything is downloaded there.
 */
export async function weightsFirst(ctx: StackContext, parts: readonly HostPlanPart[]): Promise<WeightsLookup> {
  const out = new Map<string, WeightsFirst>();
  await Promise.all(
    parts.map(async (part) => {
      const host = part.reached.host.name;
      const specs = new Map<string, ModelSpec>();
      for (const c of part.changes) {
        if ((c.action === 'create' || c.action === 'recreate' || c.action === 'start') && c.spec.pullPolicy !== 'never' && !specs.has(c.key)) specs.set(c.key, c.spec);
      }
      await weightsOnHost(ctx, part.reached.docker, host, [...specs.values()], out);
    }),
  );
  return (host, key) => out.get(weightsId(host, key));
}

/** What a model's cache holds on a host, for `status --weights`: read without the network, no image pulled. */
export async function cacheOf(ctx: StackContext, docker: DockerClient, spec: ModelSpec): Promise<ModelStatusRow['weights']> {
  const fallback = weightsFallbackImage(ctx.config);
  try {
    const present = await inspectImage(docker, fallback);
    const state = await cacheState(docker, spec, { ...(present ? { fallbackImage: fallback } : {}), imagePolicy: 'never', labels: ctx.labels, signal: ctx.signal });
    if (state.skipped) return null;
    return { bytes: state.bytes, totalBytes: state.totalBytes, complete: state.complete, offline: state.offline.ready };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
