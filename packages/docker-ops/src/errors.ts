import { formatBytes } from './weights-progress.js';

/**
 * Errors thrown by docker-ops. Every one carries what the CLI needs to print one clear line and
 * a hint; none carries a secret.
 */

/** Base class of every error docker-ops throws. */
export class DockerOpsError extends Error {
  /** What the user can do about it, when we know. */
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** No Docker daemon answered at the configured address. */
export class DaemonUnreachableError extends DockerOpsError {
  readonly address: string;
  /** The endpoint's name (a `hosts:` key), when it has one. */
  readonly endpoint?: string;

  /**
   * @param address where we tried, without credentials
   * @param options.endpoint the endpoint's name, named in the message
   * @param options.hint what to do, when the transport tells more than "start Docker"
   */
  constructor(address: string, cause?: unknown, options: { endpoint?: string; hint?: string } = {}) {
    const detail = (cause as { code?: string; message?: string } | undefined)?.code ?? (cause as Error | undefined)?.message;
    const what = options.endpoint ? `the Docker daemon of host ${options.endpoint}` : 'the Docker daemon';
    super(`cannot reach ${what} at ${address}${detail ? ` (${detail})` : ''}`, {
      cause,
      hint: options.hint ?? 'start Docker (e.g. "sudo systemctl start docker") or set DOCKER_HOST to a daemon that runs',
    });
    this.address = address;
    this.endpoint = options.endpoint;
  }
}

/** A Docker endpoint is configured wrongly (a bad address, a missing key or certificate file). Nothing was contacted. */
export class DockerEndpointError extends DockerOpsError {
  /** The endpoint's address without credentials, or its name. */
  readonly endpoint: string;

  constructor(endpoint: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`Docker endpoint ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/**
 * The address a host's models publish on is a name that does not resolve to exactly one usable
 * IP address. Nothing was created.
 */
export class PublishAddressError extends DockerOpsError {
  /** The address as written. */
  readonly address: string;

  constructor(address: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, {
      cause: options.cause,
      hint:
        options.hint ??
        'write the IP address the gateway\'s host reaches this host on as its address: in models.yaml (hosts: <name>: address: 10.0.0.12); models publish their port on that address only',
    });
    this.address = address;
  }
}

/** The daemon cannot give containers NVIDIA GPUs (no NVIDIA Container Toolkit). */
export class NvidiaRuntimeMissingError extends DockerOpsError {
  readonly model: string;

  constructor(model: string, cause?: unknown) {
    super(`the Docker daemon cannot give GPUs to ${model}: the NVIDIA container runtime is not installed or not configured`, {
      cause,
      hint: 'install the NVIDIA Container Toolkit and restart Docker, or set "gpus: none" for a CPU-only image',
    });
    this.model = model;
  }
}

/** An image could not be pulled (or is missing with pull policy `never`). */
export class ImagePullError extends DockerOpsError {
  readonly image: string;

  constructor(image: string, detail: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`cannot pull image ${image}: ${detail}`, {
      cause: options.cause,
      hint: options.hint ?? 'check the image name and tag, your network, and "docker login" for private registries',
    });
    this.image = image;
  }
}

/** Another `serve` run holds the lock on this daemon. */
export class LockHeldError extends DockerOpsError {
  readonly holder: LockHolder;
  /** Why its holder could not be judged gone (another machine, another container, an older serve's lock). */
  readonly unjudged?: string;

  constructor(holder: LockHolder, options: { unjudged?: string } = {}) {
    const where = holder.container ? ` in container ${holder.container.slice(0, 12)}` : '';
    super(`another serve run holds the lock: pid ${holder.pid} on ${holder.hostname}${where} since ${holder.since} (${holder.command})${options.unjudged ? `; ${options.unjudged}` : ''}`, {
      hint: options.unjudged
        ? 'such a lock is never taken over automatically: wait for that run to finish; if it is gone (killed, its machine or container gone), run "serve unlock"'
        : 'wait for it to finish; if that process is gone, run "serve unlock"',
    });
    this.holder = holder;
    if (options.unjudged) this.unjudged = options.unjudged;
  }
}

/** Who holds the deployment lock. */
export interface LockHolder {
  pid: number;
  hostname: string;
  since: string;
  command: string;
  /** When its process started (Linux: clock ticks since boot), telling a reused pid apart. */
  processStart?: string;
  /** The kernel boot id of its machine (`/proc/sys/kernel/random/boot_id`): one host name may be on several machines. */
  bootId?: string;
  /** Its pid namespace (`pid:[…]`): a container has its own pid numbers, also under the host's name. */
  pidNamespace?: string;
  /** The id of the container it runs in (the stack's watcher), which the daemon can say is gone or restarted. */
  container?: string;
}

/** The operation was cancelled (Ctrl-C or an AbortSignal). */
export class OperationAbortedError extends DockerOpsError {
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** A Docker API call failed for a reason we did not classify. */
export class DockerApiError extends DockerOpsError {
  readonly statusCode?: number;

  constructor(action: string, cause: unknown) {
    const status = (cause as { statusCode?: number } | undefined)?.statusCode;
    super(`${action}: ${describeDockerError(cause)}`, { cause });
    this.statusCode = status;
  }
}

/** The daemon's own message from a dockerode error, without the request dump. */
export function describeDockerError(error: unknown): string {
  const e = error as { json?: { message?: string }; reason?: string; message?: string; statusCode?: number };
  const message = e?.json?.message ?? (typeof e?.json === 'string' ? (e.json as string) : undefined) ?? e?.message ?? String(error);
  return message.replace(/^\(HTTP code \d+\)\s*[\w ]+-\s*/, '').trim();
}

/** A container has the name a service wants, but we did not make it (or another stack did). */
export class ForeignContainerError extends DockerOpsError {
  readonly container: string;

  constructor(container: string, otherStack?: string) {
    super(
      otherStack
        ? `a container named ${container} belongs to stack "${otherStack}"; it was left as it is`
        : `a container named ${container} exists and was not made by inferstack; it was left as it is`,
      { hint: `give this stack's service another name in models.yaml (its container-name:), or remove that container yourself if it is unused` },
    );
    this.container = container;
  }
}

