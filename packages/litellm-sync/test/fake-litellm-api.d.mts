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
   * Delay before an add or delete shows in `/model/info` and `/v1/models`, like another worker
   * that polls the DB. @default 0
   */
  propagationDelayMs?: number;
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
}

/** A running fake proxy on 127.0.0.1. */
export interface FakeLitellm {
  url: string;
  port: number;
  requests: FakeLitellmRequest[];
  /** The stored deployments (what the "database" and config hold), api_key included. */
  readonly models: Array<{
    id: string;
    model_name: string;
    litellm_params: Record<string, unknown>;
    model_info: Record<string, unknown>;
    db_model: boolean;
  }>;
  /** The next `count` requests answer `status` (or, with `'reset'`, lose their connection). */
  failNext(count: number, status?: number | 'reset'): void;
  close(): Promise<void>;
}

export function startFakeLitellm(options?: FakeLitellmOptions): Promise<FakeLitellm>;
