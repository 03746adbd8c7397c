import { createHmac } from 'node:crypto';

/** One host key listed for a host in an OpenSSH `known_hosts` file. */
export interface KnownHostKey {
  /** Key type as written, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`. */
  type: string;
  /** The key blob, base64 (as written in the file). */
  key: string;
}

/** What a `known_hosts` file says about one host. */
export interface KnownHostKeys {
  /** Keys the host may present. */
  keys: KnownHostKey[];
  /** Keys marked `@revoked` (for any host): never accepted. */
  revoked: string[];
}

/**
 * The name OpenSSH looks a host up by: `host` on port 22, `[host]:port` on another port.
 * Host names are compared in lower case.
 */
export function knownHostsName(hostname: string, port: number): string {
  const host = hostname.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * The keys a `known_hosts` text lists for `hostname:port`. Understands plain and hashed
 * (`|1|salt|hash`, as `HashKnownHosts` writes them) host fields, comma-separated patterns with
 * `*`, `?` and `!` negation, and the `@revoked` marker; `@cert-authority` lines are skipped
 * (host certificates are not supported). Pure.
 */
export function knownHostKeys(text: string, hostname: string, port: number): KnownHostKeys {
  const name = knownHostsName(hostname, port);
  const keys: KnownHostKey[] = [];
  const revoked: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) marker = fields.shift();
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) continue;
    if (marker === '@revoked') {
      revoked.push(key);
      continue;
    }
    if (marker !== undefined) continue;
    if (hostFieldMatches(hosts, name)) keys.push({ type, key });
  }
  return { keys, revoked };
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    // A matching negated pattern rules the line out, whatever else matches.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name);
}

/**
 * The host key algorithms to offer for the key types known for a host, so the server presents
 * a key we can check (what OpenSSH does when it knows the host). Types ssh2 cannot verify are left out.
 */
export function hostKeyAlgorithms(types: readonly string[]): string[] {
  const out = new Set<string>();
  for (const type of types) {
    if (type === 'ssh-rsa') for (const a of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) out.add(a);
    else if (type === 'ssh-ed25519' || /^ecdsa-sha2-nistp(256|384|521)$/.test(type) || type === 'ssh-dss') out.add(type);
  }
  return [...out];
}
