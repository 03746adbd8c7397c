import { DockerEndpointError } from './errors.js';

/** How a client reaches a Docker daemon. */
export type DockerTransport = 'unix' | 'npipe' | 'tcp' | 'ssh';

/** A Docker daemon address (`DOCKER_HOST` syntax) split into what a client needs. */
export interface DockerAddress {
  transport: DockerTransport;
  /** The address for messages: as given, with any password in it replaced by `***`. */
  display: string;
  /** `unix` and `npipe`: the socket or pipe. */
  socketPath?: string;
  /** `tcp` and `ssh`: the host name or IP (IPv6 without brackets). */
  hostname?: string;
  /** `tcp` and `ssh`: the port, defaults filled in (2375, 2376 with TLS, 22). */
  port?: number;
  /** `tcp`: the daemon speaks TLS (TLS files given, or an `https://` address). */
  tls?: boolean;
  /** `ssh`: the login name in the address, if any. */
  username?: string;
  /** `ssh`: a password in the address (discouraged). Never shown. */
  password?: string;
}

/** The socket a client uses when neither the endpoint nor DOCKER_HOST names one. */
export const DEFAULT_DOCKER_SOCKET = 'unix:///var/run/docker.sock';

/** An address with the password of its `user:password@` part replaced by `***`. */
export function redactAddress(address: string): string {
  return address.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/**
 * Split a Docker daemon address: `unix:///path`, `npipe:////./pipe/name`, `tcp://host[:port]`
 * (also `http://`, `https://`, or a bare `host:port`, as the docker CLI and docker-modem take it)
 * or `ssh://[user@]host[:port]`. Pure; contacts nothing.
 * @param options.tls the caller has TLS files for it (a `tcp://` address then defaults to port 2376)
 * @throws DockerEndpointError for anything else, naming the address without its password
 */
export function parseDockerAddress(address: string, options: { tls?: boolean } = {}): DockerAddress {
  const display = redactAddress(address);
  const fail = (message: string, hint?: string): never => {
    throw new DockerEndpointError(display, message, { hint: hint ?? 'use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]' });
  };
  if (address.startsWith('unix://')) return { transport: 'unix', display, socketPath: address.slice('unix://'.length) || '/var/run/docker.sock' };
  if (address.startsWith('npipe://')) return { transport: 'npipe', display, socketPath: address.slice('npipe://'.length) || '//./pipe/docker_engine' };
  // A bare host:port is tcp, as for the docker CLI.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `tcp://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail('not a valid address');
  }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!hostname) return fail('the address names no host');
  const port = url.port ? Number(url.port) : undefined;
  if (url.protocol === 'ssh:') {
    if (url.pathname && url.pathname !== '/') return fail('an ssh:// address has no path', 'use ssh://user@host[:port]');
    return {
      transport: 'ssh',
      display,
      hostname,
      port: port ?? 22,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = url.protocol === 'https:' || options.tls === true;
    return { transport: 'tcp', display, hostname, port: port ?? (tls ? 2376 : 2375), tls };
  }
  return fail(`unsupported scheme ${url.protocol.replace(/:$/, '')}://`);
}

/**
 * Whether the daemon at `address` runs on this machine, so that its containers' addresses are
 * routable from here: a unix socket, or tcp on a loopback address.
 */
export function isLocalAddress(address: DockerAddress): boolean {
  if (address.transport === 'unix') return true;
  if (address.transport !== 'tcp') return false;
  const host = address.hostname ?? '';
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
