import { formatGpuLabel } from '@inferstack/config';
import type { GpuLoad, GpuMap, ModelChange } from '@inferstack/docker-ops';
import type { HostPlanStatus, ServicePlan } from '@inferstack/stack';
import { type Output, shownPath, table } from '../output.js';

const SYMBOL: Record<ModelChange['action'], string> = { create: '+', recreate: '↻', start: '▶', keep: '=', remove: '-' };

function detail(c: ModelChange): string {
  switch (c.action) {
    case 'create':
      return 'not running → create';
    case 'recreate':
      const how = c.strategy === 'rolling' ? 'rolling, no downtime' : `in place, downtime: ${c.why}`;
      if (c.reason !== 'changed') return `${c.reason} → recreate (${how})`;
      return `${c.container.specHash === undefined ? 'made by the old tool; ' : ''}changed: ${c.changed.join(', ')} → recreate (${how})`;
    case 'start':
      return 'stopped, unchanged → start';
    case 'keep':
      return c.adopted ? 'running, made by the old tool, matches the config: adopted by this stack' : 'running, unchanged';
    case 'remove':
      return c.reason === 'duplicate'
        ? 'duplicate container → remove'
        : c.reason === 'other-host'
          ? 'runs on another host now → remove here'
          : c.reason === 'scaled-down'
            ? 'a replica more than replicas: asks for (scaled-down) → drain, remove'
            : 'not in the config → remove';
  }
}

/** The model's key, and `#i` for a replica other than the first. */
function shownKey(c: ModelChange): string {
  return c.replica ? `${c.key}#${c.replica}` : c.key;
}

/** A change of a plan, on its host (several hosts) and with the address it opens there. */
type PlannedChange = ModelChange & { host?: string; opens?: string; placement?: string };

/**
 * The plan as a table a person reads. With several hosts (`hosts` true), a HOST column and an
 * OPENS column: the address and port a model of another host than the gateway's publishes
 * (`auto` until Docker picks the port).
 */
export function printPlan(out: Output, changes: readonly PlannedChange[], options: { hosts?: boolean } = {}): void {
  if (changes.length === 0) {
    out.print('no models in the config and no model containers');
    return;
  }
  // A placed replica shows the GPUs placement gave it (a kept one those it runs on).
  const gpus = (c: PlannedChange) =>
    c.gpuDevices ? c.gpuDevices.join(',') : c.placement && 'container' in c ? (c.container.gpus ?? '?') : 'spec' in c ? formatGpuLabel(c.spec.gpus) : (c.container.gpus ?? '?');
  const why = (c: PlannedChange) => (c.placement ? `${detail(c)}; ${c.placement}` : detail(c));
  if (options.hosts) {
    const rows = changes.map((c) => [SYMBOL[c.action], shownKey(c), c.host ?? 'local', c.action, gpus(c), c.opens ?? '-', why(c)]);
    for (const line of table(['', 'MODEL', 'HOST', 'ACTION', 'GPUS', 'OPENS', 'WHY'], rows)) out.print(line);
  } else {
    const rows = changes.map((c) => [SYMBOL[c.action], shownKey(c), c.action, gpus(c), why(c)]);
    for (const line of table(['', 'MODEL', 'ACTION', 'GPUS', 'WHY'], rows)) out.print(line);
  }
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  out.print('');
  out.print([...counts].map(([a, n]) => `${n} ${a}`).join(', '));
}

const SERVICE_SYMBOL: Record<ServicePlan['action'], string> = { create: '+', recreate: '↻', start: '▶', keep: '=', reload: '↺', conflict: '!' };

function serviceDetail(s: ServicePlan, cwd: string): string {
  const files = (s.files ?? []).map((f) => shownPath(cwd, f)).join(', ');
  const writes = files ? `, writes ${files}` : '';
  switch (s.action) {
    case 'create':
      // Its files go with it (`--json` names them).
      return `not running → create${s.ifGpus ? ` (if up finds NVIDIA GPUs on host ${s.host})` : ''}`;
    case 'recreate':
      return `${s.changed?.length ? `changed: ${s.changed.join(', ')}` : 'changed (which fields: not recorded on this container)'} → recreate${writes}`;
    case 'start':
      return `stopped, unchanged → start${writes}`;
    case 'keep':
      return `running, unchanged${writes}`;
    case 'reload':
      return `running, unchanged; ${files} changed → reload (no restart)`;
    case 'conflict':
      return `${s.owner ? `a container of that name belongs to stack "${s.owner}"` : 'a container of that name was not made by serve'} → left alone; up fails for this service`;
  }
}

/**
 * The infrastructure part of a plan as a table: per service, its container, what `up` would do
 * and why (the files it would write shown relative to `cwd`). With several hosts (`hosts` true),
 * a HOST column (the exporters of every host).
 */
export function printServicePlan(out: Output, services: readonly ServicePlan[], options: { cwd: string; hosts?: boolean }): void {
  if (services.length === 0) return;
  out.print('');
  if (options.hosts) {
    const rows = services.map((s) => [SERVICE_SYMBOL[s.action], s.service, s.host ?? 'local', s.container, s.action, serviceDetail(s, options.cwd)]);
    for (const line of table(['', 'SERVICE', 'HOST', 'CONTAINER', 'ACTION', 'WHY'], rows)) out.print(line);
  } else {
    const rows = services.map((s) => [SERVICE_SYMBOL[s.action], s.service, s.container, s.action, serviceDetail(s, options.cwd)]);
    for (const line of table(['', 'SERVICE', 'CONTAINER', 'ACTION', 'WHY'], rows)) out.print(line);
  }
  const counts = new Map<string, number>();
  for (const s of services) counts.set(s.action, (counts.get(s.action) ?? 0) + 1);
  out.print('');
  out.print([...counts].map(([a, n]) => `${n} ${a}`).join(', '));
}

/** Hosts that could not be planned (or changed), with why and what to do. */
export function printHostFailures(out: Output, hosts: readonly HostPlanStatus[] | undefined): void {
  for (const h of hosts ?? []) if (!h.ok) out.error(`host ${h.host}: ${h.error.message}; its models were left as they are`, h.hint);
}

/** The GPU map: per GPU, the models on it and their utilisation summed, now and after `up`. */
export function printGpuMap(out: Output, map: GpuMap): void {
  const gpus = [...new Set([...map.before, ...map.after].map((l) => l.gpu))];
  if (gpus.length === 0) return;
  const cell = (load: GpuLoad | undefined) => (load ? `${load.models.map((m) => `${m.key} ${m.utilization.toFixed(2)}`).join(' + ')} = ${load.sum.toFixed(2)}` : '-');
  const rows = gpus.map((gpu) => {
    const after = map.after.find((l) => l.gpu === gpu);
    return [gpu, cell(map.before.find((l) => l.gpu === gpu)), after && after.sum > 1 ? out.red(cell(after)) : cell(after)];
  });
  out.print('');
  for (const line of table(['GPU', 'NOW', 'AFTER UP'], rows)) out.print(line);
}
