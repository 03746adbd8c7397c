/** Docker's `--cpuset-cpus` syntax: `0-3`, `0,2`, `0-1,4`. */
export const CPUSET_PATTERN = '^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$';

/**
 * Normalises a cpuset given as a string (`"0-3"`, spaces allowed after commas) or a list of CPU
 * indices (`[0, 1, 2]` → `"0,1,2"`). Returns a problem description instead when invalid.
 */
export function normaliseCpuset(input: string | number | readonly number[]): { value: string } | { problem: string } {
  if (typeof input === 'number') return normaliseCpuset([input]);
  if (typeof input !== 'string') {
    if (input.length === 0) return { problem: 'is an empty list' };
    const seen = new Set<number>();
    for (const cpu of input) {
      if (!Number.isInteger(cpu) || cpu < 0) return { problem: `has ${cpu}, which is not a CPU index (0, 1, 2, ...)` };
      if (seen.has(cpu)) return { problem: `lists CPU ${cpu} twice` };
      seen.add(cpu);
    }
    return { value: input.join(',') };
  }
  const compact = input.replace(/\s+/g, '');
  if (!new RegExp(CPUSET_PATTERN).test(compact)) {
    return { problem: `"${input}" is not a CPU list` };
  }
  for (const part of compact.split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    if (hi !== undefined && lo !== undefined && hi < lo) return { problem: `has the range ${part}, which runs backwards` };
  }
  return { value: compact };
}
