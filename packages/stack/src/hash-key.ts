import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The per-user key of earlier versions (before a stack kept its own), read, never written: a
 * stack made by them gets it as its key, so that nothing looks changed after the upgrade.
 */
export function legacyHashKey(env: NodeJS.ProcessEnv): string | undefined {
  const dir = join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'inferstack');
  try {
    return readFileSync(join(dir, 'hash-key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Labels added to everything created, from `INFERSTACK_LABELS=k=v,k2=v2` (tests use it). */
export function labelsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (env.INFERSTACK_LABELS ?? '').split(',')) {
    const [k, ...v] = part.split('=');
    if (k?.trim()) out[k.trim()] = v.join('=').trim();
  }
  return out;
}
