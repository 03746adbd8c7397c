import { isSecretName } from './settings.js';

/*
 * What vLLM's argument parser makes of a flag name, for the checks that stop argument order from
 * deciding anything silently. vLLM parses argv with argparse: a flag given twice keeps its last
 * value, and a boolean flag and its `--no-` form set the same option, so the later one wins.
 * The spec hash sorts flags by name (reordering keys in models.yaml must not recreate a
 * container), so two argvs that differ only in such an order would hash alike while vLLM
 * behaves differently. Rejecting repeats and contradictions keeps the sorted hash honest.
 */

/**
 * Short aliases of `vllm serve` flags (argparse aliases, v0.11–v0.20), so that `-tp 2` and
 * `tensor-parallel-size:` count as the same flag. `-O` is left out: it meant
 * `--compilation-config` and later the optimisation level, and takes attached values (`-O3`).
 */
const SHORT_ALIASES: Readonly<Record<string, string>> = {
  q: 'quantization',
  pp: 'pipeline-parallel-size',
  tp: 'tensor-parallel-size',
  dcp: 'decode-context-parallel-size',
  dp: 'data-parallel-size',
  dpn: 'data-parallel-rank',
  dpr: 'data-parallel-start-rank',
  dpl: 'data-parallel-size-local',
  dpa: 'data-parallel-address',
  dpp: 'data-parallel-rpc-port',
  dpb: 'data-parallel-backend',
};

/**
 * Flags vLLM declares with argparse's `action="append"`: each occurrence adds a value, so a repeat
 * is meaningful and their relative order is kept (by the hash's stable sort, too).
 */
const REPEATABLE_FLAGS: ReadonlySet<string> = new Set(['middleware']);

/** Whether an argv item is a flag rather than a value (`-1` is a value). */
export function isFlagToken(token: string): boolean {
  return /^--?[A-Za-z]/.test(token);
}

/**
 * The canonical name of a flag token: without dashes and `=value`, underscores as hyphens (vLLM's
 * parser accepts `--max_model_len` for `--max-model-len`), short aliases spelled out.
 * `undefined` when the token is not a flag.
 */
export function flagName(token: string): string | undefined {
  if (!isFlagToken(token)) return undefined;
  const long = token.startsWith('--');
  const name = token.slice(long ? 2 : 1).split('=')[0]!.replaceAll('_', '-');
  return long ? name : (SHORT_ALIASES[name] ?? name);
}

/** Whether vLLM takes the flag more than once, each adding a value. */
export function isRepeatableFlag(name: string): boolean {
  return REPEATABLE_FLAGS.has(name);
}

/**
 * The option a flag sets: `no-x` sets the same as `x` (argparse's BooleanOptionalAction, which
 * vLLM uses for its boolean flags).
 */
export function flagOption(name: string): { option: string; negated: boolean } {
  return name.startsWith('no-') && name.length > 3 ? { option: name.slice(3), negated: true } : { option: name, negated: false };
}

/**
 * Whether a flag's name says it carries a secret: the {@link isSecretName} rule on the name with
 * underscores (`--api-key`, `--hf-token`, `--x-secret`), or `secret` anywhere in it. None of
 * vLLM's flags that merely mention keys or tokens match: `--ssl-keyfile` (a path), `--tokenizer`,
 * `--max-num-batched-tokens`, `--long-prefill-token-threshold` and the like.
 */
export function isSecretFlag(name: string): boolean {
  return isSecretName(name.replaceAll('-', '_')) || /secret/i.test(name);
}

/** Where a secret that was given as a flag belongs instead. */
export function secretFlagHint(name: string): string {
  const option = flagOption(name).option.toLowerCase();
  if (option === 'api-key') {
    return 'remove it, and set the key with api-key: "${VLLM_API_KEY}" with the value in .env: inferstack passes it as VLLM_API_KEY, never on the command line';
  }
  if (option === 'hf-token') {
    return 'remove it, and put HF_TOKEN=hf_... in .env: every model container gets it as the HF_TOKEN environment variable, which vLLM reads';
  }
  return 'remove it: keep secrets in .env, never in vLLM\'s arguments (those show in docker inspect, ps and serve export compose); pass them as environment variables vLLM reads';
}
