import type { StackConfig } from '@inferstack/config';
import { isLocalDaemon } from '@inferstack/docker-ops';
import { doctorVerdict, type Check, type DoctorVerdict } from './check.js';
import { configCheck } from './config.js';
import { diskCheck } from './disk.js';
import { daemonChecks, transportChecks } from './docker.js';
import { gpuChecks, runtimeChecks } from './gpus.js';
import { keyChecks } from './keys.js';
import { portChecks } from './ports.js';
import { weightsChecks } from './weights.js';

/*
 * `serve doctor`: runs the check families in order (config, docker, gpus, disk, weights, ports, keys,
 * transport), one file each in this folder. The types and functions the package exports are
 * re-exported here, so that index.ts names this file alone.
 */

export { doctorVerdict } from './check.js';
export type { Check, CheckStatus, DoctorVerdict } from './check.js';
export { keyWeakness } from './keys.js';

/** Options of {@link doctor}. */
export interface DoctorOptions {
  /** The models file, relative to `cwd`. @default 'model_config/models.yaml' */
  configPath?: string;
  /** @default process.cwd() */
  cwd?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** What {@link doctor} found. Holds no secret value. */
export interface DoctorReport {
  verdict: DoctorVerdict;
  checks: Check[];
  /** The loaded config, when it is valid (for masking its secrets in what is shown). */
  config?: StackConfig;
}

/**
 * Is this machine ready to run the configured stack? The config, the daemon and its API
 * version, the NVIDIA runtime, the GPUs and whether the models fit them, the disk of the
 * Hugging Face cache, each model's size and whether its host's cache disk holds what is missing,
 * the ports, the keys. An invalid config is a check like the others: the
 * rest still run.
 */
export async function doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const checks: Check[] = [];
  const config = await configCheck(cwd, env, options.configPath, checks);
  const client = await daemonChecks(env, checks);
  if (client) await runtimeChecks(client, config, checks);
  if (config) {
    const local = isLocalDaemon({ env });
    await gpuChecks(local, config, checks);
    await diskCheck(local, config, checks);
    await weightsChecks(client, config, env, checks);
    await portChecks(local, client, config, checks);
    checks.push(...keyChecks(config));
    checks.push(...transportChecks(config, env));
  }
  return { verdict: doctorVerdict(checks), checks, ...(config ? { config } : {}) };
}
