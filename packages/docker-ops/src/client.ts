import Docker from 'dockerode';
import { DaemonUnreachableError } from './errors.js';

/** A Docker Engine API client. Passed explicitly everywhere: models may live on several hosts. */
export type DockerClient = Docker;

/** Options for {@link connectDocker}. */
export interface ConnectOptions {
  /** `unix:///path`, `tcp://host:port` or `npipe://...`. @default env.DOCKER_HOST, else the default socket */
  host?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Give up on the first ping after this long. @default 5000 */
  timeoutMs?: number;
}

/** Where a client talks to, for messages. */
export function daemonAddress(options: Pick<ConnectOptions, 'host' | 'env'> = {}): string {
  const env = options.env ?? process.env;
  return options.host ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** Build a client for `host` without contacting it. */
export function createDockerClient(options: Pick<ConnectOptions, 'host' | 'env'> = {}): DockerClient {
  const address = daemonAddress(options);
  if (address.startsWith('unix://')) return new Docker({ socketPath: address.slice('unix://'.length) });
  if (address.startsWith('npipe://')) return new Docker({ socketPath: address.slice('npipe://'.length) });
  const url = new URL(address.replace(/^tcp:/, 'http:'));
  if (url.protocol === 'ssh:') {
    return new Docker({ protocol: 'ssh', host: url.hostname, port: Number(url.port || 22), ...(url.username ? { username: decodeURIComponent(url.username) } : {}) });
  }
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' });
}

/** Whether the daemon runs on this machine (its container addresses are routable from here). */
export function isLocalDaemon(options: Pick<ConnectOptions, 'host' | 'env'> = {}): boolean {
  const address = daemonAddress(options);
  return address.startsWith('unix://') || /^tcp:\/\/(127\.0\.0\.1|localhost)(:|$)/.test(address);
}

/**
 * Build a client and make sure the daemon answers.
 * @throws DaemonUnreachableError when it does not, with the address and what to do.
 */
export async function connectDocker(options: ConnectOptions = {}): Promise<DockerClient> {
  const docker = createDockerClient(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw new DaemonUnreachableError(daemonAddress(options), error);
  } finally {
    clearTimeout(timer);
  }
  return docker;
}
