import { stackNameFor } from '@inferstack/config';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, docker, removeByLabel, type Project, freePort, until } from './_harness.js';

import { PROMETHEUS_IMAGE as PROMETHEUS } from '../../../test/support/prometheus-image.js';
const NODE_EXPORTER = 'inferstack-test/node-exporter:1.5';

describe('serve with a managed Prometheus (real Prometheus 2.42)', () => {
  let p: Project;
  let port: number;
  const names = () => ({ prom: `${p.prefix}-prometheus`, node: `${p.prefix}-node-exporter` });
  const prom = (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.json() as Promise<any>);
  const modelTargets = async () =>
    ((await prom('/api/v1/targets')).data.activeTargets as Array<{ labels: Record<string, string>; health: string; scrapePool: string }>).filter((t) => t.scrapePool === 'vllm');

  const models = (keys: string[]) =>
    [
      `network: ${p.network}`,
      'gateway: {mode: none}',
      'monitoring:',
      '  mode: managed',
      `  prometheus: {image: ${PROMETHEUS}, port: ${port}, container-name: ${names().prom}}`,
      `  node-exporter: {image: ${NODE_EXPORTER}, container-name: ${names().node}}`,
      '  grafana: {enabled: false}',
      'defaults:',
      `  image: ${STANDIN}`,
      '  pull: never',
      '  env: {STANDIN_LOAD_DELAY: "0"}',
      'models:',
      ...keys.flatMap((k) => [`  - ${p.prefix}-${k}:`, `      model: test/${k}`, '      gpus: none']),
    ].join('\n') + '\n';

  beforeAll(async () => {
    port = await freePort();
    p = createProject('monitoring', { PROMETHEUS_SCRAPE_INTERVAL: '1s' });
  });
  afterAll(async () => {
    await removeByLabel(p.labels, (name) => name === names().prom || name === names().node);
    await docker.getVolume(`${names().prom}-data`).remove().catch(() => {});
    await p.cleanup();
  });

  it('up starts Prometheus and node-exporter, and both models become targets that are up', async () => {
    p.writeModels(models(['a', 'b']));
    const r = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(r.stderr).toMatch(/prometheus\s+created/);
    expect(r.stderr).toMatch(/prometheus\s+2 target\(s\)/);
    expect(r.code).toBe(0);
    const up = await until(async () => {
      const t = await modelTargets();
      return t.length === 2 && t.every((x) => x.health === 'up') ? t : undefined;
    });
    expect(up.map((t) => t.labels.model).sort()).toEqual([`${p.prefix}-a`, `${p.prefix}-b`]);
    expect(up[0]?.labels).toMatchObject({ gpus: 'none', host: 'local' });
    // The targets file is readable by Prometheus and holds no secret.
    const file = join(p.dir, 'prometheus', 'targets', `inferstack-${stackNameFor(p.dir)}.json`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readFileSync(file, 'utf8')).not.toContain('hf_testtoken');
  });

  it('vLLM metrics of the stand-ins are queryable, and status shows scrape health and load', async () => {
    const series = await until(async () => {
      const q = await prom(`/api/v1/query?query=${encodeURIComponent('vllm:num_requests_running')}`);
      return q.data.result.length === 2 ? q.data.result : undefined;
    });
    expect(series.map((s: { metric: Record<string, string> }) => s.metric.model).sort()).toEqual([`${p.prefix}-a`, `${p.prefix}-b`]);
    const node = await until(async () => {
      const q = await prom(`/api/v1/query?query=${encodeURIComponent('node_memory_MemTotal_bytes')}`);
      return q.data.result.length > 0 ? q.data.result : undefined;
    });
    expect(node.length).toBeGreaterThan(0);
    const status = JSON.parse((await p.serve(['status', '--json'])).stdout);
    for (const m of status.models.filter((x: { model: string }) => x.model.startsWith(p.prefix))) {
      expect(m.scrape).toMatchObject({ health: 'up' });
      expect(m.load).toMatchObject({ running: 0, waiting: 0 });
      expect(typeof m.load.kvCacheUsage).toBe('number');
    }
  });

  it('down of one model removes it from the targets; a second up keeps Prometheus as it is', async () => {
    expect((await p.serve(['down', `${p.prefix}-a`], { timeoutMs: 120_000 })).code).toBe(0);
    const left = await until(async () => {
      const t = await modelTargets();
      return t.length === 1 ? t : undefined;
    });
    expect(left[0]?.labels.model).toBe(`${p.prefix}-b`);
    const before = (await docker.getContainer(names().prom).inspect()).State.StartedAt;
    p.writeModels(models(['b']));
    const r = await p.serve(['up']);
    expect(r.code).toBe(0);
    expect((await docker.getContainer(names().prom).inspect()).State.StartedAt).toBe(before);
  });

  it('a Prometheus that is down is reported with exit 1, and the models stay up; sync repairs once it is back', async () => {
    await docker.getContainer(names().prom).stop({ t: 1 });
    const r = await p.serve(['sync'], { timeoutMs: 120_000, env: { INFERSTACK_PROMETHEUS_CONFIRM_MS: '3000' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/prometheus sync failed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await docker.listContainers({ filters: { name: [`inference-${p.prefix}-b`] } }))[0]?.State).toBe('running');
    const up = await p.serve(['up'], { timeoutMs: 120_000 });
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/prometheus\s+started/);
  });

  it('down --all removes Prometheus and the exporter, and --volumes its data', async () => {
    const r = await p.serve(['down', '--all', '--volumes']);
    expect(r.code).toBe(0);
    const left = await docker.listContainers({ all: true, filters: { label: [p.labels] } });
    expect(left.filter((c) => c.Names.some((n) => n.includes(p.prefix)))).toEqual([]);
    await expect(docker.getVolume(`${names().prom}-data`).inspect()).rejects.toThrow();
  });
});
