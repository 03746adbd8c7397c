import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HF_CACHE_CONTAINER_PATH, type StackConfig } from '@inferstack/config';
import { formatBytes } from '@inferstack/docker-ops';
import type { Check } from './check.js';

/* The disk of the Hugging Face cache: models take several GB each. */

/** Free space under which the Hugging Face cache gets a warning: one 7B model is ~15 GB. */
export const LOW_DISK_BYTES = 50 * 1024 ** 3;

/** Free space on the disk the Hugging Face cache is (or will be) on, when the daemon is local. */
export async function diskCheck(local: boolean, config: StackConfig, checks: Check[]): Promise<void> {
  const cache = config.models.flatMap((m) => m.volumes).find((v) => v.target === HF_CACHE_CONTAINER_PATH)?.source;
  if (!cache) return;
  if (!local) {
    checks.push({ id: 'disk', title: 'disk', status: 'ok', message: `not checked: the Hugging Face cache ${cache} is on the daemon's host` });
    return;
  }
  // The cache may not exist yet: measure the disk it will be on.
  let path = cache;
  let missing = false;
  for (;;) {
    try {
      const s = await statfs(path);
      const free = s.bavail * s.bsize;
      const low = free < LOW_DISK_BYTES;
      checks.push({
        id: 'disk',
        title: 'disk',
        status: low ? 'warn' : 'ok',
        message: `${formatBytes(free)} free for the Hugging Face cache ${cache}${missing ? ' (not created yet)' : ''}`,
        ...(low ? { hint: `models take several GB each (a 7B model ~15 GB): free space, or point HUGGINGFACE_CACHE in .env at a larger disk (${formatBytes(LOW_DISK_BYTES)} or more)` } : {}),
      });
      return;
    } catch {
      const parent = dirname(path);
      if (parent === path) return;
      missing = true;
      path = parent;
    }
  }
}
