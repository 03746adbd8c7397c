import { PassThrough } from 'node:stream';
import type { ServicePlan } from '@inferstack/stack';
import { describe, expect, it } from 'vitest';
import { Output } from '../output.js';
import { printServicePlan } from './plan.js';

function printed(services: ServicePlan[], hosts = false): string[] {
  let text = '';
  const out = new PassThrough();
  out.on('data', (d) => (text += d));
  const output = new Output({ out, err: new PassThrough() }, { color: false, debug: false });
  printServicePlan(output, services, { cwd: '/p', hosts });
  return text.split('\n').map((l) => l.trimEnd());
}

describe('the services part of a plan', () => {
  it('says per service what up does and why, with the files it writes relative to the project', () => {
    const lines = printed([
      { service: 'gateway', container: 'litellm', action: 'recreate', changed: ['image', 'ports'] },
      { service: 'prometheus', container: 'prometheus', action: 'reload', files: ['/p/.inferstack/prometheus/prometheus.yml'] },
      { service: 'grafana', container: 'grafana', action: 'keep', files: ['/p/.inferstack/grafana/provisioning/dashboards/inferstack.yaml'] },
      { service: 'watcher', container: 'w', action: 'recreate', changed: [] },
      { service: 'node-exporter', container: 'node-exporter', action: 'conflict', owner: 'other' },
      { service: 'gateway-db', container: 'litellm-db', action: 'start' },
    ]);
    expect(lines).toEqual([
      '',
      '   SERVICE        CONTAINER      ACTION    WHY',
      '↻  gateway        litellm        recreate  changed: image, ports → recreate',
      '↺  prometheus     prometheus     reload    running, unchanged; .inferstack/prometheus/prometheus.yml changed → reload (no restart)',
      '=  grafana        grafana        keep      running, unchanged, writes .inferstack/grafana/provisioning/dashboards/inferstack.yaml',
      '↻  watcher        w              recreate  changed (which fields: not recorded on this container) → recreate',
      '!  node-exporter  node-exporter  conflict  a container of that name belongs to stack "other" → left alone; up fails for this service',
      '▶  gateway-db     litellm-db     start     stopped, unchanged → start',
      '',
      '2 recreate, 1 reload, 1 keep, 1 conflict, 1 start',
      '',
    ]);
  });

  it('has a HOST column with several hosts, and says when a create depends on the GPUs up finds there', () => {
    const lines = printed(
      [
        { service: 'node-exporter', container: 'ne', action: 'keep' },
        { service: 'dcgm-exporter', container: 'dcgm', host: 'b', action: 'create', ifGpus: true },
      ],
      true,
    );
    expect(lines.slice(1, 4)).toEqual([
      '   SERVICE        HOST   CONTAINER  ACTION  WHY',
      '=  node-exporter  local  ne         keep    running, unchanged',
      '+  dcgm-exporter  b      dcgm       create  not running → create (if up finds NVIDIA GPUs on host b)',
    ]);
  });

  it('prints nothing without services (no gateway, no monitoring)', () => {
    expect(printed([])).toEqual(['']);
  });
});
