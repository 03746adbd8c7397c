import { WATCHER_PORT } from '@inferstack/config';
import { LABEL_STACK, httpRequest } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { watcherToken } from './token.js';
import { readWakeInfo } from '../gateway/files.js';

/** A watcher of the stack that runs now, as this process reaches it. */
export interface RunningWatcher {
  url: string;
  token: string;
}

/**
 * The stack's watcher, when one runs and this process can reach it: the managed container (by
 * its address on the stack's network, from this machine), else a `serve watch` in the
 * foreground (where it told the gateway's wake hook it listens).
 */
export async function runningWatcher(ctx: StackContext): Promise<RunningWatcher | undefined> {
  const { config } = ctx;
  if (!ctx.local) return undefined;
  const token = watcherToken(ctx.hashKey, ctx.name);
  if (config.watcher.mode === 'managed') {
    try {
      const info = await (await ctx.docker()).getContainer(config.watcher.containerName).inspect();
      // Only the stack's own watcher, and only while it runs.
      if (!info.State.Running || info.Config.Labels?.[LABEL_STACK] !== ctx.name) return undefined;
      const ip = info.NetworkSettings.Networks[config.network]?.IPAddress;
      return ip ? { url: `http://${ip}:${WATCHER_PORT}`, token } : undefined;
    } catch {
      return undefined;
    }
  }
  const registered = readWakeInfo(config, ctx.name);
  return registered?.watcher && registered.stack === ctx.name ? { url: registered.watcher, token } : undefined;
}

/** One request to the watcher's API; the answer's status and parsed body. */
export async function askWatcher(watcher: RunningWatcher, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 5000): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await httpRequest(`${watcher.url}${path}`, {
    method,
    timeoutMs,
    headers: { authorization: `Bearer ${watcher.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    parsed = { error: r.body.slice(0, 200) };
  }
  return { status: r.status, body: parsed };
}
