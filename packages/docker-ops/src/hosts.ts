import type { HostSpec } from '@inferstack/config';
import { connectDocker, createDockerClient, type ConnectOptions, type DockerClient } from './client.js';
import { DockerApiError } from './errors.js';

/**
 * How to reach one host of a config (`hosts:` in models.yaml): its endpoint, TLS files and SSH
 * login as docker-ops' client takes them. The default host (`local`) is the daemon `DOCKER_HOST`
 * names in `env` (with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), else the default socket.
 */
export function hostEndpoint(host: HostSpec, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): ConnectOptions {
  const common = { name: host.name, ...(options.env ? { env: options.env } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
  if (host.local || host.endpoint === undefined) return common;
  return {
    ...common,
    host: host.endpoint,
    ...(host.tls ? { tls: host.tls } : {}),
    ...(host.ssh ? { ssh: { ...(host.ssh.privateKeyPath ? { privateKeyPath: host.ssh.privateKeyPath } : {}), ...(host.ssh.knownHostsPath ? { knownHostsPath: host.ssh.knownHostsPath } : {}) } } : {}),
  };
}

/**
 * A client for one host, after its daemon answered a ping.
 * @throws DockerEndpointError when the host's settings cannot work (nothing was contacted)
 * @throws DaemonUnreachableError naming the host when its daemon does not answer in time
 */
export function connectHost(host: HostSpec, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<DockerClient> {
  return connectDocker(hostEndpoint(host, options));
}

/** A client for one host without contacting it (reads its key and certificate files). */
export function hostClient(host: HostSpec, options: { env?: NodeJS.ProcessEnv } = {}): DockerClient {
  return createDockerClient(hostEndpoint(host, options));
}

/**
 * The daemon's ID (`docker info`): the same daemon reached two ways (two host names, a unix
 * socket and an ssh login) has one ID.
 */
export async function daemonId(docker: DockerClient): Promise<string> {
  try {
    return ((await docker.info()) as { ID?: string }).ID ?? '';
  } catch (error) {
    throw new DockerApiError('the daemon did not answer "info"', error);
  }
}
