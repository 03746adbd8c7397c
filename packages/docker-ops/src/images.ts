import type { PullPolicy } from '@inferstack/config';
import type { ImageInspectInfo } from 'dockerode';
import type { DockerClient } from './client.js';
import { DockerApiError, ImagePullError, OperationAbortedError, describeDockerError } from './errors.js';

/** Aggregate progress of one pull, summed over its layers. */
export interface PullProgress {
  image: string;
  /** Bytes downloaded so far, over layers whose size is known. */
  currentBytes: number;
  totalBytes: number;
  /** Layers done / all layers seen. */
  layersDone: number;
  layers: number;
  status: string;
}

/** Options for {@link ensureImage}. */
export interface EnsureImageOptions {
  /** @default 'missing' */
  policy?: PullPolicy;
  platform?: string;
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
}

/** The local image, or undefined when the daemon does not have it. */
export async function inspectImage(docker: DockerClient, image: string): Promise<ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(image).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw new DockerApiError(`cannot inspect image ${image}`, error);
  }
}

/**
 * Make `image` present according to the pull policy and return its inspect data (its
 * Entrypoint decides how vLLM takes the model).
 */
export async function ensureImage(docker: DockerClient, image: string, options: EnsureImageOptions = {}): Promise<{ info: ImageInspectInfo; pulled: boolean }> {
  const policy = options.policy ?? 'missing';
  const present = await inspectImage(docker, image);
  if (present && policy !== 'always') return { info: present, pulled: false };
  if (!present && policy === 'never') {
    throw new ImagePullError(image, 'it is not on the Docker host and the pull policy is "never"', {
      hint: 'pull or build it yourself, or set "pull: missing"',
    });
  }
  await pullImage(docker, image, options);
  const info = await inspectImage(docker, image);
  if (!info) throw new ImagePullError(image, 'the pull finished but the image is not there');
  return { info, pulled: true };
}

/** Pull with aggregated layer progress. */
export async function pullImage(docker: DockerClient, image: string, options: Omit<EnsureImageOptions, 'policy'> = {}): Promise<void> {
  if (options.signal?.aborted) throw new OperationAbortedError();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(image, options.platform ? { platform: options.platform } : {});
  } catch (error) {
    throw new ImagePullError(image, describeDockerError(error), { cause: error });
  }
  const layers = new Map<string, { current: number; total: number; done: boolean }>();
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      reject(new OperationAbortedError());
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: Array<{ error?: string }>) => {
        options.signal?.removeEventListener('abort', onAbort);
        const failed = error?.message ?? output?.find((o) => o.error)?.error;
        if (failed) reject(new ImagePullError(image, failed));
        else resolve();
      },
      (event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
        if (event.id) {
          const layer = layers.get(event.id) ?? { current: 0, total: 0, done: false };
          if (event.progressDetail?.total) layer.total = event.progressDetail.total;
          if (event.progressDetail?.current !== undefined && event.status === 'Downloading') layer.current = event.progressDetail.current;
          if (event.status === 'Pull complete' || event.status === 'Already exists' || event.status === 'Download complete') {
            layer.done = event.status !== 'Download complete' || layer.done;
            if (layer.total) layer.current = layer.total;
          }
          layers.set(event.id, layer);
        }
        if (options.onProgress) {
          let currentBytes = 0;
          let totalBytes = 0;
          let layersDone = 0;
          for (const l of layers.values()) {
            currentBytes += l.current;
            totalBytes += l.total;
            if (l.done) layersDone++;
          }
          options.onProgress({ image, currentBytes, totalBytes, layersDone, layers: layers.size, status: event.status ?? '' });
        }
      },
    );
  });
}
