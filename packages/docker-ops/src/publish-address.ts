import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PublishAddressError } from './errors.js';

/*
 * The address a model publishes vLLM's port on (`HostIp` of its port binding) must be an IP
 * address. Docker does not resolve a name there: it binds it as 0.0.0.0 and [::] — every
 * interface, IPv4 and IPv6 — and then reports 0.0.0.0, which never equals the name, so every
 * plan would see the container drift. A name is resolved here, once, to one address.
 */

/** One answer of a resolver, as `dns.lookup(name, { all: true })` gives them. */
export interface LookupAnswer {
  address: string;
  family: number;
}

/** What {@link resolvePublishAddress} found. */
export interface PublishAddress {
  /** As written (`gpu2.lan`, `10.0.0.12`). */
  address: string;
  /** The IP address to publish on, in its canonical form (IPv6 shortened). */
  ip: string;
  /** Whether `address` was a name that had to be resolved. */
  resolved: boolean;
}

/** Options of {@link resolvePublishAddress}. */
export interface ResolvePublishAddressOptions {
  /** @default node:dns `lookup` with `all: true` (the system resolver: /etc/hosts, then DNS) */
  lookup?: (name: string) => Promise<LookupAnswer[]>;
}

/** An IP address in its canonical form: IPv6 shortened and lower-case (what Docker reports). */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** Whether two addresses are the same IP (`fd00::6` and `fd00:0::6` are). */
export function sameAddress(a: string, b: string): boolean {
  return isIP(a) && isIP(b) ? canonicalIp(a) === canonicalIp(b) : a === b;
}

/**
 * The IP address to publish on for `address`: itself when it is one; for a name, its one usable
 * address. Usable: not a link-local IPv6 address (it needs an interface to mean anything), and
 * IPv4 when the name has IPv4 addresses (Docker's port publishing and most LANs are IPv4 first).
 *
 * @throws PublishAddressError when the name does not resolve, or to more than one usable address
 *   (which one the gateway reaches, only the user knows: write it down).
 */
export async function resolvePublishAddress(address: string, options: ResolvePublishAddressOptions = {}): Promise<PublishAddress> {
  if (isIP(address)) return { address, ip: canonicalIp(address), resolved: false };
  const lookup = options.lookup ?? ((name: string) => dnsLookup(name, { all: true, verbatim: true }));
  let answers: LookupAnswer[];
  try {
    answers = await lookup(address);
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    throw new PublishAddressError(address, `address ${address} does not resolve (${code})`, { cause: error });
  }
  const ips = [...new Set(answers.map((a) => canonicalIp(a.address)))].filter((ip) => isIP(ip) === 4 || !/^fe[89ab]/i.test(ip));
  const v4 = ips.filter((ip) => isIP(ip) === 4);
  const usable = v4.length > 0 ? v4 : ips;
  if (usable.length === 1) return { address, ip: usable[0]!, resolved: true };
  if (usable.length === 0) throw new PublishAddressError(address, `address ${address} resolves to no usable address (${answers.map((a) => a.address).join(', ') || 'none'})`);
  throw new PublishAddressError(address, `address ${address} resolves to ${usable.length} addresses (${usable.join(', ')}): a model publishes on one`);
}

/** Throws when `hostIp` is not an IP address: a create body with a name there is a bug (see above). */
export function requireIpAddress(hostIp: string, what: string): string {
  if (!isIP(hostIp)) throw new TypeError(`${what}: ${JSON.stringify(hostIp)} is not an IP address (resolve it first: Docker would publish on every interface)`);
  return hostIp;
}
