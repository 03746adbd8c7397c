import { isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { didYouMean } from './_did-you-mean.js';
import { type IssueCollector, reportSchemaIssues } from './_issues.js';
import { type LEntry, type LNode, locate, type Pos, toPlain } from './_yaml-tree.js';
import { ANY_HOST, LOCAL_HOST } from './defaults.js';
import { HostSchema } from './schema.js';
import type { HostSpec } from './types.js';

/** What parsing `hosts:` needs. */
export interface HostsContext {
  out: IssueCollector;
  projectDir: string;
  homeDir: string;
  /** Whether a file exists; unset: files are not checked (pure parsing). */
  fileExists?: (path: string) => boolean;
}

/** The parsed hosts, with what the checks against the models need. */
export interface ParsedHosts {
  hosts: HostSpec[];
  /** Where each host was defined (its key), by name. */
  positions: Map<string, Pos>;
  /** Why a host cannot take models (no address it could be reached on), by name. */
  unreachable: Map<string, string>;
}

/**
 * The default host and those of the `hosts:` section: names, endpoints (checked as the Docker
 * client reads them), TLS and SSH files (made absolute, checked to exist when `fileExists` is
 * given), and the address other hosts reach each one on. Reports every problem to `ctx.out`.
 */
export function parseHosts(entry: LEntry | undefined, ctx: HostsContext): ParsedHosts {
  const local: HostSpec = { name: LOCAL_HOST, local: true };
  const parsed: ParsedHosts = { hosts: [local], positions: new Map(), unreachable: new Map() };
  if (!entry) return parsed;
  const node = entry.value;
  if (node.kind === 'scalar' && node.value === null) return parsed;
  if (node.kind !== 'map') {
    ctx.out.add(node.pos, ['hosts'], 'invalid-type', 'hosts must be a map of <name>: {endpoint: ...}', 'write each host as a name with its endpoint indented below, e.g. gpu2: {endpoint: "ssh://root@gpu2"}');
    return parsed;
  }
  const endpoints = new Map<string, { name: string; pos: Pos }>();
  for (const host of node.entries) {
    const spec = parseHost(host, ctx, endpoints);
    if (!spec) continue;
    parsed.hosts.push(spec.host);
    parsed.positions.set(spec.host.name, host.keyPos);
    if (spec.noAddress) parsed.unreachable.set(spec.host.name, spec.noAddress);
  }
  return parsed;
}

function parseHost(
  entry: LEntry,
  ctx: HostsContext,
  endpoints: Map<string, { name: string; pos: Pos }>,
): { host: HostSpec; noAddress?: string } | undefined {
  const { out } = ctx;
  const name = entry.key;
  const path = ['hosts', name];
  const label = `host "${name}"`;
  if (name === LOCAL_HOST) {
    out.add(
      entry.keyPos,
      path,
      'reserved-host',
      `"${LOCAL_HOST}" is the default host (the daemon DOCKER_HOST names, else the local socket) and cannot be defined here`,
      `give this host another name; models without host: run on "${LOCAL_HOST}"`,
    );
    return undefined;
  }
  if (name === ANY_HOST) {
    out.add(
      entry.keyPos,
      path,
      'reserved-host',
      `"${ANY_HOST}" is a word of a model's host: (host: ${ANY_HOST} lets serve place a gpus: auto model on any host) and cannot name a host`,
      'give this host another name',
    );
    return undefined;
  }
  const plain = toPlain(entry.value);
  const result = v.safeParse(HostSchema, plain);
  if (!result.success) {
    // Key problems (`Gpu2:`) are the record's: report them as such.
    reportSchemaIssues(out, HostSchema as never, result.issues, entry.value, path, label);
    return undefined;
  }
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    out.add(entry.keyPos, path, 'invalid-host-name', `host name ${JSON.stringify(name)} is not valid`, 'use lower-case letters, digits, _ and - (starting with a letter or digit), at most 63 characters');
    return undefined;
  }
  const raw = result.output;
  const node = entry.value;
  const endpointPos = locate(node, ['endpoint']);
  const endpoint = checkEndpoint(raw.endpoint, label, endpointPos, [...path, 'endpoint'], out);
  if (!endpoint) return undefined;

  const seen = endpoints.get(endpoint.canonical);
  if (seen) {
    out.add(
      endpointPos,
      [...path, 'endpoint'],
      'duplicate-endpoint',
      `${label} has the same endpoint as host "${seen.name}" (line ${seen.pos.line})`,
      'one daemon, one host: give each Docker daemon one name (models pick it with host:)',
    );
  } else {
    endpoints.set(endpoint.canonical, { name, pos: endpointPos });
  }

  const file = (rel: string, what: string, at: (string | number)[]): string => {
    const abs = hostFile(rel, ctx);
    if (ctx.fileExists && !ctx.fileExists(abs)) {
      out.add(locate(node, at), [...path, ...at], 'missing-file', `${label}: the ${what} ${abs} does not exist`, `check the path (relative paths start at the project directory ${ctx.projectDir})`);
    }
    return abs;
  };

  const host: HostSpec = { name, local: false, endpoint: raw.endpoint, source: { file: out.file, line: entry.keyPos.line, column: entry.keyPos.column } };
  if (raw['allow-open-models'] === true) host.allowOpenModels = true;
  if (raw.tls) {
    if (endpoint.scheme !== 'tcp') {
      out.add(locate(node, ['tls'], 'key'), [...path, 'tls'], 'tls-not-tcp', `${label}: tls applies to tcp:// endpoints, not ${endpoint.scheme}://`, 'remove tls:, or use tcp://host:2376');
    }
    host.tls = { ca: file(raw.tls.ca, 'TLS CA file', ['tls', 'ca']), cert: file(raw.tls.cert, 'TLS certificate', ['tls', 'cert']), key: file(raw.tls.key, 'TLS key', ['tls', 'key']) };
  }
  if (raw.ssh) {
    if (endpoint.scheme !== 'ssh') {
      out.add(locate(node, ['ssh'], 'key'), [...path, 'ssh'], 'ssh-not-ssh', `${label}: ssh applies to ssh:// endpoints, not ${endpoint.scheme}://`, 'remove ssh:, or use ssh://user@host[:port]');
    }
    const ssh: NonNullable<HostSpec['ssh']> = {};
    if (raw.ssh['private-key']) ssh.privateKeyPath = file(raw.ssh['private-key'], 'SSH private key', ['ssh', 'private-key']);
    if (raw.ssh['known-hosts']) ssh.knownHostsPath = file(raw.ssh['known-hosts'], 'known_hosts file', ['ssh', 'known-hosts']);
    host.ssh = ssh;
  }
  let noAddress: string | undefined;
  if (raw.address !== undefined) {
    host.address = raw.address;
  } else if (endpoint.hostname && !isLoopback(endpoint.hostname)) {
    // What the endpoint names is where the box is: its published ports are there too.
    host.address = endpoint.hostname;
  } else {
    noAddress = endpoint.hostname
      ? `its endpoint is on the loopback address ${endpoint.hostname}, which containers on other hosts cannot reach`
      : 'its endpoint is a unix socket, which names no address';
  }
  return { host, ...(noAddress ? { noAddress } : {}) };
}

