import { createHash, createHmac } from 'node:crypto';
import {
  type DesiredDeployment,
  type GatewayChange,
  type GatewayEntry,
  LEGACY_ORGANIZATION,
  MANAGED_BY,
  type ManagedModelEntry,
  type SyncScope,
} from './types.js';

/** Prefix of every deployment id inferstack creates. */
export const ID_PREFIX = 'inferstack-';

/**
 * The deterministic, URL-safe `model_info.id` of a backend's deployment: `inferstack-<name>`.
 * Docker container names are already limited to `[A-Za-z0-9_.-]` and unique on a host, so for
 * them the id is unique and readable. A name outside that set has the other characters replaced
 * and a short hash of the original appended, so two such names can never share an id.
 */
export function deploymentId(name: string): string {
  const slug = name.replace(/[^A-Za-z0-9_.-]/g, '-');
  if (slug === name && slug !== '') return `${ID_PREFIX}${slug}`;
  return `${ID_PREFIX}${slug}-${sha256(name).slice(0, 8)}`;
}

/**
 * Digest (16 hex) of every field inferstack owns in an entry. LiteLLM removes `api_key` from
 * `/model/info`, so a changed key is only visible through this digest, which travels unmasked in
 * `model_info.inferstack_spec`: anyone with a gateway key reads it. So with `secret` it is an
 * HMAC-SHA256 keyed by it and the backend's key enters it (a changed key is a change), and a
 * reader without the secret cannot test guesses of the key against it; without `secret` the key
 * does not enter it at all (a changed key alone then goes unseen).
 */
export function specDigest(
  entry: {
    model_name: string;
    litellm_params: { model: string; api_base: string; api_key?: string };
  },
  secret?: string,
): string {
  const owned = [entry.model_name, entry.litellm_params.model, entry.litellm_params.api_base];
  if (secret === undefined || secret === '') return sha256(`inferstack-spec-v2\0${JSON.stringify(owned)}`).slice(0, 16);
  const text = `inferstack-spec-v2\0${JSON.stringify([...owned, entry.litellm_params.api_key ?? ''])}`;
  return createHmac('sha256', secret).update(text).digest('hex').slice(0, 16);
}

/**
 * The OpenAI base URL of a vLLM server at `address` (`host:port`, or `host` and `port`), as
 * LiteLLM's `hosted_vllm` provider wants it: `http://host:port/v1`. A URL is kept, with `/v1`
 * added when missing.
 *
 * @example vllmApiBase('10.0.0.7:8001') // 'http://10.0.0.7:8001/v1'
 * @example vllmApiBase('inference-qwen', 8000) // 'http://inference-qwen:8000/v1'
 */
export function vllmApiBase(address: string, port?: number): string {
  const base = /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}${port !== undefined ? `:${port}` : ''}`;
  return base.endsWith('/v1') ? base : `${base}/v1`;
}

/** The backend name of a deployment: its own, else the host and port of its `api_base`. */
export function backendName(deployment: Pick<DesiredDeployment, 'name' | 'apiBase'>): string {
  if (deployment.name) return deployment.name;
  try {
    const url = new URL(deployment.apiBase);
    return `${url.hostname}-${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return deployment.apiBase;
  }
}

/** The entry inferstack writes for one running deployment. */
export function managedEntryFor(deployment: DesiredDeployment, scope: SyncScope = {}): ManagedModelEntry {
  const litellm_params: ManagedModelEntry['litellm_params'] = {
    model: `hosted_vllm/${deployment.servedModelName}`,
    api_base: deployment.apiBase,
    ...(deployment.apiKey ? { api_key: deployment.apiKey } : {}),
  };
  const model_name = deployment.servedModelName;
  return {
    model_name,
    litellm_params,
    model_info: {
      id: deploymentId(backendName(deployment)),
      managed_by: MANAGED_BY,
      ...(scope.owner !== undefined ? { inferstack_stack: scope.owner } : {}),
      ...(deployment.modelKey !== undefined ? { inferstack_model_key: deployment.modelKey } : {}),
      inferstack_spec: specDigest({ model_name, litellm_params }, scope.digestKey),
      ...(deployment.routing ? { inferstack_routing: deployment.routing.strategy, inferstack_affinity: deployment.routing.affinity } : {}),
    },
  };
}

/**
 * The deployment an entry inferstack wrote stands for: syncing it again keeps the entry exactly
 * as it is (same id, same fields). For a sync that cannot tell whether a backend still serves
 * (its Docker host did not answer) and so leaves its route alone. LiteLLM's `/model/info` does
 * not return `api_key`: pass the key it was written with (`apiKey`) for such entries.
 * Undefined for entries inferstack did not write.
 */
