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
