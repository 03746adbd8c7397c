import { flagName, isFlagToken } from './_vllm-flags.js';

/**
 * The values a model's vLLM argv gives a flag, read as vLLM's argparse reads them: `--name value`
 * and `--name=value`, underscores as hyphens, short aliases spelled out, several values after one
 * flag (`--ignore-patterns a b`), the last occurrence winning. `undefined` when the flag is absent;
 * `[]` for a flag given without a value. Lets other packages act on what vLLM will do (which
 * revision it loads, where it downloads to) without parsing argv themselves.
 *
 * @param args a model's `vllmArgs`
 * @param name the long name without dashes, e.g. `revision`, `load-format`
 */
export function vllmFlagValues(args: readonly string[], name: string): string[] | undefined {
  let found: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const token = args[i]!;
    if (flagName(token) !== name) continue;
    const eq = token.indexOf('=');
    if (eq >= 0) {
      found = [token.slice(eq + 1)];
      continue;
    }
    const values: string[] = [];
    while (i + 1 < args.length && !isFlagToken(args[i + 1]!)) values.push(args[++i]!);
    found = values;
  }
  return found;
}

/** The single value of a flag ({@link vllmFlagValues}), or `undefined` when it is absent or has none. */
export function vllmFlagValue(args: readonly string[], name: string): string | undefined {
  return vllmFlagValues(args, name)?.[0];
}
