/*
 * Durations as written in models.yaml. One definition: the schema's pattern (also in the JSON
 * Schema for editors), the parser and the range check below all read the same constants, so a
 * value the schema accepts always parses to what it says.
 */

const NUMBER = '\\d+(?:\\.\\d+)?';
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const UNIT = '(?:ms|s|m|h|d)';

/**
 * A duration: a number of seconds (`90`), or numbers each with its unit (`90s`, `15m`, `2h`,
 * `1h30m`, `1d`, `500ms`). A number without a unit after a unit (`15m30`) is not one: it could
 * mean seconds or minutes.
 */
export const DURATION_PATTERN = `^(?:${NUMBER}|(?:${NUMBER}${UNIT})+)$`;

/**
 * The longest duration: Node.js keeps a timer up to 2^31 − 1 ms (about 24.8 days); a longer one
 * fires at once, so a `wake-timeout: 9999h` would fail every wake immediately.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** {@link MAX_DURATION_MS} as written in models.yaml (the longest whole hour under it). */
export const MAX_DURATION_TEXT = '24d20h';

/** How to write a duration, for messages. */
export const DURATION_EXAMPLES = '90s, 15m, 2h, 1h30m or 1d, or a number of seconds';

/** Messages of {@link durationProblem}, for the schema's own checks. */
export const DURATION_MESSAGES = {
  form: `must be a duration such as ${DURATION_EXAMPLES}; every number after the first needs its unit (15m30s, not 15m30)`,
  positive: 'must be more than 0',
  tooLong: `is too long: at most ${MAX_DURATION_TEXT} (about 24.8 days, the longest timer Node.js keeps)`,
} as const;

/** Milliseconds of a duration (see {@link DURATION_PATTERN}); undefined when it is not one. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined;
  if (!new RegExp(DURATION_PATTERN).test(input)) return undefined;
  if (/^[\d.]+$/.test(input)) return Number(input) * 1000;
  let total = 0;
  for (const [, amount, unit] of input.matchAll(new RegExp(`(${NUMBER})(${UNIT})`, 'g'))) {
    total += Number(amount) * UNITS[unit as keyof typeof UNITS];
  }
  return total;
}

/**
 * Why `input` cannot be a duration of models.yaml, or undefined when it can: not a duration,
 * zero (or less), or longer than Node's timers keep.
 */
export function durationProblem(input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return DURATION_MESSAGES.form;
  if (typeof input === 'number' && input > MAX_DURATION_MS / 1000) return DURATION_MESSAGES.tooLong;
  const ms = parseDuration(input);
  if (ms === undefined) return typeof input === 'number' ? DURATION_MESSAGES.positive : DURATION_MESSAGES.form;
  if (ms <= 0) return DURATION_MESSAGES.positive;
  if (ms > MAX_DURATION_MS) return DURATION_MESSAGES.tooLong;
  return undefined;
}
