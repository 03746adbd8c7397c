import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { WATCHER_PORT, type StackConfig } from '@inferstack/config';
import { DEFAULT_DOCKER_SOCKET, httpGet, parseDockerAddress, type ServiceSpec } from '@inferstack/docker-ops';
import type { StackContext, WatcherProgram } from '../context.js';

export type { WatcherProgram } from '../context.js';
import { serviceExtraNetworks } from '../models/networks.js';
import { WATCHER_TOKEN_ENV, watcherToken } from '../watcher/token.js';
import { needsWatcher } from '../watcher/wake-path.js';
import type { ServiceDefinition } from './registry.js';

/** Where the watcher's program is copied to in its container. */
const PROGRAM_DIR = '/opt/inferstack';

/** The daemon's unix socket, when the stack talks to a local one through a socket (the watcher mounts it). */
function dockerSocket(env: NodeJS.ProcessEnv): string | undefined {
  const address = parseDockerAddress(env.DOCKER_HOST || DEFAULT_DOCKER_SOCKET);
  return address.transport === 'unix' ? address.socketPath : undefined;
}

/**
 * The directories the watcher reads and writes at the same paths as `serve` does: the project
 * (models.yaml, .env), the gateway's config directory and the Prometheus targets directory.
 * One mount for a directory inside another mounted one.
 */
export function watcherDirectories(config: StackConfig): string[] {
  const dirs = [config.projectDir, dirname(config.file)];
  if (config.gateway.mode !== 'none') dirs.push(dirname(config.gateway.configFile));
  if (config.monitoring.mode !== 'none') dirs.push(config.monitoring.targetsDir);
  const unique = [...new Set(dirs)].sort();
  return unique.filter((d) => !unique.some((other) => other !== d && d.startsWith(`${other}/`)));
}

/** The watcher's container: serve's own program in a Node image, on the stack's network. */
export function watcherServiceSpec(ctx: StackContext, program: WatcherProgram, socket: string): ServiceSpec {
  const { config } = ctx;
  // The program's own kind of files: the bin's `.cjs` (its loader and its bundle), or `.js` chunks.
  const files = readdirSync(program.dir)
    .filter((f) => extname(f) === extname(program.main))
    .sort()
    .map((name) => ({ name: `${PROGRAM_DIR.slice(1)}/${name}`, content: readFileSync(join(program.dir, name)) }));
  // Labels of the caller (a test session) go on what the watcher creates too (its locks).
  const extra = Object.entries(ctx.labels).filter(([k]) => k !== 'inferstack.stack');
  return {
    name: config.watcher.containerName,
    kind: 'watcher',
    image: config.watcher.image,
    entrypoint: ['node', `${PROGRAM_DIR}/${program.main}`],
    cmd: ['watch', '--model-config', config.file, '--project', ctx.name, '--listen', `0.0.0.0:${WATCHER_PORT}`],
    env: {
      INFERSTACK_WATCHER_CONTAINER: '1',
      // Inside the stack's network: the gateway and Prometheus by their container names.
      INFERSTACK_IN_NETWORK: '1',
      NO_COLOR: '1',
      ...(extra.length ? { INFERSTACK_LABELS: extra.map(([k, v]) => `${k}=${v}`).join(',') } : {}),
    },
    // Its token: what the gateway's hook, Prometheus and serve present to it (never in argv or labels).
    secretEnv: {
      [WATCHER_TOKEN_ENV]: watcherToken(ctx.hashKey, ctx.name),
      // A key fixed for this run (INFERSTACK_HASH_KEY in the environment) is the watcher's too:
      // it hashes the specs and gateway entries as serve does, or the two would undo each other.
      ...(ctx.fixedHashKey ? { INFERSTACK_HASH_KEY: ctx.hashKey } : {}),
    },
    binds: [`${socket}:/var/run/docker.sock`, ...watcherDirectories(config).map((d) => `${d}:${d}`)],
    network: config.network,
    // The models that sleep live on the stack's private network.
    extraNetworks: serviceExtraNetworks(config, ctx.name),
    files: { dir: '/', entries: files },
    healthcheck: {
      test: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${WATCHER_PORT}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
      intervalSeconds: 10,
      startPeriodSeconds: 30,
    },
  };
}

/**
 * The watcher, wherever a model sleeps, stops when idle or is in a swap group (and
 * `watcher: {mode: managed}`). It needs serve's program (the CLI passes it) and a local daemon
 * reached through its socket.
 */
export const watcherService: ServiceDefinition = {
  id: 'watcher',
  configured: (config) => config.watcher.mode === 'managed' && needsWatcher(config),
  async wanted(ctx) {
    // Without a program or a socket, the plan refused already (requireWakePath): a stack whose
    // idle models nobody wakes never starts.
    return Boolean(ctx.watcherProgram && dockerSocket(ctx.env));
  },
  containerName: (config) => config.watcher.containerName,
  after: ['gateway', 'prometheus'],
  spec: (ctx) => watcherServiceSpec(ctx, ctx.watcherProgram!, dockerSocket(ctx.env)!),
  async ready(ctx) {
    const docker = await ctx.docker();
    const info = await docker.getContainer(ctx.config.watcher.containerName).inspect();
    const ip = info.NetworkSettings.Networks[ctx.config.network]?.IPAddress;
    if (!ctx.local || !ip) return;
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      ctx.signal.throwIfAborted();
      const ok = await httpGet(`http://${ip}:${WATCHER_PORT}/health`, { timeoutMs: 1000 }).then((r) => r.status === 200, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the watcher did not answer on ${ip}:${WATCHER_PORT} within 30 s (see "docker logs ${ctx.config.watcher.containerName}")`);
  },
};
