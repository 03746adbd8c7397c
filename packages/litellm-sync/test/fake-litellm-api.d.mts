/** Options of the fake LiteLLM proxy (DB mode unless `db: false`). */
export interface FakeLitellmOptions {
  /** Master key; without one the proxy needs no auth (like LiteLLM). */
  masterKey?: string;
  /** A database is connected (API mode works). @default true */
  db?: boolean;
  /** Models from the proxy's config file (`db_model: false`, cannot be deleted). */
  configModels?: Array<{
    model_name: string;
    litellm_params: Record<string, unknown> & { model: string };
    model_info?: Record<string, unknown>;
  }>;
  /**
   * Worker processes, each with its own model list: the one that serves an admin call applies it
   * at once, the others at their next reload from the DB. @default 1
   */
  workers?: number;
  /**
   * How often each worker reloads its list from the DB (LiteLLM's
   * `proxy_config_reload_interval_seconds`, 30 s by default); the workers' reloads are staggered.
   * @default 30000
   */
  reloadIntervalMs?: number;
  /**
   * Which worker serves a request: the one its connection was given (`connection`, as uvicorn's
   * workers share the listening socket), or the next one for every request (`request`, a
   * balancer in front of replicas), round-robin; or the worker (its index) a function picks.
   * @default 'connection'
   */
  balance?: 'connection' | 'request' | ((request: { method: string; path: string }) => number);
  /** inferstack's plugin is loaded: `GET /inferstack/state` answers for the serving worker. @default false */
  plugin?: boolean;
  /** Added to every answer. @default 0 */
  latencyMs?: number;
}

/** A recorded request. */
export interface FakeLitellmRequest {
  method: string;
  path: string;
  search: string;
  authorization: string | undefined;
  body: string;
  /** The pid of the worker that served it. */
  worker: number;
}

/** A running fake proxy on 127.0.0.1. */
export interface FakeLitellm {
  url: string;
  port: number;
  requests: FakeLitellmRequest[];
  /**
   * The stored deployments (the config file's entries, unless a DB row has taken their id, then
   * the DB's rows), api_key included.
   */
  readonly models: Array<{
    id: string;
    model_name: string;
    litellm_params: Record<string, unknown>;
    model_info: Record<string, unknown>;
    db_model: boolean;
  }>;
  /** Each worker's pid and the deployment ids it routes to now. */
  readonly workers: Array<{ pid: number; ids: string[] }>;
  /** Every worker reloads from the DB now (as if each one's interval had passed). */
  reloadAll(): void;
  /** The next `count` requests answer `status` (or, with `'reset'`, lose their connection). */
  failNext(count: number, status?: number | 'reset'): void;
  close(): Promise<void>;
}

export function startFakeLitellm(options?: FakeLitellmOptions): Promise<FakeLitellm>;
