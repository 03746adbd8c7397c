import type * as v from 'valibot';
import { didYouMean } from './_did-you-mean.js';
import { locate, type LNode, type Pos } from './_yaml-tree.js';
import type { ConfigIssue } from './errors.js';

/** Collects issues for one file. */
export class IssueCollector {
  readonly issues: ConfigIssue[] = [];

  constructor(readonly file: string) {}

  add(pos: Pos | undefined, path: (string | number)[], code: string, message: string, hint: string): void {
    this.issues.push({
      file: this.file,
      line: pos?.line ?? 0,
      column: pos?.column ?? 0,
      path,
      code,
      message,
      hint,
    });
  }
}

/** What to do, by the name of the field an issue is about. */
const HINTS: Record<string, string> = {
  model: 'write the Hugging Face repo id, e.g. model: Qwen/Qwen3-VL-4B-Instruct',
  gpus: 'use a list of GPU indices like gpus: [0, 1], or all, auto (serve picks free GPUs), or none (no GPU)',
  'cpuset-cpus': 'write a CPU list like "0-3" or "0,2,4", or a list [0, 1, 2]',
  'shm-size': 'write a size with a unit b, k, m or g, e.g. shm-size: 8g',
  'tensor-parallel-size': 'write a whole number such as 1 or 2, equal to the number of GPUs',
  'gpu-memory-utilization': 'write a fraction such as 0.9 (90% of the GPU memory)',
  additional_flags: 'write a list such as additional_flags: [--trust-remote-code]',
  'served-model-name': 'write the name clients should use, e.g. served-model-name: qwen',
  'api-key': 'write the key as a string, or "${NAME}" to take it from .env',
  image: 'write an image reference such as postgres:16-alpine; for a model, a bare tag such as v0.32.0-cu129 means vllm/vllm-openai:<tag>',
  env: 'write a map of NAME: value pairs',
  volumes: 'write a list such as volumes: ["/data/models:/models:ro"]',
  pull: 'write pull: missing, always or never',
  after: 'write a duration such as 15m, 2h or 1h30m (more than 0, at most 24d20h); idle: none turns the policy off',
  'wake-timeout': 'write a duration such as 10m or 30s (more than 0, at most 24d20h): how long a request waits for the model to wake',
  mode: 'write managed, external or none',
  sync: 'write sync: config (no database) or sync: api (LiteLLM with a database)',
  url: 'write a full URL such as http://127.0.0.1:4000',
  port: 'write a port number between 1 and 65535',
  bind: 'write an IP address such as 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces)',
  'config-file': 'write a path relative to the project directory, e.g. litellm/config.yaml',
  'targets-dir': 'write a path relative to the project directory, e.g. prometheus/targets',
  enabled: 'write true or false',
  'scrape-configs': 'write a list of Prometheus scrape configs, each with a job_name',
  job_name: 'give every scrape config a job_name',
  network: 'write a Docker network name such as inference_default',
  name: 'write a stack name: lower-case letters, digits, _ and - (starting with a letter or digit), at most 55 characters',
  'container-name': 'write a container name: letters, digits, _ . - (not first), at most 63 characters (60 for the gateway)',
  prometheus: 'write a map with url, port, image or targets-dir',
  grafana: 'write a map with enabled, port, image, admin-user or container-name',
  'node-exporter': 'write a map with enabled, image or container-name',
  'dcgm-exporter': 'write a map with enabled, image, container-name, remote-hostengine, devices or interval',
  database: 'write a map with image, e.g. database: {image: postgres:16-alpine}',
  'ui-username': 'write the user name of the admin UI login, e.g. ui-username: admin (the password goes in .env as LITELLM_PASSWORD)',
  'admin-user': "write Grafana's admin user name, e.g. admin-user: admin (the password goes in .env as GRAFANA_ADMIN_PASSWORD)",
  'remote-hostengine': 'write host:port of an nv-hostengine, e.g. remote-hostengine: host.docker.internal:5555',
  devices: 'write f (every GPU or its MIG instances), g, i, or a list such as g:0,2-3',
  interval: 'write the collection interval in milliseconds, e.g. interval: 30000',
  defaults: 'write a map with image, env, volumes, pull, replace, idle, wake-timeout, replicas or routing',
  endpoint: 'write unix:///path/to/docker.sock, tcp://host:2376 (with tls:) or ssh://user@host[:port]',
  address: 'write the IP address or DNS name the gateway\'s host reaches this host on, e.g. address: 10.0.0.12',
  host: 'write the name of a host under hosts:, e.g. host: gpu2 (leave it out for the default host); with gpus: auto also a list such as host: [gpu1, gpu2], or host: any',
  replicas: 'write a number of replicas (1 or more), or replicas: {min: 1, max: 4} to scale between them on load; min: 0 (none while idle) needs an idle policy',
  min: 'write the least number of replicas, 0 or more (0 needs an idle policy)',
  max: 'write the most replicas that may run, 1 or more',
  'down-after': 'write a duration such as 5m or 90s (more than 0, at most 24d20h): how long the load stays low before a replica is taken away',
  routing: 'write routing: least-busy (the replica with the fewest requests in flight) or routing: prefix (requests that start alike to the same replica)',
  hosts: 'write a map of <name>: {endpoint: ...}, e.g. gpu2: {endpoint: "ssh://root@gpu2"}',
  'allow-open-models': 'write allow-open-models: true (models of this host may go without an api-key) or leave it out',
  tls: 'write tls: {ca: ca.pem, cert: cert.pem, key: key.pem} (paths relative to the project directory)',
  ssh: 'write ssh: {private-key: <key file>, known-hosts: <known_hosts file>}',
  gateway: 'write a map with mode, sync, url, port, image, ui-username, database, config-file or bind',
  monitoring: 'write a map with mode, prometheus, grafana, node-exporter, dcgm-exporter or scrape-configs',
};

