import type { DockerClient } from './client.js';
import { containerLogs } from './containers.js';
import { NVIDIA_SMI_QUERY_ARGS, parseNvidiaSmi, type GpuInfo } from './gpu.js';

/**
 * The GPUs of a (remote) Docker host, read by a short `--gpus all` container whose NVIDIA
 * runtime mounts `nvidia-smi` into it. `image` must be on the host already (the model image is
 * a good choice: it needs the runtime anyway). `'unavailable'` when the daemon has no NVIDIA
 * runtime, the image lacks a shell-free way to run it, or the output cannot be read.
 */
export async function detectGpusViaDocker(
  docker: DockerClient,
  image: string,
  options: { labels?: Record<string, string>; timeoutMs?: number } = {},
): Promise<GpuInfo[] | 'unavailable'> {
  let id: string | undefined;
  try {
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ['nvidia-smi'],
      Cmd: [...NVIDIA_SMI_QUERY_ARGS],
      Labels: { ...options.labels, 'inferstack.kind': 'gpu-probe' },
      HostConfig: { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu', 'utility']] }] },
    });
    id = container.id;
    await container.start();
    const waited = (await Promise.race([
      container.wait(),
      new Promise((resolve) => setTimeout(() => resolve({ StatusCode: -1 }), options.timeoutMs ?? 60_000).unref()),
    ])) as { StatusCode: number };
    if (waited.StatusCode !== 0) return 'unavailable';
    const parsed = parseNvidiaSmi(await containerLogs(docker, id, 1000));
    return parsed.ok ? parsed.gpus : 'unavailable';
  } catch {
    // No NVIDIA runtime ("could not select device driver"), image missing, no nvidia-smi...
    return 'unavailable';
  } finally {
    if (id) await docker.getContainer(id).remove({ force: true }).catch(() => {});
  }
}
