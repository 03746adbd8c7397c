import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, ConfigValidationError, loadConfig, type StackConfig } from '@inferstack/config';
import { DockerOpsError, acquireLock, connectDocker, type DockerClient, type Lock } from '@inferstack/docker-ops';
import { CliError, ExitCode } from './errors.js';
import type { Output } from './output.js';

/** What every command gets. */
export interface CommandEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
  output: Output;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** Flags every command takes. */
export const commonArgs = {
  'model-config': {
    type: 'string',
    alias: 'c',
    description: 'Path of models.yaml',
    default: 'model_config/models.yaml',
    valueHint: 'PATH',
  },
  debug: { type: 'boolean', description: 'Print debug information (never secrets)' },
} as const;

/**
 * A per-machine key for the keyed digest of secrets in spec hashes, kept 0600 in the state
 * directory, so a label never lets anyone test guesses of a token.
 */
export function hashKey(env: NodeJS.ProcessEnv): string {
  if (env.INFERSTACK_HASH_KEY) return env.INFERSTACK_HASH_KEY;
  const dir = join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'inferstack');
  const file = join(dir, 'hash-key');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const key = randomBytes(32).toString('hex');
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      // Another run wrote it first, or the state dir is read-only: read what is there.
      try {
        return readFileSync(file, 'utf8').trim();
      } catch {
        return key;
      }
    }
  }
}

/** Load and validate the config; bad input becomes exit 2 with one line per problem. */
export async function loadStack(ctx: CommandEnv, file: string, select?: string[]): Promise<StackConfig> {
  try {
    const config = await loadConfig({ file, cwd: ctx.cwd, env: ctx.env, select: select && select.length > 0 ? select : undefined, hashKey: hashKey(ctx.env) });
    ctx.output.addSecrets(secretValues(config));
    return config;
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      throw new CliError(`${error.issues.length} problem${error.issues.length === 1 ? '' : 's'} in the configuration; nothing was changed`, {
        exitCode: ExitCode.badInput,
        details: error.format().split('\n'),
      });
    }
    if (error instanceof ConfigError) throw new CliError(error.message, { exitCode: ExitCode.badInput, hint: (error as { hint?: string }).hint, cause: error });
    throw error;
  }
}

/** Every secret the config holds, for masking. */
export function secretValues(config: StackConfig): string[] {
  const values = new Set<string>();
  for (const [k, v] of Object.entries(config.settings)) if (/(_KEY|_TOKEN|PASSWORD|SECRET)/i.test(k) && v) values.add(v);
  for (const m of config.models) for (const v of Object.values(m.secretEnv)) values.add(v);
  for (const v of [config.gateway.masterKey, config.gateway.saltKey, config.monitoring.grafana.adminPassword]) if (v) values.add(v);
  return [...values];
}

/** Labels added to everything we create, from `INFERSTACK_LABELS=k=v,k2=v2` (tests use it). */
export function extraLabels(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (env.INFERSTACK_LABELS ?? '').split(',')) {
    const [k, ...v] = part.split('=');
    if (k?.trim()) out[k.trim()] = v.join('=').trim();
  }
  return out;
}

/** Connect to the daemon: unreachable is one clear line. */
export async function docker(ctx: CommandEnv): Promise<DockerClient> {
  try {
    return await connectDocker({ env: ctx.env });
  } catch (error) {
    throw asCliError(error);
  }
}

/** Take the per-daemon lock, saying who holds it while we wait. */
export async function lock(ctx: CommandEnv, client: DockerClient, command: string): Promise<Lock> {
  const waitMs = ctx.env.INFERSTACK_LOCK_WAIT_MS ? Number(ctx.env.INFERSTACK_LOCK_WAIT_MS) : undefined;
  try {
    return await acquireLock(client, {
      command,
      waitMs,
      extraLabels: extraLabels(ctx.env),
      signal: ctx.signal,
      onWait: (h) => ctx.output.info(`waiting for another serve run to finish (pid ${h.pid} on ${h.hostname}, ${h.command}, since ${h.since})`),
    });
  } catch (error) {
    throw asCliError(error);
  }
}

/** Known library errors → CliError; anything else is left as is (a bug). */
export function asCliError(error: unknown): unknown {
  if (error instanceof DockerOpsError) return new CliError(error.message, { hint: error.hint, cause: error });
  return error;
}