/**
 * A model's weights could not be listed or downloaded. Names the model and the repo; the hint says
 * what to do. Never carries the token.
 */
export class WeightsError extends DockerOpsError {
  /** The model's key in models.yaml. */
  readonly model: string;
  /** The Hugging Face repo. */
  readonly repo: string;

  constructor(model: string, repo: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.model = model;
    this.repo = repo;
  }
}

/**
 * The Hub refused the download: a gated repo without `HF_TOKEN` (`gated-no-token`), a token whose
 * account has not been granted access (`no-access`), or a token the Hub does not accept
 * (`token-refused`).
 */
export class WeightsAccessError extends WeightsError {
  readonly reason: 'gated-no-token' | 'no-access' | 'token-refused';

  constructor(model: string, repo: string, reason: WeightsAccessError['reason'], message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(model, repo, message, options);
    this.reason = reason;
  }
}

/** The repo (or a private one the token cannot see) or its revision does not exist on the Hub. */
export class WeightsNotFoundError extends WeightsError {
  readonly what: 'repo' | 'revision';

  constructor(model: string, repo: string, what: 'repo' | 'revision', message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(model, repo, message, options);
    this.what = what;
  }
}

/** The cache disk cannot hold what is missing. With the numbers. */
export class WeightsNoSpaceError extends WeightsError {
  /** Bytes still to download. */
  readonly neededBytes: number;
  /** Bytes free on the cache disk (as the container sees it). */
  readonly freeBytes: number;
  /** The cache path in the container. */
  readonly path: string;

  constructor(model: string, repo: string, numbers: { neededBytes: number; freeBytes: number; path: string }, options: { hint?: string; cause?: unknown; message?: string } = {}) {
    super(model, repo, options.message ?? `not enough space for ${repo}: ${formatBytes(numbers.neededBytes)} to download, ${formatBytes(numbers.freeBytes)} free on the disk of the Hugging Face cache (${numbers.path})`, {
      cause: options.cause,
      hint: options.hint ?? 'free space on that disk (or move the cache: HUGGINGFACE_CACHE in .env), then run serve pull again: it keeps what it has',
    });
    this.neededBytes = numbers.neededBytes;
    this.freeBytes = numbers.freeBytes;
    this.path = numbers.path;
  }
}

/** Neither the model's image nor the fallback image has python3 with huggingface_hub. */
export class WeightsClientMissingError extends WeightsError {
  readonly image: string;

  constructor(model: string, repo: string, image: string, detail: string, options: { hint?: string; cause?: unknown } = {}) {
    super(model, repo, `cannot pull the weights of ${model}: image ${image} has no Hugging Face client (${detail})`, {
      cause: options.cause,
      hint: options.hint ?? 'use a vLLM image (it ships python3 and huggingface_hub) or let serve fall back to the default vLLM image',
    });
    this.image = image;
  }
}

/** The cache cannot be written (a read-only mount, permissions). */
export class WeightsCacheError extends WeightsError {}

/** A download failed for another reason, or kept failing (network) after retries. */
export class WeightsDownloadError extends WeightsError {
  /** Attempts made. */
  readonly attempts: number;

  constructor(model: string, repo: string, message: string, options: { hint?: string; cause?: unknown; attempts?: number } = {}) {
    super(model, repo, message, options);
    this.attempts = options.attempts ?? 1;
  }
}

/** Models' configs that keep `serve pull` from doing its job (a cache not on a volume). Nothing ran. */
export class WeightsConfigError extends DockerOpsError {
  readonly problems: ReadonlyArray<{ key: string; message: string; hint: string }>;

  constructor(problems: ReadonlyArray<{ key: string; message: string; hint: string }>) {
    super(problems.map((p) => p.message).join('; '), { hint: problems.map((p) => p.hint).join('; ') });
    this.problems = problems;
  }
}

