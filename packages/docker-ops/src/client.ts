import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DEFAULT_DOCKER_SOCKET, isLocalAddress, parseDockerAddress, redactAddress, type DockerAddress } from './endpoint.js';
import { DaemonUnreachableError, DockerEndpointError } from './errors.js';
import { SshDialAgent } from './ssh-agent.js';
import { sshLogin, type DockerSshOptions, type EndpointFileReader } from './ssh-options.js';

export type { DockerSshOptions } from './ssh-options.js';

/** A Docker Engine API client. Passed explicitly everywhere: models may live on several hosts. */
export type DockerClient = Docker;

/** TLS files (PEM paths) for a `tcp://` endpoint: what the docker CLI's DOCKER_CERT_PATH holds. */
export interface DockerTlsFiles {
  /** The CA that signed the daemon's certificate (`ca.pem`). */
  ca: string;
  /** Our client certificate, signed by a CA the daemon's `--tlscacert` trusts (`cert.pem`). */
  cert: string;
  /** Its private key (`key.pem`). A secret: never shown. */
  key: string;
}

/** One Docker daemon to talk to: its address and how to authenticate. */
export interface DockerEndpoint {
  /** A name for messages, e.g. the endpoint's key in a `hosts:` section. */
  name?: string;
  /**
   * `unix:///path`, `tcp://host[:port]`, `ssh://[user@]host[:port]` or `npipe://...`.
   * @default env.DOCKER_HOST, else the default socket
   */
  host?: string;
  /**
   * Mutual TLS for `tcp://` (the daemon runs with `--tlsverify`); the port then defaults to 2376.
   * @default from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (default ~/.docker) when `host` is not given
   */
  tls?: DockerTlsFiles;
  /** Login for `ssh://`. */
  ssh?: DockerSshOptions;
}

