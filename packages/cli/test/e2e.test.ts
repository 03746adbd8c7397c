import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, containersOf, createProject, docker, type Project, freePort, until } from './_harness.js';

const LITELLM = 'inferstack-test/litellm:1.108.14';
import { PROMETHEUS_IMAGE as PROMETHEUS } from '../../../test/support/prometheus-image.js';
const NODE_EXPORTER = 'inferstack-test/node-exporter:1.5';
const MASTER_KEY = 'sk-e2e-8f1c2a9d4b7e6a5c3d2e1f0a';

/** The whole stack from nothing: gateway, Prometheus, exporter, two models; then a change; then down --all. */
describe('end to end: the whole stack in one command', () => {
  let p: Project;
  let gwPort: number;
  let promPort: number;
  const names = () => ({ gw: `${p.prefix}-litellm`, prom: `${p.prefix}-prometheus`, node: `${p.prefix}-node-exporter` });
  const config = (chatLen: number) =>
    [
      `network: ${p.network}`,
      `gateway: {image: ${LITELLM}, container-name: ${names().gw}, port: ${gwPort}}`,
      'monitoring:',
      `  prometheus: {image: ${PROMETHEUS}, container-name: ${names().prom}, port: ${promPort}}`,
      `  node-exporter: {image: ${NODE_EXPORTER}, container-name: ${names().node}}`,
      '  grafana: {enabled: false}',
      'defaults:',
      `  image: ${STANDIN}`,
      '  pull: never',
      '  env: {STANDIN_LOAD_DELAY: "1"}',
      'models:',
      `  - ${p.prefix}-chat:`,
      '      model: demo/chat',
      '      gpus: none',
      `      max-model-len: ${chatLen}`,
      `  - ${p.prefix}-code:`,
      '      model: demo/code',
      '      gpus: none',
    ].join('\n') + '\n';
  const chat = async (model: string) => {
    const r = await fetch(`http://127.0.0.1:${gwPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, text: await r.text() };
  };
  const vllmTargets = async () => {
    const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`, { signal: AbortSignal.timeout(5000) })).json()) as {
      data: { activeTargets: Array<{ scrapePool: string; health: string; labels: Record<string, string> }> };
    };
    return r.data.activeTargets.filter((t) => t.scrapePool === 'vllm');
  };

  beforeAll(async () => {
    gwPort = await freePort();
    promPort = await freePort();
    p = createProject('e2e', { LITELLM_MASTER_KEY: MASTER_KEY, PROMETHEUS_SCRAPE_INTERVAL: '1s' });
  });
  afterAll(async () => {
    await p.serve(['down', '--all', '--volumes']).catch(() => {});
    await p.cleanup();
  });

  it('serve up brings up gateway, Prometheus, exporter and the models, and a chat completion goes through the gateway', async () => {
    p.writeModels(config(4096));
    const r = await p.serve(['up'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/gateway\s+\S+ created/);
    expect(r.stderr).toMatch(/prometheus\s+created/);
    expect(r.stderr).toMatch(/2 model\(s\) routed/);
    const res = await chat('demo/chat');
    expect(res.status).toBe(200);
    expect(res.text).toContain('demo/chat');
    const targets = await until(async () => {
      const t = await vllmTargets();
      return t.length === 2 && t.every((x) => x.health === 'up') ? t : undefined;
    });
    expect(targets.map((t) => t.labels.model).sort()).toEqual([`${p.prefix}-chat`, `${p.prefix}-code`]);
    const status = JSON.parse((await p.serve(['status', '--json'])).stdout) as { services: Array<{ service: string; state: string; url: string | null }> };
    expect(status.services.map((s) => [s.service, s.state])).toEqual([
      ['gateway', 'running'],
      ['prometheus', 'running'],
      ['node-exporter', 'running'],
    ]);
    expect(status.services[0]?.url).toBe(`http://127.0.0.1:${gwPort}`);
  });

  it('a config change to one model recreates only it and re-registers it', async () => {
    const before = new Map([...(await containersOf(p))].map(([k, c]) => [k, c.Id]));
    const infraBefore = await Promise.all([names().gw, names().prom].map(async (n) => (await docker.getContainer(n).inspect()).Id));
    p.writeModels(config(8192));
    const r = await p.serve(['up'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const after = new Map([...(await containersOf(p))].map(([k, c]) => [k, c.Id]));
    expect(after.get(`${p.prefix}-code`)).toBe(before.get(`${p.prefix}-code`));
    expect(after.get(`${p.prefix}-chat`)).not.toBe(before.get(`${p.prefix}-chat`));
    expect(await Promise.all([names().gw, names().prom].map(async (n) => (await docker.getContainer(n).inspect()).Id))).toEqual(infraBefore);
    expect((await chat('demo/chat')).status).toBe(200);
    await until(async () => ((await vllmTargets()).filter((t) => t.health === 'up').length === 2 ? true : undefined));
  });

  it('serve down --all leaves no container of ours', async () => {
    const r = await p.serve(['down', '--all', '--volumes'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const left = await docker.listContainers({ all: true, filters: { label: [p.labels] } });
    expect(left.filter((c) => c.Names.some((n) => n.includes(p.prefix))).map((c) => c.Names[0])).toEqual([]);
    await expect(docker.getNetwork(p.network).inspect()).rejects.toThrow();
  });
});
