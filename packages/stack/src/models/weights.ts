import { DEFAULT_VLLM_IMAGE, resolveVllmImage, type ModelSpec, type StackConfig } from '@inferstack/config';
import {
  ImagePullError,
  WeightsClientMissingError,
  cacheState,
  decideWeightsPull,
  inspectImage,
  offlineStartEnv,
  pullWeights,
  type DockerClient,
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

/** Pull one model's image and weights on one host (see docker-ops' `pullWeights`). */
export async function pullModel(ctx: StackContext, docker: DockerClient, host: string, spec: ModelSpec): Promise<ModelPullOutcome> {
  try {
    const network = await pullNetwork(docker, ctx.config);
    const result = await pullWeights(docker, spec, {
      fallbackImage: weightsFallbackImage(ctx.config),
      labels: ctx.labels,
      ...(network ? { network } : {}),
      signal: ctx.signal,
      onEvent: (event) => ctx.emit({ ...event, host }),
    });
    return { key: spec.key, host, ok: true, result };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    return { key: spec.key, host, ok: false, error: error as Error, ...(hint ? { hint } : {}) };
  }
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

/** One model on one host (see the module's comment). */
async function weightsOf(ctx: StackContext, docker: DockerClient, host: string, spec: ModelSpec): Promise<WeightsFirst> {
  // `up` pulls no image for the client alone: the default vLLM image helps when it is there already.
  const fallback = await present(docker, weightsFallbackImage(ctx.config));
  const options = { ...(fallback ? { fallbackImage: fallback } : {}), labels: ctx.labels, signal: ctx.signal };
  try {
    const state = spec.pullPolicy === 'always' ? undefined : await cacheState(docker, spec, options);
    if (state?.skipped) return { ok: true, startEnv: {} };
    const decision = decideWeightsPull(spec.pullPolicy, state);
    if (!decision.pull) return { ok: true, startEnv: offlineStartEnv(spec, state) };
    const network = await pullNetwork(docker, ctx.config);
    const pulled = await pullWeights(docker, spec, { ...options, ...(network ? { network } : {}), onEvent: (event) => ctx.emit({ ...event, host }) });
    return { ok: true, startEnv: offlineStartEnv(spec, { complete: true, offline: pulled.offline }) };
  } catch (error) {
    // No client to pull with: vLLM downloads at start, as it always did.
    if (error instanceof WeightsClientMissingError || error instanceof ImagePullError) {
      ctx.emit({ type: 'note', level: 'warn', message: `${spec.key}: weights not pulled before it starts (${(error as Error).message}); vLLM downloads them when it starts` });
      return { ok: true, startEnv: {} };
    }
    const hint = (error as { hint?: string }).hint;
    return { ok: false, message: `${spec.key} was not started: its weights could not be pulled: ${(error as Error).message}`, ...(hint ? { hint } : {}) };
  }
}

/**
 * The weights of every model a plan starts a container for (create, recreate, start), unless its
 * pull policy is `never`: every host at once, a host's models one after the other, each model
 * once however many replicas start.
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
      for (const spec of specs.values()) {
        if (ctx.signal.aborted) return;
        out.set(weightsId(host, spec.key), await weightsOf(ctx, part.reached.docker, host, spec));
      }
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
