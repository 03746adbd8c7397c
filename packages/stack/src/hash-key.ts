import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A per-machine key for the keyed digest of secrets in spec hashes, kept 0600 in the state
 * directory, so a label never lets anyone test guesses of a token.
 */
export function resolveHashKey(env: NodeJS.ProcessEnv): string {
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

/** Labels added to everything created, from `INFERSTACK_LABELS=k=v,k2=v2` (tests use it). */
export function labelsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (env.INFERSTACK_LABELS ?? '').split(',')) {
    const [k, ...v] = part.split('=');
    if (k?.trim()) out[k.trim()] = v.join('=').trim();
  }
  return out;
}
