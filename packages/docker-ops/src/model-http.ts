import { VLLM_CONTAINER_PORT } from '@inferstack/config';
import type { DockerClient } from './client.js';
import { addressOn, type ModelContainer } from './containers.js';
import { DockerApiError } from './errors.js';
import { httpRequest, type HttpAnswer } from './http-get.js';

/** How a model container's own HTTP routes are reached. */
export interface ModelReach {
  /** The stack's network (whose address is used when the daemon is local). */
  network: string;
  /** The daemon runs on this machine: its containers' addresses are reachable from here. */
  local: boolean;
}

/**
 * A request to a model container's own HTTP server (vLLM's port), for routes that must never
 * leave the stack's network (metrics, sleep mode): over HTTP to its address when the daemon is
 * on this machine, else through `docker exec curl` inside it (vLLM's image has curl).
 */
export async function modelRequest(
  docker: DockerClient,
  container: Pick<ModelContainer, 'id' | 'addresses'>,
  reach: ModelReach,
  method: string,
  path: string,
  timeoutMs = 5000,
  body?: unknown,
): Promise<HttpAnswer> {
  const address = addressOn(container, reach.network);
  const json = body === undefined ? undefined : JSON.stringify(body);
  if (reach.local && address) {
    return httpRequest(`http://${address}:${VLLM_CONTAINER_PORT}${path}`, { method, timeoutMs, ...(json ? { body: json, headers: { 'content-type': 'application/json' } } : {}) });
  }
  try {
    const exec = await docker.getContainer(container.id).exec({
      Cmd: [
        'curl', '-sS', '-X', method, '-m', String(Math.ceil(timeoutMs / 1000)), '-w', '\n%{http_code}',
        ...(json ? ['-H', 'content-type: application/json', '-d', json] : []),
        `http://localhost:${VLLM_CONTAINER_PORT}${path}`,
      ],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      docker.modem.demuxStream(stream, { write: (c: Buffer) => chunks.push(c) } as never, { write: () => {} } as never);
      stream.on('end', resolve);
      stream.on('error', () => resolve());
    });
    const text = Buffer.concat(chunks).toString('utf8');
    const i = text.lastIndexOf('\n');
    return { status: Number(text.slice(i + 1)) || 0, body: text.slice(0, Math.max(0, i)) };
  } catch (error) {
    throw new DockerApiError(`cannot reach ${path} in container ${container.id.slice(0, 12)}`, error);
  }
}