const FLAG_HINT = 'give the flag a value; write true for a valueless flag, or remove the key';

/** The hint for an issue about `field`. */
export function hintFor(field: string | number | undefined, isFlag = false): string {
  if (isFlag) return FLAG_HINT;
  return (typeof field === 'string' ? HINTS[field] : undefined) ?? 'see the models.yaml reference in the @inferstack/config README';
}

/** `a.b[0].c` from `['a', 'b', 0, 'c']`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Short description of a value for messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

type AnySchema = v.GenericSchema & { entries?: Record<string, AnySchema>; wrapped?: AnySchema; options?: AnySchema[] };

/** Keys an object schema allows at `path` (for "did you mean"). */
function knownKeysAt(schema: AnySchema, path: readonly (string | number)[]): string[] {
  // Optional wraps; a union (`replicas: 3` or a map) has its map among its options.
  const unwrap = (s: AnySchema): AnySchema => {
    if (s.wrapped) return unwrap(s.wrapped);
    const map = s.options?.map(unwrap).find((o) => o.entries);
    return map ?? s;
  };
  let current = unwrap(schema);
  for (const step of path) {
    const next = typeof step === 'string' ? current.entries?.[step] : undefined;
    if (!next) return [];
    current = unwrap(next);
  }
  return current.entries ? Object.keys(current.entries) : [];
}

/**
 * Turns valibot issues for the value `node` (found at `basePath` in the document) into
 * config issues positioned on the YAML nodes. `label` names the thing in messages.
 */
