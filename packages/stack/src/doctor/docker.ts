import type { StackConfig } from '@inferstack/config';
import { connectDocker, daemonAddress, daemonVersion, type DockerClient } from '@inferstack/docker-ops';
import { hostsOf, insecureTransports } from '../hosts/hosts.js';
import type { Check } from './check.js';

/*
 * The Docker daemon: does it answer, is its Engine API new enough, and how `serve` reaches each
 * Docker host (TLS or clear text).
 */

/** The Engine API version `serve` needs (Docker 20.10): DeviceRequests, healthcheck start period, ... */
export const MIN_API_VERSION = '1.41';

/** `1.41` ≥ `1.41`, `1.9` < `1.41`: Engine API versions compared as numbers. */
export function apiVersionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Whether the daemon answers, and with an Engine API of at least {@link MIN_API_VERSION}. Returns its client when it answers. */
export async function daemonChecks(env: NodeJS.ProcessEnv, checks: Check[]): Promise<DockerClient | undefined> {
  const address = daemonAddress({ env });
  const from = env.DOCKER_HOST ? 'from DOCKER_HOST' : 'the default socket; DOCKER_HOST is not set';
  let client: DockerClient;
  try {
    client = await connectDocker({ env });
  } catch (error) {
    checks.push({ id: 'docker', title: 'docker', status: 'fail', message: `no daemon answers at ${address} (${from})`, hint: (error as { hint?: string }).hint });
    return undefined;
  }
  checks.push({ id: 'docker', title: 'docker', status: 'ok', message: `daemon answers at ${address} (${from})` });
  try {
    const v = await daemonVersion(client);
    const ok = apiVersionAtLeast(v.apiVersion, MIN_API_VERSION);
    checks.push({
      id: 'docker-api',
      title: 'docker api',
      status: ok ? 'ok' : 'fail',
      message: `Docker Engine ${v.version}, API ${v.apiVersion} (${MIN_API_VERSION} or newer needed)`,
      ...(ok ? {} : { hint: 'upgrade Docker Engine to 20.10 or newer' }),
    });
  } catch (error) {
    checks.push({ id: 'docker-api', title: 'docker api', status: 'fail', message: `the daemon did not tell its version: ${(error as Error).message}` });
  }
  return client;
}

/**
 * How `serve` reaches each Docker host: a `tcp://` endpoint without TLS (or `DOCKER_HOST` without
 * `DOCKER_TLS_VERIFY`) on another machine carries every container body, secrets included, in
 * clear text, and gives the daemon to whoever reaches the port. Nothing to say with the default
 * socket alone.
 */
export function transportChecks(config: StackConfig, env: NodeJS.ProcessEnv): Check[] {
  const hostNames = hostsOf(config).filter((h) => !h.local).map((h) => h.name);
  const checks: Check[] = [];
  const insecure = insecureTransports(config, env);
  for (const t of insecure) checks.push({ id: `docker-tls-${t.host}`, title: 'docker tls', status: 'warn', message: t.message, hint: t.hint });
  if (insecure.length === 0 && (hostNames.length > 0 || env.DOCKER_HOST?.startsWith('tcp://'))) {
    checks.push({ id: 'docker-tls', title: 'docker tls', status: 'ok', message: 'every Docker API is reached over TLS, SSH, a socket or loopback' });
  }
  return checks;
}
