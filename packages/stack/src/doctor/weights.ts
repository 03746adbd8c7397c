import type { ModelSpec, StackConfig } from '@inferstack/config';
import { LABEL_STACK, checkWeightsSpace, formatBytes, inspectImage, inspectWeights, type DockerClient, type WeightsInspection } from '@inferstack/docker-ops';
import { labelsFromEnv } from '../hash-key.js';
import { connectConfiguredHost, hostsOf, hostsOfModel } from '../hosts/hosts.js';
import { pullNetwork, spaceNeeds, weightsFallbackImage } from '../models/weights.js';
import type { Check } from './check.js';

/*
 * The models' weights: each model's size (the files vLLM loads, from the Hub's file list, listed
 * with the real Hugging Face client in a short labelled container on each host the model may run
 * on), how much of it the host's cache holds, and whether the cache disk there can hold what is
 * still missing. Pulls no image and downloads nothing.
 */

/** One check per model and host, then one per host whose cache disk is too small. */
export async function weightsChecks(defaultClient: DockerClient | undefined, config: StackConfig, env: NodeJS.ProcessEnv, checks: Check[]): Promise<void> {
  const hosts = hostsOf(config).flatMap((host) => {
    const models = config.models.filter((m) => hostsOfModel(m).includes(host.name));
    return models.length > 0 ? [{ host, models }] : [];
  });
  const several = hosts.length > 1;
  const found = await Promise.all(
    hosts.map(async ({ host, models }) => {
      const out: Check[] = [];
      const where = several ? ` on host ${host.name}` : '';
      let docker = defaultClient;
      if (!host.local) docker = await connectConfiguredHost(config, host.name, env).catch(() => undefined);
      if (!docker) {
        out.push({ id: `weights@${host.name}`, title: 'weights', status: 'warn', message: `not checked${where}: its Docker daemon does not answer` });
        return out;
      }
      const fallback = weightsFallbackImage(config);
      const network = await pullNetwork(docker, config);
      const options = {
        ...((await inspectImage(docker, fallback)) ? { fallbackImage: fallback } : {}),
        ...(network ? { network } : {}),
        imagePolicy: 'never' as const,
        labels: { ...labelsFromEnv(env), [LABEL_STACK]: config.name },
      };
      const inspected: WeightsInspection[] = [];
      for (const spec of models) {
        const id = several ? `weights-${spec.key}@${host.name}` : `weights-${spec.key}`;
        const check = await modelCheck(docker, spec, options, id, where).catch((error: unknown) => ({ error: error as Error }));
        if ('error' in check) {
          const hint = (check.error as { hint?: string }).hint;
          out.push({ id: `weights-${spec.key}@${host.name}`, title: 'weights', status: 'warn', message: `${spec.key}${where}: size unknown: ${check.error.message}`, ...(hint ? { hint } : {}) });
          continue;
        }
        out.push(check.check);
        if (check.inspection) inspected.push(check.inspection);
      }
      for (const problem of checkWeightsSpace(spaceNeeds(host.name, inspected, models))) {
        out.push({ id: `weights-disk@${host.name}`, title: 'weights disk', status: 'fail', message: problem.message, hint: problem.hint });
      }
      return out;
    }),
  );
  checks.push(...found.flat());
}

async function modelCheck(docker: DockerClient, spec: ModelSpec, options: Parameters<typeof inspectWeights>[2], id: string, where: string): Promise<{ check: Check; inspection?: WeightsInspection }> {
  const i = await inspectWeights(docker, spec, options);
  if (i.skipped) return { check: { id, title: 'weights', status: 'ok', message: `${spec.key}${where}: nothing to download (${i.skipped})` } };
  const files = i.sources.reduce((n, s) => n + s.selection.files.length, 0);
  const free = i.disk ? `; ${formatBytes(i.disk.freeBytes)} free on its cache disk` : '';
  const held = i.complete ? 'all in the cache' : `${formatBytes(i.totalBytes - i.missingBytes)} in the cache, ${formatBytes(i.missingBytes)} to fetch`;
  return { check: { id, title: 'weights', status: 'ok', message: `${spec.key}${where}: ${formatBytes(i.totalBytes)} in ${files} file(s), ${held}${free}` }, inspection: i };
}
