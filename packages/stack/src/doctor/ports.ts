import { createServer } from 'node:net';
import type { StackConfig } from '@inferstack/config';
import { publishedPorts, type DockerClient, type PublishedPort } from '@inferstack/docker-ops';
import type { Check } from './check.js';

/* The ports the config publishes (gateway, Prometheus, Grafana): free, or held by our own container. */

/**
 * Whether a port the config publishes is usable: free, or held by the very container that
 * should hold it. `bindable` is the result of trying to listen on it here (undefined when the
 * daemon is remote and that says nothing).
 */
export function portCheck(
  what: { service: string; container: string; host: string; port: number },
  published: readonly PublishedPort[],
  bindable: 'free' | 'in-use' | 'no-address' | 'not-tested' | undefined,
): Check {
  const id = `port-${what.service}`;
  const title = `port ${what.port}`;
  const where = `${what.host.includes(':') ? `[${what.host}]` : what.host}:${what.port}`;
  const holder = published.find((p) => p.port === what.port);
  if (holder) {
    if (holder.container === what.container && holder.service) return { id, title, status: 'ok', message: `${what.service}: in use by our ${what.container} container` };
    return {
      id,
      title,
      status: 'fail',
      message: `${what.service} wants ${where}, but container ${holder.container} publishes port ${what.port}`,
      hint: `stop that container, or give ${what.service} another port in models.yaml`,
    };
  }
  switch (bindable) {
    case 'in-use':
      return { id, title, status: 'fail', message: `${what.service} wants ${where}, but another program listens there`, hint: `find it with "ss -ltnp 'sport = :${what.port}'", or give ${what.service} another port in models.yaml` };
    case 'no-address':
      return { id, title, status: 'fail', message: `${what.service} wants ${where}, but this machine has no address ${what.host}`, hint: 'use 127.0.0.1, 0.0.0.0 or an address of this machine' };
    case 'not-tested':
      return { id, title, status: 'ok', message: `${what.service}: ${where} (below 1024: only Docker, as root, can test it)` };
    case undefined:
      return { id, title, status: 'ok', message: `${what.service}: no container publishes ${what.port} (the daemon is remote: its host's other programs were not checked)` };
    default:
      return { id, title, status: 'ok', message: `${what.service}: ${where} is free` };
  }
}

/** Try to listen on host:port here. */
async function tryListen(host: string, port: number): Promise<'free' | 'in-use' | 'no-address' | 'not-tested'> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve('in-use');
      else if (error.code === 'EADDRNOTAVAIL') resolve('no-address');
      else resolve('not-tested');
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/** One {@link portCheck} for each port the managed services publish. */
export async function portChecks(local: boolean, client: DockerClient | undefined, config: StackConfig, checks: Check[]): Promise<void> {
  const wanted: Array<{ service: string; container: string; host: string; port: number }> = [];
  if (config.gateway.mode === 'managed') wanted.push({ service: 'gateway', container: config.gateway.containerName, host: config.gateway.bindAddress, port: config.gateway.port });
  if (config.monitoring.mode === 'managed') {
    const m = config.monitoring;
    wanted.push({ service: 'prometheus', container: m.prometheusContainerName, host: '127.0.0.1', port: m.prometheusPort });
    if (m.grafana.enabled) wanted.push({ service: 'grafana', container: m.grafana.containerName, host: '127.0.0.1', port: m.grafana.port });
  }
  if (wanted.length === 0) return;
  // Without the daemon's list, the listen test alone.
  const published: PublishedPort[] = client ? await publishedPorts(client).catch(() => []) : [];
  for (const w of wanted) {
    const held = published.some((p) => p.port === w.port);
    const bindable = local && !held ? await tryListen(w.host, w.port) : local ? 'free' : undefined;
    checks.push(portCheck(w, published, bindable));
  }
}
