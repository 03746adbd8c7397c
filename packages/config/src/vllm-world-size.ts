import type { ModelSpec } from './types.js';
import { vllmFlagValue } from './vllm-flag-values.js';

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
  const sizes = positiveFlags(spec.vllmArgs, PARALLEL_FLAGS);
  const tensor = spec.tensorParallelSize ?? sizes['tensor-parallel-size'] ?? 1;
  return tensor * (sizes['pipeline-parallel-size'] ?? 1) * (sizes['data-parallel-size'] ?? 1);
}

/**
 * How many requests one vLLM instance runs at once (`--max-num-seqs`, in any spelling), or
 * undefined when the model does not set it (vLLM then picks its own default).
 */
export function vllmMaxNumSeqs(spec: Pick<ModelSpec, 'vllmArgs'>): number | undefined {
  return positiveFlags(spec.vllmArgs, ['max-num-seqs'])['max-num-seqs'];
}

/** The whole positive values of `names` in an argv, by canonical flag name (read by {@link vllmFlagValue}). */
function positiveFlags(args: readonly string[], names: readonly string[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const name of names) {
    const n = Number(vllmFlagValue(args, name));
    if (Number.isInteger(n) && n > 0) values[name] = n;
  }
  return values;
}
