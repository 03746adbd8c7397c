import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The watcher's secret: what the gateway's wake hook, Prometheus and `serve` itself present to
 * the watcher's HTTP API (`Authorization: Bearer <token>`); nothing else on the stack's network
 * may wake, start or list models. Derived from the stack's own key (kept in its identity, as
 * the spec-hash key is), so every user of the stack, and the watcher container, agree on it
 * without storing another secret. Never in labels or argv.
 */
export function watcherToken(hashKey: string, stack: string): string {
  return createHmac('sha256', hashKey).update(`inferstack watcher token\0${stack}`).digest('hex');
}

/** The environment variable that hands the token to the watcher container. */
export const WATCHER_TOKEN_ENV = 'INFERSTACK_WATCHER_TOKEN';

/** Whether an `Authorization` header carries `token` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
