import { flagName } from './_vllm-flags.js';
import type { ModelSpec } from './types.js';

/** The flags whose product is the number of GPUs one vLLM instance uses. */
const PARALLEL_FLAGS = ['tensor-parallel-size', 'pipeline-parallel-size', 'data-parallel-size'] as const;

/**
 * How many GPUs vLLM uses: tensor × pipeline × data parallel size, each 1 unless given (as an
 * option or in `additional_flags`, in any spelling vLLM's parser takes: `--tensor_parallel_size`,
 * `-tp 2`, `--data-parallel-size=2`). One definition for everything that counts GPUs a model
 * needs without naming them: `gpus: auto` on Docker, and `gpus: all` on Kubernetes, which has no
 * "every GPU of the node".
 */
export function vllmWorldSize(spec: Pick<ModelSpec, 'vllmArgs' | 'tensorParallelSize'>): number {
  const sizes: Record<string, number> = {};
  spec.vllmArgs.forEach((token, i) => {
    const name = flagName(token);
    if (!name || !(PARALLEL_FLAGS as readonly string[]).includes(name)) return;
    const eq = token.indexOf('=');
    const raw = eq >= 0 ? token.slice(eq + 1) : spec.vllmArgs[i + 1];
    const n = Number(raw);
    // A flag is given once (the parser refuses repeats); the first well-formed value counts.
    if (sizes[name] === undefined && Number.isInteger(n) && n > 0) sizes[name] = n;
  });
  const tensor = spec.tensorParallelSize ?? sizes['tensor-parallel-size'] ?? 1;
  return tensor * (sizes['pipeline-parallel-size'] ?? 1) * (sizes['data-parallel-size'] ?? 1);
}
