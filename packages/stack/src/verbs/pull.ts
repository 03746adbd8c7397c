import type { WeightsPullResult } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { hostNamed, hostsOfModel, onEachHost, reachHosts } from '../hosts/hosts.js';
import { selectedModels } from '../models/select.js';
import { pullModel, pullOptions, spaceFirst } from '../models/weights.js';

/** Options of `pull`. */
export interface PullOptions {
  /** Pull these models only. @default all */
  models?: readonly string[];
}

/** What `pull` did for one model on one host. */
export type ModelPullOutcome =
  | { key: string; host: string; ok: true; result: WeightsPullResult }
  | { key: string; host: string; ok: false; error: Error; hint?: string };

/** What `pull` did. */
export interface PullResult {
  ok: boolean;
  models: ModelPullOutcome[];
  elapsedMs: number;
}

/**
 * Images and weights of the named (or all) models, each on the hosts it runs or may run on, into
 * the Hugging Face cache its container mounts: every host at once, a host's models one after the
 * other. First each host's models are listed, and those whose cache disk cannot hold what they
 * all still need are refused with the numbers before anything is downloaded. A second pull finds
 * everything there and says so. Changes no container of the stack.
 */
export async function pull(ctx: StackContext, options: PullOptions = {}): Promise<PullResult> {
  const started = Date.now();
  const models = selectedModels(ctx.config, options.models, ctx.cwd);
  const names = [...new Set(models.flatMap(hostsOfModel))];
  const hosts = names.flatMap((n) => hostNamed(ctx.config, n) ?? []);
  const { reached, failed } = await reachHosts(ctx, { hosts });
  const done = await onEachHost(ctx, reached, async (r) => {
    const out: ModelPullOutcome[] = [];
    const here = models.filter((m) => hostsOfModel(m).includes(r.host.name));
    // The disk pre-flight: nothing is downloaded on a host whose cache disk cannot hold it all.
    const options = await pullOptions(ctx, r.docker, r.host.name);
    const verdicts = await spaceFirst(r.docker, r.host.name, here, options);
    for (const spec of here) {
      if (ctx.signal.aborted) break;
      out.push(await pullModel(r.docker, r.host.name, spec, options, verdicts.get(spec.key)));
    }
    return out;
  });
  const outcomes = done.results.flatMap((r) => r.value);
  const unreached = [...failed, ...done.failed];
  for (const f of unreached) {
    for (const spec of models.filter((m) => hostsOfModel(m).includes(f.host))) {
      outcomes.push({ key: spec.key, host: f.host, ok: false, error: f.error, ...(f.hint ? { hint: f.hint } : {}) });
    }
  }
  return { ok: !ctx.signal.aborted && outcomes.every((o) => o.ok), models: outcomes, elapsedMs: Date.now() - started };
}
