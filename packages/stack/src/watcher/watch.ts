import { once } from 'node:events';
import { listServices } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { StackInputError } from '../errors.js';
import { watcherServer } from './server.js';
import { createWatcher, watchedSpecs, type Watcher, type WatcherOptions } from './watcher.js';

/** Options of `watch`. */
export interface WatchOptions extends WatcherOptions {
  /** Where to answer wake requests (`/acquire`), `/state` and `/metrics`; false: nowhere. @default { host: '127.0.0.1', port: WATCHER_PORT } */
  listen?: { host: string; port: number } | false;
  /** Called once it listens and watches (tests and embedders get the watcher itself). */
  onStart?: (watcher: Watcher, address: string | undefined) => void;
}

/**
 * Run the stack's watcher until the signal aborts: look at the models every interval (idle ones
 * are put away, the gateway and Prometheus follow the serving set) and answer wake requests.
 * `serve up` runs this in a container of the stack; run in the foreground, it refuses while that
 * container runs (two watchers would put models away under each other).
 */
export async function watch(ctx: StackContext, options: WatchOptions = {}): Promise<void> {
  await ctx.resolve();
  if (watchedSpecs(ctx.config.models).length === 0) {
    ctx.emit({ type: 'note', level: 'warn', message: 'no model has an idle policy or a swap group: the watcher only keeps the gateway and Prometheus in step' });
  }
  if (ctx.env.INFERSTACK_WATCHER_CONTAINER !== '1') {
    const running = (await listServices(await ctx.docker())).find((s) => s.kind === 'watcher' && s.stack === ctx.name && s.state === 'running');
    if (running) {
      throw new StackInputError(`the watcher of stack ${ctx.name} runs already, in container ${running.name}`, {
        hint: `follow it with "docker logs -f ${running.name}"; to run one in the foreground instead, "serve down" the stack's watcher first or set watcher: {mode: none} in models.yaml`,
      });
    }
  }
  const watcher = createWatcher(ctx, options);
  const listen = options.listen === undefined ? { host: '127.0.0.1', port: (await import('@inferstack/config')).WATCHER_PORT } : options.listen;
  let server: ReturnType<typeof watcherServer> | undefined;
  let address: string | undefined;
  if (listen) {
    server = watcherServer(watcher, ctx.name);
    server.listen(listen.port, listen.host);
    await once(server, 'listening');
    const a = server.address();
    address = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a);
    ctx.emit({ type: 'watcher-listening', address });
  }
  options.onStart?.(watcher, address);
  try {
    await watcher.run(ctx.signal);
  } finally {
    if (server) {
      server.closeAllConnections();
      server.close();
    }
  }
}