/** A host endpoint, checked the way the Docker client will read it. */
function checkEndpoint(
  text: string,
  label: string,
  pos: Pos,
  path: (string | number)[],
  out: IssueCollector,
): { scheme: 'unix' | 'tcp' | 'ssh'; hostname?: string; canonical: string } | undefined {
  const fail = (why: string, hint: string) => {
    // Never the text itself when it carries a password (ssh://user:password@host).
    out.add(pos, path, 'invalid-endpoint', `${label}: endpoint ${redact(text)} ${why}`, hint);
    return undefined;
  };
  const scheme = text.slice(0, text.indexOf(':')) as 'unix' | 'tcp' | 'ssh';
  if (scheme === 'unix') {
    const socket = text.slice('unix://'.length);
    if (!socket.startsWith('/')) return fail('is not an absolute socket path', 'write unix:///path/to/docker.sock (three slashes)');
    return { scheme, canonical: `unix://${socket}` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a valid address', scheme === 'ssh' ? 'write ssh://user@host or ssh://user@host:port' : 'write tcp://host:port, e.g. tcp://10.0.0.12:2376');
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!hostname) return fail('names no host', 'write the host name or IP after ://');
  if (url.pathname && url.pathname !== '/') return fail('has a path', scheme === 'ssh' ? 'write ssh://user@host[:port]' : 'write tcp://host:port');
  if (url.search || url.hash) return fail('has a query or fragment', 'write only scheme, host and port');
  if (scheme === 'ssh' && url.password) return fail('carries a password', 'log in with a key: ssh: {private-key: ...} or an ssh-agent');
  if (scheme === 'tcp' && !url.port) return fail('has no port', 'write tcp://host:2376 (the TLS port) or the port the daemon listens on');
  const port = url.port || (scheme === 'ssh' ? '22' : '');
  return { scheme, hostname, canonical: `${scheme}://${url.username ? `${url.username}@` : ''}${hostname.toLowerCase()}:${port}` };
}

function redact(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/** Loopback addresses: a container on another host reaching them reaches itself. */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** An example name of a setting for a model's key (`llama-8b` → `LLAMA_8B_API_KEY`). */
function envNameFor(key: string): string {
  return `${key.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '').replace(/^(?=\d)/, 'M_')}_API_KEY`;
}

function hostFile(p: string, ctx: Pick<HostsContext, 'projectDir' | 'homeDir'>): string {
  if (p === '~') return ctx.homeDir;
  if (p.startsWith('~/')) return resolve(ctx.homeDir, p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(ctx.projectDir, p);
}

/** A model as {@link checkModelHosts} sees it: the hosts it may run on, where each was written. */
export interface ModelHosts {
  key: string;
  /** Its host, or the hosts serve may place it on (`host: any`, `host: [a, b]`). */
  hosts: ReadonlyArray<{ name: string; pos: Pos | undefined }>;
  /** `host: any` or a list: the wording says "may be placed on". */
  placed: boolean;
  path: (string | number)[];
  hasApiKey: boolean;
}

/**
 * Models against the hosts: a `host:` that names no host (with "did you mean"), a host that has
 * models but no address the gateway and Prometheus could reach them on, and a model that would
 * be open to anyone: published on a non-loopback address without an `api-key`, on a host that
 * does not say `allow-open-models: true`. A model serve may place on several hosts is checked on
 * each of them, since any may get a replica.
 */
export function checkModelHosts(
  models: ReadonlyArray<ModelHosts>,
  hosts: ParsedHosts,
  hostsEntry: LEntry | undefined,
  out: IssueCollector,
  invalidHosts: ReadonlySet<string>,
): void {
  const names = hosts.hosts.map((h) => h.name);
  const reported = new Set<string>();
  for (const m of models) {
    const open: { host: HostSpec; pos: Pos | undefined }[] = [];
    for (const { name, pos } of m.hosts) {
      if (name === LOCAL_HOST) continue;
      if (!names.includes(name)) {
        // A host whose own definition is broken is reported there already.
        if (invalidHosts.has(name)) continue;
        const suggestion = didYouMean(name, names);
        out.add(
          pos,
          [...m.path, 'host'],
          'unknown-host',
          `model "${m.key}": host "${name}" is not defined`,
          suggestion || (hostsEntry ? `define it under hosts:, or use one of: ${names.join(', ')}` : `define it under hosts: (e.g. ${name}: {endpoint: "ssh://user@${name}"}), or leave host: out to run the model on "${LOCAL_HOST}"`),
        );
        continue;
      }
      const host = hosts.hosts.find((h) => h.name === name);
      if (host?.address !== undefined && !isLoopback(host.address) && !m.hasApiKey && !host.allowOpenModels) open.push({ host, pos });
      const why = hosts.unreachable.get(name);
      if (why && !reported.has(name)) {
        reported.add(name);
        out.add(
          hosts.positions.get(name),
          ['hosts', name],
          'missing-address',
          `host "${name}" runs models (e.g. "${m.key}") but has no address: ${why}`,
          `add address: <the IP or name the gateway's host reaches ${name} on>; its models publish their port there only`,
        );
      }
    }
    const first = open[0];
    if (!first) continue;
    // One issue per model: the hosts it would be open on.
    const where = open.map((o) => `${o.host.address} (host ${o.host.name})`).join(', ');
    const accept = open.map((o) => o.host.name).join(', ');
    out.add(
      first.pos,
      [...m.path, 'host'],
      'open-model',
      `model "${m.key}" ${m.placed ? 'may be' : 'would be'} published on ${where} without an api-key: anyone who reaches ${open.length === 1 ? first.host.address : 'these addresses'} could use it`,
      `give it a key the gateway sends (api-key: "\${${envNameFor(m.key)}}" with the key in .env), or accept the exposure with allow-open-models: true under hosts: ${accept}`,
    );
  }
}

/** Names of hosts whose entries are present but invalid (so models naming them say nothing more). */
export function hostNamesIn(entry: LEntry | undefined): Set<string> {
  const node: LNode | undefined = entry?.value;
  return new Set(node?.kind === 'map' ? node.entries.map((e) => e.key) : []);
}
