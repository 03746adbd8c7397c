import type { GpuSelection } from './types.js';

/**
 * A GPU selection as one word, the form of container labels, Prometheus labels and tables:
 * `all`, `none`, or the indices in the order given to Docker (`0,1`).
 */
export function formatGpuLabel(gpus: GpuSelection): string {
  if (gpus.kind !== 'devices') return gpus.kind;
  return gpus.indices.length > 0 ? gpus.indices.join(',') : 'none';
}

/** The inverse of {@link formatGpuLabel}; anything else (a label of the old tool: none) is `all`. */
export function parseGpuLabel(label: string | undefined): GpuSelection {
  if (label === 'none') return { kind: 'none' };
  if (!label || !/^\d+(,\d+)*$/.test(label)) return { kind: 'all' };
  return { kind: 'devices', indices: label.split(',').map(Number) };
}