/** Options for {@link createDockerClient}. */
export interface ClientOptions extends DockerEndpoint {
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Options for {@link connectDocker}. */
export interface ConnectOptions extends ClientOptions {
  /** Give up on the first ping after this long. @default 5000 */
  timeoutMs?: number;
}

/** Where a client talks to, for messages (without any password in the address). */
export function daemonAddress(options: Pick<ClientOptions, 'host' | 'env'> = {}): string {
  return redactAddress(rawAddress(options));
}

function rawAddress(options: Pick<ClientOptions, 'host' | 'env'>): string {
  const env = options.env ?? process.env;
  return options.host ?? env.DOCKER_HOST ?? DEFAULT_DOCKER_SOCKET;
}

/** Whether the daemon runs on this machine (its container addresses are routable from here): a unix socket or loopback tcp. */
export function isLocalDaemon(options: Pick<ClientOptions, 'host' | 'env'> = {}): boolean {
  try {
    return isLocalAddress(parseDockerAddress(rawAddress(options)));
  } catch {
    return false;
  }
}

/**
 * `new Docker(options)` as if DOCKER_HOST were unset. docker-modem's constructor reads DOCKER_HOST
 * from process.env and, when it is set, also DOCKER_TLS_VERIFY, DOCKER_CERT_PATH (reading, and
 * failing on, the files there), DOCKER_CLIENT_TIMEOUT and SSH_AUTH_SOCK, and merges them under -
 * for the ssh agent over - the options it is given. An endpoint's options must say everything
 * themselves. The constructor is synchronous, so nothing else runs while the variable is away.
 */
function newDocker(options: Docker.DockerOptions): DockerClient {
  const saved = process.env.DOCKER_HOST;
  if (saved === undefined) return new Docker(options);
  delete process.env.DOCKER_HOST;
  try {
    return new Docker(options);
  } finally {
    process.env.DOCKER_HOST = saved;
  }
}

/**
 * Build a client for one endpoint without contacting it (it reads the endpoint's key and
 * certificate files).
 * @throws DockerEndpointError for a bad address, an unreadable file, TLS files on a non-tcp
 *   address, ssh options on a non-ssh one, or an ssh host that known_hosts does not list
 */
export function createDockerClient(options: ClientOptions = {}): DockerClient {
  return resolveEndpoint(options).client;
}

/** The endpoint's address (parsed) and a client for it. */
function resolveEndpoint(options: ClientOptions): { address: DockerAddress; client: DockerClient } {
  const env = options.env ?? process.env;
  const raw = rawAddress(options);
  const label = options.name ?? redactAddress(raw);
  const tls = options.tls ?? (options.host === undefined ? tlsFromEnv(env, label) : undefined);
  const address = parseDockerAddress(raw, { tls: tls !== undefined });
  const read = fileReader(label);

  if (tls && address.transport !== 'tcp') {
    throw new DockerEndpointError(label, `TLS files apply to tcp:// addresses, not ${address.transport}://`, { hint: 'remove tls, or use tcp://host:2376' });
  }
  if (options.ssh && address.transport !== 'ssh') {
    throw new DockerEndpointError(label, `ssh options apply to ssh:// addresses, not ${address.transport}://`, { hint: 'remove ssh, or use ssh://user@host[:port]' });
  }

  switch (address.transport) {
    case 'unix':
    case 'npipe':
      return { address, client: newDocker({ socketPath: address.socketPath }) };
    case 'ssh': {
      const login = sshLogin(address, options.ssh ?? {}, { env, read, exists: existsSync });
      // Plain HTTP through our agent: one SSH connection, dial-stdio channels kept alive (see ssh-agent.ts).
      const agent = new SshDialAgent({ ...login.sshOptions, host: address.hostname, port: address.port, username: login.username, ...(login.password ? { password: login.password } : {}) });
      const client = newDocker({ protocol: 'http', host: address.hostname, port: address.port, agent } as Docker.DockerOptions);
      return { address, client };
    }
    case 'tcp': {
      const files = tls ? { ca: read('TLS CA file', tls.ca), cert: read('TLS certificate', tls.cert), key: read('TLS key', tls.key) } : {};
      const client = newDocker({ host: address.hostname, port: address.port, protocol: address.tls ? 'https' : 'http', ...files });
      return { address, client };
    }
  }
}

/** The docker CLI's environment TLS: DOCKER_TLS_VERIFY set (non-empty) → the files in DOCKER_CERT_PATH. */
function tlsFromEnv(env: NodeJS.ProcessEnv, label: string): DockerTlsFiles | undefined {
  if (!env.DOCKER_TLS_VERIFY) return undefined;
  const dir = env.DOCKER_CERT_PATH || join(env.HOME || homedir(), '.docker');
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  if (!existsSync(files.ca)) {
    throw new DockerEndpointError(label, `DOCKER_TLS_VERIFY is set but ${files.ca} does not exist`, { hint: 'set DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem' });
  }
  return files;
}

function fileReader(label: string): EndpointFileReader {
  return (what, path) => {
    try {
      return readFileSync(path);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unreadable';
      throw new DockerEndpointError(label, `cannot read the ${what} ${path} (${code})`, { cause: error, hint: 'check the path in the endpoint settings and that this user may read it' });
    }
  };
}

/**
 * Build a client and make sure the daemon answers.
 * @throws DockerEndpointError when the endpoint is configured wrongly (nothing was contacted)
 * @throws DaemonUnreachableError when the daemon does not answer within `timeoutMs`, naming the
 *   endpoint and address (never a key or password) with a hint for the transport
 */
export async function connectDocker(options: ConnectOptions = {}): Promise<DockerClient> {
  const { address, client: docker } = resolveEndpoint(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      // The signal also tears down the request (and its socket or SSH connection) on timeout.
      (docker.ping as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>).call(docker, { abortSignal: abort.signal }),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${timeoutMs} ms`));
          abort.abort();
        }, timeoutMs);
      }),
    ]);
  } catch (error) {
    // An SSH login still under way would keep the process alive until its own timeout.
    const agent = (docker.modem as unknown as { agent?: unknown }).agent;
    if (agent instanceof SshDialAgent) agent.destroy();
    throw new DaemonUnreachableError(address.display, error, { endpoint: options.name, hint: unreachableHint(address, error) });
  } finally {
    clearTimeout(timer);
  }
  return docker;
}

/** What to do about an unanswered ping, by transport and error; undefined: the generic advice. */
export function unreachableHint(address: DockerAddress, error: unknown): string | undefined {
  const e = error as { code?: string; message?: string; statusCode?: number; level?: string } | undefined;
  const code = e?.code ?? '';
  const message = e?.message ?? '';
  const where = `${address.hostname}:${address.port}`;
  if (address.transport === 'unix' || address.transport === 'npipe') return undefined;
  if (/^no answer within/.test(message)) {
    return `nothing answered from ${where} in time: check that the host is up, the port is right and no firewall drops the connection`;
  }
  if (address.transport === 'ssh') {
    if (e?.level === 'client-authentication' || /authentication methods failed/i.test(message)) {
      return `the SSH login as ${address.username ?? 'the local user'} was refused: check ssh.privateKeyPath (or the agent's keys) and the host's authorized_keys`;
    }
    if (/host denied|verification failed/i.test(message)) {
      return `the host key of ${where} differs from the one in known_hosts: if the host was reinstalled, update known_hosts; otherwise do not connect`;
    }
    if (/handshake/i.test(message) || e?.level === 'client-timeout') return `${where} did not complete an SSH handshake: is it an SSH server?`;
    if (code === 'ECONNREFUSED') return `nothing listens on ${where}: is sshd running there, on that port?`;
    if (code === 'ECONNRESET' || /socket hang up/i.test(message)) {
      return 'the SSH login worked but "docker system dial-stdio" did not: install the docker CLI (18.09 or later) on that host, on the PATH of non-interactive logins, and let the user reach the daemon (root or the docker group)';
    }
    return `check that ${where} runs sshd and a Docker daemon the SSH user may use`;
  }
  if (e?.statusCode === 400 && /HTTPS/i.test(message)) {
    return 'the daemon speaks TLS: give the endpoint its TLS files (ca, cert, key), or DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH';
  }
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|EPROTO)/.test(code) || /certificate|ssl|tls/i.test(message)) {
    return address.tls
      ? `TLS with ${where} failed: the CA file must have signed the daemon's certificate (issued for this host name or IP), and the daemon's --tlscacert must trust our client certificate`
      : 'the daemon expects TLS: give the endpoint its TLS files (ca, cert, key)';
  }
  if (code === 'ECONNREFUSED') return `nothing listens on ${where}: start the daemon with -H tcp://...:${address.port}, or fix the port`;
  return `check that ${where} is reachable and runs a Docker daemon`;
}
