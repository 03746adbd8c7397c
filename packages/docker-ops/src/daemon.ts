import type { DockerClient } from './client.js';
import { DockerApiError } from './errors.js';
import { LABEL_SERVICE } from './labels.js';

/** The daemon's Engine version and API version. */
export async function daemonVersion(docker: DockerClient): Promise<{ version: string; apiVersion: string }> {
  try {
    const v = await docker.version();
    return { version: v.Version, apiVersion: v.ApiVersion };
  } catch (error) {
    throw new DockerApiError('the daemon did not tell its version', error);
  }
}

/** The container runtimes the daemon knows (`runc`, `nvidia`...) and its CDI spec directories. */
export async function daemonRuntimes(docker: DockerClient): Promise<{ runtimes: string[]; cdiSpecDirs: string[] }> {
  try {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown>; CDISpecDirs?: string[] };
    return { runtimes: Object.keys(info.Runtimes ?? {}), cdiSpecDirs: (info.CDISpecDirs ?? []).filter(Boolean) };
  } catch (error) {
    throw new DockerApiError('the daemon did not answer "info"', error);
  }
}

/** A running container that publishes a host port. */
export interface PublishedPort {
  container: string;
  port: number;
  /** Its `inferstack.service` label, when it is one of our infrastructure containers. */
  service?: string;
}

/** The host ports running containers publish (any container: another program may hold one). */
export async function publishedPorts(docker: DockerClient): Promise<PublishedPort[]> {
  let list;
  try {
    list = await docker.listContainers();
  } catch (error) {
    throw new DockerApiError('cannot list containers', error);
  }
  return list.flatMap((c) =>
    (c.Ports ?? [])
      .filter((p) => p.PublicPort)
      .map((p) => ({ container: (c.Names[0] ?? c.Id).replace(/^\//, ''), port: p.PublicPort, ...(c.Labels?.[LABEL_SERVICE] ? { service: c.Labels[LABEL_SERVICE] } : {}) })),
  );
}
