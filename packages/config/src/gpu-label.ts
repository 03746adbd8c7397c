import type { GpuSelection } from './types.js';

/**
 * A GPU selection as one word, the form of container labels, Prometheus labels and tables:
 * `all`, `none`, the indices in the order given to Docker (`0,1`), or `auto:<count>` for GPUs
 * serve places (a placed container's label holds the indices it got instead).
 */
export function formatGpuLabel(gpus: GpuSelection): string {
  if (gpus.kind === 'auto') return `auto:${gpus.count}`;
  if (gpus.kind !== 'devices') return gpus.kind;
  return gpus.indices.length > 0 ? gpus.indices.join(',') : 'none';
}

/** The inverse of {@link formatGpuLabel}; anything else (a label of the old tool: none) is `all`. */
export function parseGpuLabel(label: string | undefined): GpuSelection {
  if (label === 'none') return { kind: 'none' };
  const auto = /^auto:([1-9]\d*)$/.exec(label ?? '');
  if (auto) return { kind: 'auto', count: Number(auto[1]) };
  if (!label || !/^\d+(,\d+)*$/.test(label)) return { kind: 'all' };
  return { kind: 'devices', indices: label.split(',').map(Number) };
}