export function deploymentOfEntry(entry: Pick<GatewayEntry, 'model_name' | 'litellm_params' | 'model_info'>, apiKey?: string): DesiredDeployment | undefined {
  if (!isInferstackEntry(entry)) return undefined;
  const id = String(entry.model_info.id ?? '');
  const apiBase = entry.litellm_params.api_base;
  if (!id.startsWith(ID_PREFIX) || typeof apiBase !== 'string') return undefined;
  const key = apiKey ?? entry.litellm_params.api_key;
  return {
    name: id.slice(ID_PREFIX.length),
    apiBase,
    servedModelName: entry.model_name,
    ...(typeof entry.model_info.inferstack_model_key === 'string' ? { modelKey: entry.model_info.inferstack_model_key } : {}),
    ...(typeof key === 'string' && key !== '' ? { apiKey: key } : {}),
    ...(entry.model_info.inferstack_routing === 'prefix' && typeof entry.model_info.inferstack_affinity === 'string'
      ? { routing: { strategy: 'prefix' as const, affinity: entry.model_info.inferstack_affinity } }
      : {}),
  };
}

/** Entries inferstack wrote (marked in `model_info.managed_by`), whoever the owner. */
function isInferstackEntry(entry: Pick<GatewayEntry, 'model_info'>): boolean {
  return entry.model_info?.managed_by === MANAGED_BY;
}

/** Entries of the scope's owner (without an owner: every entry inferstack wrote). */
export function isOwnEntry(entry: Pick<GatewayEntry, 'model_info'>, scope: SyncScope = {}): boolean {
  return isInferstackEntry(entry) && (scope.owner === undefined || entry.model_info.inferstack_stack === scope.owner);
}

/** Entries the reference tool wrote (`litellm_params.organization: inference-vllm`). */
export function isLegacyEntry(entry: Pick<GatewayEntry, 'litellm_params' | 'model_info'>): boolean {
  return !isInferstackEntry(entry) && entry.litellm_params?.organization === LEGACY_ORGANIZATION;
}

/**
 * Whether a sync of `scope` may change or delete this entry: its owner's entries; entries of
 * inferstack from before owners existed whose id the sync wants (adopted); the reference tool's
 * (a scoped sync only migrates those pointing at its own backends). Everything else — added by
 * hand, or another owner's — is never touched.
 */
export function isManagedEntry(entry: Pick<GatewayEntry, 'litellm_params' | 'model_info'>, scope: SyncScope = {}, wantedIds?: ReadonlySet<string>): boolean {
  if (isOwnEntry(entry, scope) || isLegacyEntry(entry)) return true;
  return isInferstackEntry(entry) && entry.model_info.inferstack_stack === undefined && wantedIds?.has(String(entry.model_info.id)) === true;
}

/**
 * Which owned fields of an existing entry differ from the wanted one (empty = keep it).
 * `api_key` is compared through the digest only, because LiteLLM does not return it.
 */
export function differingFields(actual: GatewayEntry, wanted: ManagedModelEntry): string[] {
  const fields: string[] = [];
  if (actual.model_name !== wanted.model_name) fields.push('model_name');
  if (actual.litellm_params.model !== wanted.litellm_params.model) fields.push('model');
  if (actual.litellm_params.api_base !== wanted.litellm_params.api_base) fields.push('api_base');
  if (actual.model_info.inferstack_model_key !== wanted.model_info.inferstack_model_key) {
    fields.push('model_key');
  }
  if (actual.model_info.inferstack_stack !== wanted.model_info.inferstack_stack) fields.push('owner');
  if (actual.model_info.inferstack_spec !== wanted.model_info.inferstack_spec) fields.push('spec');
  if (actual.model_info.inferstack_routing !== wanted.model_info.inferstack_routing || actual.model_info.inferstack_affinity !== wanted.model_info.inferstack_affinity) {
    fields.push('routing');
  }
  return fields;
}

/**
 * Works out what to change so that the gateway's managed entries equal the desired deployments.
 * Pure: no I/O, same input → same output, in a stable order (conflicts, adds, replaces, removes;
 * by id).
 *
 * - Entries without our mark (added by hand) are never touched.
 * - Our entries are matched by their deterministic id; one that differs in an owned field is
 *   replaced, one whose container is not desired is removed, extra copies of an id are removed.
 * - Reference-tool entries (`organization: inference-vllm`) are migrated: replaced by ours when
 *   they point at a desired container, removed otherwise.
 * - Several containers serving the same model name become several deployments of that
 *   `model_name`, which LiteLLM load-balances.
 * - A desired deployment listed twice (same container) counts once.
 * - A wanted entry whose id an entry of the proxy's config file has (`db_model: false`) is not
 *   written: a `conflict` change says so (first in the plan).
 */
