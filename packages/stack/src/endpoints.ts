import { VLLM_CONTAINER_PORT } from '@inferstack/config';

/**
 * Where the stack's own containers (the gateway, Prometheus) reach a model: its container name
 * on the stack's network and vLLM's port. The one place that decides a model's address: the
 * gateway routes, the Prometheus targets and `status` all come from here.
 */
export function modelAddress(containerName: string): string {
  return `${containerName}:${VLLM_CONTAINER_PORT}`;
}

/** The OpenAI base URL of a model as the gateway calls it (`http://<container>:8000/v1`). */
export function modelApiBase(containerName: string): string {
  return `http://${modelAddress(containerName)}/v1`;
}

/** A model's own HTTP root, reachable from this machine when the daemon is local. */
export function modelUrlFromHost(ipAddress: string): string {
  return `http://${ipAddress}:${VLLM_CONTAINER_PORT}`;
}