export function reportSchemaIssues(
  out: IssueCollector,
  schema: AnySchema,
  issues: readonly v.BaseIssue<unknown>[],
  node: LNode,
  basePath: (string | number)[],
  label: string,
  options: { flagKeys?: ReadonlySet<string>; positionOf?: (rel: (string | number)[], which: 'key' | 'value') => Pos } = {},
): void {
  const positionOf = options.positionOf ?? ((rel, which) => locate(node, rel, which));
  for (const issue of expandMapUnions(issues)) {
    const rel = (issue.path ?? []).map((p) => p.key as string | number);
    const last = issue.path?.at(-1);
    const field = [...rel].reverse().find((k) => typeof k === 'string');
    const where = rel.length === 0 ? label : `${label}${label ? ': ' : ''}${formatPath(rel)}`;

    if ((issue.type === 'strict_object' || issue.type === 'object') && last?.origin === 'key' && issue.expected !== 'never') {
      // A required key that is not there (valibot reports it at the key's path, with no value).
      const key = String(last.key);
      out.add(
        positionOf(rel.slice(0, -1), 'value'),
        [...basePath, ...rel],
        'missing-key',
        `${[label, ...rel.slice(0, -1)].filter(Boolean).join('.')} has no "${key}"`,
        `add ${key}: (required here)`,
      );
      continue;
    }
    if (issue.type === 'strict_object' && last?.origin === 'key') {
      const key = String(last.key);
      const known = knownKeysAt(schema, rel.slice(0, -1));
      const suggestion = didYouMean(key, known);
      out.add(
        positionOf(rel, 'key'),
        [...basePath, ...rel],
        'unknown-key',
        `unknown key "${key}"${rel.length > 1 ? ` in ${[label, ...rel.slice(0, -1)].filter(Boolean).join('.')}` : label ? ` in ${label}` : ''}`,
        suggestion || `allowed keys: ${known.join(', ')}`,
      );
      continue;
    }
    if (last?.origin === 'key') {
      out.add(positionOf(rel, 'key'), [...basePath, ...rel], 'invalid-key', `${label ? `${label}: ` : ''}key "${String(last.key)}" ${issue.message}`, hintFor(rel.at(-2)));
      continue;
    }
    // A union that failed as a whole may still know where inside the value it went wrong
    // (`gpus: [0, "one"]`): the sub-issue with the deepest path (relative to the union) says.
    let inner: { path: (string | number)[]; message: string; input: unknown } | undefined;
    if (issue.type === 'union' && issue.issues) {
      for (const sub of issue.issues) {
        const subPath = (sub.path ?? []).map((p) => p.key as string | number);
        if (subPath.length > (inner?.path.length ?? 0)) inner = { path: subPath, message: sub.message, input: sub.input };
      }
    }
    const isFlag = typeof field === 'string' && (options.flagKeys?.has(field) ?? false) && rel.length === 1;
    const fullRel = inner ? [...rel, ...inner.path] : rel;
    out.add(
      positionOf(fullRel, 'value'),
      [...basePath, ...fullRel],
      isFlag ? 'invalid-flag-value' : issue.kind === 'schema' ? 'invalid-type' : 'invalid-value',
      inner
        ? `${rel.length === 0 ? label : where}${typeof inner.path[0] === 'string' && rel.length > 0 ? '.' : ''}${formatPath(inner.path)} ${inner.message} (got ${describeValue(inner.input)})`
        : `${where} ${issue.message} (got ${describeValue(issue.input)})`,
      hintFor(field, isFlag),
    );
  }
}

/**
 * A union that failed for a map (`replicas: {min: 1}`, `idle: {aftr: 15m}`) failed in its map
 * option for a missing or unknown key: those sub-issues, at their own paths, say more than "must
 * be a number or a map" (and get their own "has no" / "did you mean" wording).
 */
function expandMapUnions(issues: readonly v.BaseIssue<unknown>[]): v.BaseIssue<unknown>[] {
  return issues.flatMap((issue) => {
    const input = issue.input;
    if (issue.type !== 'union' || !issue.issues || input === null || typeof input !== 'object' || Array.isArray(input)) return [issue];
    const keyed = issue.issues.filter((sub) => sub.path?.at(-1)?.origin === 'key');
    if (keyed.length === 0) return [issue];
    return keyed.map((sub) => ({ ...sub, path: [...(issue.path ?? []), ...(sub.path ?? [])] }) as v.BaseIssue<unknown>);
  });
}
