import { breakLock, connectDocker, readLockHolder, type DockerClient, type LockHolder } from '@inferstack/docker-ops';

/**
 * Remove the deployment lock left by a run that died on another machine (a dead run on this
 * machine is taken over by the next one anyway). Returns who held it, if anyone did.
 */
export async function unlock(options: { env?: NodeJS.ProcessEnv; docker?: DockerClient } = {}): Promise<LockHolder | undefined> {
  const docker = options.docker ?? (await connectDocker({ env: options.env ?? process.env }));
  const holder = await readLockHolder(docker);
  if (holder) await breakLock(docker);
  return holder ?? undefined;
}
