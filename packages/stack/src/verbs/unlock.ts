import { resolve } from 'node:path';
import { DEFAULT_MODELS_FILE, loadConfig, projectDirFor, stackNameFor } from '@inferstack/config';
import { breakLock, connectDocker, connectHost, type DockerClient, type LockHolder } from '@inferstack/docker-ops';

/** Options of {@link unlock}. */
export interface UnlockOptions {
  /** The stack's name. @default that of the config (which need not be valid, or even exist) */
  name?: string;
  /** @default 'model_config/models.yaml' */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  docker?: DockerClient;
  /**
   * With several Docker hosts (`hosts:`), the stack's lock is broken on each of the others too;
   * this gets what was found there: the holder, none, or why the host could not be asked.
   */
  onHost?: (host: string, result: LockHolder | undefined | Error) => void;
}

/**
 * Remove a stack's deployment lock left by a run that died on another machine (a dead run on
 * this machine is taken over by the next one anyway). Returns who held it, if anyone did.
 */
export async function unlock(options: UnlockOptions = {}): Promise<LockHolder | undefined> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.configPath ?? DEFAULT_MODELS_FILE;
  // A broken config must not keep a lock in place: its directory names the stack then.
  const config = await loadConfig({ file, cwd, env }).catch(() => undefined);
  const name = options.name ?? config?.name ?? stackNameFor(projectDirFor(resolve(cwd, file)));
  const docker = options.docker ?? (await connectDocker({ env }));
  const holder = await breakLock(docker, name);
  // Each other host has the stack's lock too (a broken config names none of them).
  await Promise.all(
    (config?.hosts ?? [])
      .filter((h) => !h.local)
      .map(async (h) => {
        const result = await connectHost(h, { env }).then(
          (client) => breakLock(client, name),
          (error: Error) => error,
        );
        options.onHost?.(h.name, result);
      }),
  );
  return holder;
}
