import { resolve } from 'node:path';
import { DEFAULT_MODELS_FILE, loadConfig, projectDirFor, stackNameFor } from '@inferstack/config';
import { breakLock, connectDocker, type DockerClient, type LockHolder } from '@inferstack/docker-ops';

/** Options of {@link unlock}. */
export interface UnlockOptions {
  /** The stack's name. @default that of the config (which need not be valid, or even exist) */
  name?: string;
  /** @default 'model_config/models.yaml' */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  docker?: DockerClient;
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
  const name = options.name ?? (await loadConfig({ file, cwd, env }).then((c) => c.name, () => stackNameFor(projectDirFor(resolve(cwd, file)))));
  const docker = options.docker ?? (await connectDocker({ env }));
  return breakLock(docker, name);
}
