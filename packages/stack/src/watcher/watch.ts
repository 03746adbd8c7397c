import { once } from 'node:events';
import { WATCHER_PORT } from '@inferstack/config';
import { listServices, networkGatewayAddress } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { StackInputError } from '../errors.js';
import { watcherServer } from './server.js';
import { WATCHER_TOKEN_ENV, watcherToken } from './token.js';
import { writeWakeInfo } from '../gateway/files.js';
import { wakeableModels } from './wake-path.js';
import { createWatcher, watchedSpecs, type Watcher, type WatcherOptions } from './watcher.js';

/** Options of `watch`. */
export interface WatchOptions extends WatcherOptions {
  /**
   * Where to answer wake requests (`/acquire`), `/state` and `/metrics`; false: nowhere.
   * @default the address of this machine on the stack's network (its bridge), so that the gateway container reaches it; 127.0.0.1 when there is none
   */
  listen?: { host: string; port: number } | false;
  /** Called once it listens and watches (tests and embedders get the watcher itself). */
  onStart?: (watcher: Watcher, address: string | undefined) => void;
}

/**
 * Run the stack's watcher until the signal aborts: look at the models every interval (idle ones
 * are put away, the gateway and Prometheus follow the serving set) and answer wake requests.
 * `serve up` runs this in a container of the stack; run in the foreground, it refuses while that
 * container runs (two watchers would put models away under each other).
 *
 * It tells the gateway's wake hook where it is and which models it looks after (see
 * `writeWakeInfo`), at start and whenever `up` has it read the config again; a watcher in the
 * foreground takes that back when it stops, so that requests to its models fail at once with a
 * clear reason instead of waiting for a watcher that is gone.
 */
export async function watch(ctx: StackContext, options: WatchOptions = {}): Promise<void> {
  const inContainer = ctx.env.INFERSTACK_WATCHER_CONTAINER === '1';
  if (watchedSpecs(ctx.config.models).length === 0) {
    ctx.emit({ type: 'note', level: 'warn', message: 'no model has an idle policy or a swap group: the watcher only keeps the gateway and Prometheus in step' });
  }
  if (!inContainer) {
    const running = (await listServices(await ctx.docker())).find((s) => s.kind === 'watcher' && s.stack === ctx.name && s.state === 'running');
    if (running) {
      throw new StackInputError(`the watcher of stack ${ctx.name} runs already, in container ${running.name}`, {
        hint: `follow it with "docker logs -f ${running.name}"; to run one in the foreground instead, "serve down" the stack's watcher first or set watcher: {mode: none} in models.yaml`,
      });
    }
  }
  const token = ctx.env[WATCHER_TOKEN_ENV] || watcherToken(ctx.hashKey, ctx.name);
  const watcher = createWatcher(ctx, options);
  const listen = options.listen === undefined ? { host: await defaultListenHost(ctx), port: WATCHER_PORT } : options.listen;
  let server: ReturnType<typeof watcherServer> | undefined;
  let address: string | undefined;
  // Where the gateway reaches this watcher: the container by its name, else the address it listens on.
  let url: string | null = null;
  const register = () => {
    try {
      writeWakeInfo(ctx.config, { stack: ctx.name, watcher: url, token, models: url ? wakeableModels({ models: watchedSpecs(ctx.config.models) }) : {} });
    } catch (error) {
      ctx.emit({ type: 'note', level: 'warn', message: `watcher: cannot tell the gateway's wake hook where it is: ${(error as Error).message}` });
    }
  };
  if (listen) {
    server = watcherServer(watcher, ctx.name, { token, onReload: register });
    server.listen(listen.port, listen.host);
    await once(server, 'listening');
    const a = server.address();
    address = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a);
    url = inContainer ? `http://${ctx.config.watcher.containerName}:${WATCHER_PORT}` : `http://${address}`;
    if (!inContainer && /^(127\.|\[::1\])/.test(address)) {
      ctx.emit({ type: 'note', level: 'warn', message: `the watcher listens on ${address}, which the gateway's container cannot reach: requests to a sleeping model will fail (leave --listen out to listen on the stack's network)` });
    }
    ctx.emit({ type: 'watcher-listening', address });
  }
  register();
  options.onStart?.(watcher, address);
  try {
    await watcher.run(ctx.signal);
  } finally {
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    // A watcher in the foreground is gone for good: the hook must not wait for it. The managed
    // one comes back by itself (Docker restarts it; `up` recreates it).
    if (!inContainer && url) {
      url = null;
      register();
    }
  }
}

/** This machine's address on the stack's network (the bridge's gateway), when the daemon is local and the network exists. */
async function defaultListenHost(ctx: StackContext): Promise<string> {
  if (!ctx.local) return '127.0.0.1';
  return (await networkGatewayAddress(await ctx.docker(), ctx.config.network).catch(() => undefined)) ?? '127.0.0.1';
}
