import { DEFAULT_DOCKER_SOCKET, parseDockerAddress } from '@inferstack/docker-ops';
import type { ModelSpec, StackConfig } from '@inferstack/config';
import { StackInputError } from '../errors.js';
import type { WakePathContext } from '../watcher/wake-path.js';

/*
 * What of models.yaml's capacity keys serve carries out today: `replicas:` (a fixed count, or a
 * range the watcher scales on the default host) with `routing: least-busy` or `prefix`, and
 * `gpus: auto` replicas of a fixed count placed on free GPUs of their host or, with `host: any`
 * or a list, over those hosts. The config package also reads `gpus: auto` on a scaling model
 * (the watcher would have to place the replicas it adds); until serve does, such a model is
 * refused here, before anything changes, rather than run in a way the file does not say.
 */

function at(spec: ModelSpec): string {
  return `${spec.source.file}:${spec.source.line}`;
}

/**
 * Refuse what serve cannot do yet with a model's replicas, and a scaling model nothing would
 * scale (the watcher cannot run).
 * @throws StackInputError naming the model, where it is, and what to write instead
 */
export function requireCapacitySupport(config: StackConfig, wake: WakePathContext): void {
  for (const m of config.models) {
    if (m.idle && m.replicas.min === m.replicas.max && m.replicas.max > 1) {
      throw new StackInputError(`${at(m)}: model ${m.key} has an idle policy and ${m.replicas.max} replicas always; the watcher puts the first replica away, and the others would never sleep`, {
        hint: `let it scale instead (replicas: {min: 0, max: ${m.replicas.max}}): the replicas beyond the first go after down-after, the last one as its idle policy says`,
      });
    }
    if (m.gpus.kind === 'auto' && m.replicas.min < m.replicas.max) {
      throw new StackInputError(`${at(m)}: model ${m.key} has gpus: auto and scales (replicas: {min: ${m.replicas.min}, max: ${m.replicas.max}}); the watcher does not place the replicas it adds on free GPUs yet`, {
        hint: `give it a fixed count (replicas: ${m.replicas.max}), which serve up places, or list its GPUs`,
      });
    }
  }
  const scaling = config.models.find((m) => m.replicas.min < m.replicas.max);
  if (!scaling || config.watcher.mode !== 'managed') return;
  if (!wake.hasWatcherProgram) {
    throw new StackInputError(`${at(scaling)}: model ${scaling.key} scales (replicas: {min: ${scaling.replicas.min}, max: ${scaling.replicas.max}}), which the stack's watcher does, and this caller gives no program to run it with`, {
      hint: 'open the stack with the watcherProgram option (the serve CLI does), or set watcher: {mode: none} in models.yaml and run "serve watch" yourself',
    });
  }
  const docker = parseDockerAddress(wake.env.DOCKER_HOST || DEFAULT_DOCKER_SOCKET);
  if (docker.transport !== 'unix') {
    throw new StackInputError(`${at(scaling)}: model ${scaling.key} scales, which the stack's watcher container does, and it talks to Docker through its socket, while DOCKER_HOST is ${wake.env.DOCKER_HOST}`, {
      hint: `run serve on the Docker host itself (unix socket), give the model a fixed count (replicas: ${scaling.replicas.max}), or set watcher: {mode: none} and run "serve watch" on the Docker host`,
    });
  }
}
