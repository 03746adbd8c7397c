/**
 * Shapes exchanged with LiteLLM and between the plan and its appliers.
 */

/**
 * One deployment as LiteLLM reports it (`GET /model/info`) or as it appears in a config file's
 * `model_list`. LiteLLM adds defaults to `litellm_params` and removes or masks credentials, so
 * only fields we set ourselves are ever compared.
 */
export interface GatewayEntry {
  /** The public model (group) name clients ask for. */
  model_name: string;
  litellm_params: {
    model?: string;
    api_base?: string;
    api_key?: string;
    /** The reference tool marked its entries with `organization: inference-vllm`. */
    organization?: string;
    [key: string]: unknown;
  };
  model_info: {
    /** Deployment id (ours are deterministic; LiteLLM generates one for others). */
    id?: string;
    /** `true` for models stored in LiteLLM's database, `false` for config-file models. */
    db_model?: boolean;
    managed_by?: string;
    /** The stack (owner) whose entry it is, when the sync was given one. */
    inferstack_stack?: string;
    inferstack_model_key?: string;
    inferstack_spec?: string;
    inferstack_routing?: string;
    inferstack_affinity?: string;
    [key: string]: unknown;
  };
}

/**
 * A vLLM server that is really up and should be reachable through the gateway: a backend,
 * described by its address.
 */
export interface DesiredDeployment {
  /** The name vLLM serves the model as; becomes LiteLLM's `model_name` (what clients ask for). */
  servedModelName: string;
  /**
   * Where the gateway reaches the server: its OpenAI base URL, ending in `/v1`
   * (`http://10.0.0.7:8001/v1`). {@link vllmApiBase} builds one from `host:port`, e.g. a
   * container name and vLLM's port on a Docker network.
   */
  apiBase: string;
  /**
   * A name for this backend, unique among those synced (a container name, say); the
   * deployment id is `inferstack-<name>`. @default the host and port of `apiBase`
   */
  name?: string;
  /** Where it comes from, for humans and status views (the key in models.yaml). */
  modelKey?: string;
  /**
   * The API key vLLM requires, if any. In config-file mode it is written into the config file;
   * an `os.environ/NAME` reference (resolved by LiteLLM) keeps the secret out of the file.
   */
  apiKey?: string;
  /**
   * How a gateway plugin spreads the model's requests over its deployments, kept in
   * `model_info`: `prefix` keeps requests that start alike on one deployment, chosen by
   * `affinity` (a name that stays the same when the backend is replaced, such as `<key>#<replica>`).
   * LiteLLM itself ignores these fields; inferstack's gateway plugin reads them.
   */
  routing?: { strategy: 'prefix'; affinity: string };
}

/**
 * Whose entries a sync may change. Several stacks can share one gateway: each passes its own
 * `owner` and never touches the others' entries. Without an owner, every entry inferstack made
 * is the sync's (one stack per gateway, as before owners existed).
 */
export interface SyncScope {
  /** The owner's name (a stack name), kept in `model_info.inferstack_stack`. */
  owner?: string;
  /**
   * A secret for the digest in `model_info.inferstack_spec` (see `specDigest`): every holder of
   * a gateway key reads that field, so keyed with a secret only the sync knows, it tells a changed
   * backend `api_key` without letting them test guesses of it. Give the same secret on every sync
   * (another one makes every entry look changed once). inferstack's stack passes its spec-hash key.
   * @default none: the api key does not enter the digest, and a changed key alone is not seen
   */
  digestKey?: string;
}

/** The value of `model_info.managed_by` on every entry inferstack owns. */
export const MANAGED_BY = 'inferstack';

/** `litellm_params.organization` of entries written by the reference tool (migrated, then gone). */
export const LEGACY_ORGANIZATION = 'inference-vllm';

/** An entry exactly as inferstack writes it (API body of `/model/new`, or a config `model_list` item). */
export interface ManagedModelEntry {
  model_name: string;
  litellm_params: {
    /** `hosted_vllm/<served model name>`. */
    model: string;
    /** The backend's OpenAI base URL, e.g. `http://<container>:8000/v1`. */
    api_base: string;
    api_key?: string;
  };
  model_info: {
    id: string;
    managed_by: typeof MANAGED_BY;
    /** The owner of the entry (a stack name), when the sync has one. */
    inferstack_stack?: string;
    inferstack_model_key?: string;
    /** Digest of the fields we own (model name, model, api_base; api_key when keyed): a change means replace. */
    inferstack_spec: string;
    /** `prefix` for a deployment routed by prompt prefix (see {@link DesiredDeployment.routing}). */
    inferstack_routing?: 'prefix';
    /** Its stable name among the model's deployments, for the prefix hash. */
    inferstack_affinity?: string;
  };
}

/** Why an entry is removed. */
export type RemoveReason =
  /** Ours, but its container is not among the desired (running) deployments. */
  | 'not-running'
  /** A second entry with an id we already keep. */
  | 'duplicate'
  /** Written by the reference tool and matching no running deployment. */
  | 'legacy';

/** One step of a gateway sync; a list of them is the plan (a dry run prints it). */
export type GatewayChange =
  | { kind: 'add'; entry: ManagedModelEntry }
  | { kind: 'remove'; id: string; modelName: string; reason: RemoveReason; entry: GatewayEntry }
  | {
      kind: 'replace';
      /** What goes away (its `model_info.id`; differs from `entry.model_info.id` on migration). */
      from: GatewayEntry;
      fromId: string;
      entry: ManagedModelEntry;
      /** `changed`: our entry differs in a field we own; `migrate`: a reference-tool entry. */
      reason: 'changed' | 'migrate';
      /** Names of the owned fields that differ (for `changed`). */
      fields: string[];
    }
  | {
      /**
       * A wanted entry the sync does not write: its id belongs to an entry of the proxy's config
       * file (`model_info.db_model: false`), which LiteLLM's `/model/new` would silently replace
       * in its router. Reported as a failed change; the rest of the plan goes ahead.
       */
      kind: 'conflict';
      reason: 'config-file';
      entry: ManagedModelEntry;
      /** The config file's entry that has the id. */
      existing: GatewayEntry;
    };
