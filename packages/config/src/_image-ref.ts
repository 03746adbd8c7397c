import { VLLM_IMAGE_REPOSITORY } from './defaults.js';

/**
 * A full image reference from what the user wrote: a bare tag (`v0.11.0`, `latest`,
 * `nightly`, `0.11.0`) or digest (`sha256:…`) means the vLLM image with that tag, as
 * `VLLM_IMAGE=v0.11.0` did in the reference tool; anything else is taken as it is.
 */
export function resolveVllmImage(image: string): string {
  const trimmed = image.trim();
  if (/^sha256:[a-f0-9]{64}$/.test(trimmed)) return `${VLLM_IMAGE_REPOSITORY}@${trimmed}`;
  if (/^(v?[0-9][A-Za-z0-9_.-]*|latest|nightly)$/.test(trimmed)) return `${VLLM_IMAGE_REPOSITORY}:${trimmed}`;
  return trimmed;
}