export function planGatewaySync(desired: DesiredDeployment[], actual: GatewayEntry[], scope: SyncScope = {}): GatewayChange[] {
  const wanted = new Map<string, ManagedModelEntry>();
  for (const deployment of desired) {
    const entry = managedEntryFor(deployment, scope);
    if (!wanted.has(entry.model_info.id)) wanted.set(entry.model_info.id, entry);
  }

  const adds: GatewayChange[] = [];
  const replaces: GatewayChange[] = [];
  const removes: GatewayChange[] = [];
  const covered = new Set<string>();

  const wantedIds = new Set(wanted.keys());
  // Ours, and inferstack's ownerless entries we want (adopted: replaced by ours, with the owner).
  for (const entry of actual.filter((e) => isInferstackEntry(e) && isManagedEntry(e, scope, wantedIds))) {
    const id = entry.model_info.id;
    if (typeof id !== 'string' || id === '') continue; // cannot address it; LiteLLM always sets one
    const target = wanted.get(id);
    if (target === undefined) {
      removes.push({ kind: 'remove', id, modelName: entry.model_name, reason: 'not-running', entry });
    } else if (covered.has(id)) {
      removes.push({ kind: 'remove', id, modelName: entry.model_name, reason: 'duplicate', entry });
    } else {
      covered.add(id);
      const fields = differingFields(entry, target);
      if (fields.length > 0) {
        replaces.push({ kind: 'replace', from: entry, fromId: id, entry: target, reason: 'changed', fields });
      }
    }
  }

  for (const entry of actual.filter(isLegacyEntry)) {
    const id = entry.model_info.id;
    if (typeof id !== 'string' || id === '') continue;
    const target = [...wanted.values()].find(
      (candidate) =>
        !covered.has(candidate.model_info.id) && candidate.litellm_params.api_base === entry.litellm_params.api_base,
    );
    if (target !== undefined) {
      covered.add(target.model_info.id);
      replaces.push({ kind: 'replace', from: entry, fromId: id, entry: target, reason: 'migrate', fields: [] });
    } else if (scope.owner === undefined) {
      // A scoped sync cannot tell whose it is: only an unscoped one (one stack per gateway) removes it.
      removes.push({ kind: 'remove', id, modelName: entry.model_name, reason: 'legacy', entry });
    }
  }

  for (const [id, entry] of wanted) {
    if (!covered.has(id)) adds.push({ kind: 'add', entry });
  }

  // An id of the proxy's config file is never written through the API (`/model/new` would
  // replace that entry without a word): what would write one is refused instead, whole (a
  // migration's old entry stays, so its model stays routed).
  const fromConfigFile = new Map<string, GatewayEntry>();
  for (const entry of actual) {
    const id = entry.model_info.id;
    if (entry.model_info.db_model === false && typeof id === 'string') fromConfigFile.set(id, entry);
  }
  const conflicts: GatewayChange[] = [];
  const writable = (change: GatewayChange): boolean => {
    if (change.kind !== 'add' && change.kind !== 'replace') return true;
    const existing = fromConfigFile.get(change.entry.model_info.id);
    if (existing === undefined) return true;
    conflicts.push({ kind: 'conflict', reason: 'config-file', entry: change.entry, existing });
    return false;
  };
  const written = [...adds.sort(byId), ...replaces.sort(byId)].filter(writable);
  return [...conflicts.sort(byId), ...written, ...removes.sort(byId)];
}

function byId(a: GatewayChange, b: GatewayChange): number {
  return compare(changeId(a), changeId(b));
}

/** The id a change is about (the new id for add/replace/conflict, the removed id for remove). */
export function changeId(change: GatewayChange): string {
  return change.kind === 'remove' ? change.id : change.entry.model_info.id;
}

/**
 * One human-readable line per change, for `--dry-run` and logs. Never shows API keys.
 *
 * @example
 * formatGatewayPlan(changes)
 * // ['+ add      qwen3-4b  inferstack-inference-qwen-4b  -> http://inference-qwen-4b:8000/v1']
 */
export function formatGatewayPlan(changes: GatewayChange[]): string[] {
  const rows = changes.map((change): [string, string, string, string] => {
    switch (change.kind) {
      case 'add':
        return ['+ add', change.entry.model_name, change.entry.model_info.id, `-> ${change.entry.litellm_params.api_base}`];
      case 'replace':
        return [
          '~ replace',
          change.entry.model_name,
          change.entry.model_info.id,
          change.reason === 'migrate'
            ? `migrate reference-tool entry ${change.fromId}`
            : `changed: ${change.fields.join(', ')}`,
        ];
      case 'conflict':
        return ['! refuse', change.entry.model_name, change.entry.model_info.id, "id taken by an entry of the gateway's config file"];
      case 'remove':
        return [
          '- remove',
          change.modelName,
          change.id,
          change.reason === 'not-running'
            ? 'container not running'
            : change.reason === 'duplicate'
              ? 'duplicate entry'
              : 'reference-tool entry, container not running',
        ];
    }
  });
  const width = (column: 0 | 1 | 2): number => Math.max(0, ...rows.map((row) => row[column].length));
  const [w0, w1, w2] = [width(0), width(1), width(2)];
  return rows.map((row) => `${row[0].padEnd(w0)}  ${row[1].padEnd(w1)}  ${row[2].padEnd(w2)}  ${row[3]}`.trimEnd());
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
