const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/** What Docker accepts for sizes such as `--shm-size` (docker/go-units `RAMInBytes`). */
export const BYTE_SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)? ?([bBkKmMgGtT]([iI]?[bB])?)?$';

/**
 * Bytes of a Docker size string (`8g`, `512m`, `1.5GB`, `100000`), binary units, case
 * insensitive; `undefined` when it is not one.
 */
export function parseByteSize(input: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?) ?(?:([bkmgt])(?:i?b)?)?$/i.exec(input.trim());
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
