// Placement of `gpus: auto` replicas over two real Docker daemons: daemon A (the default host),
// whose GPUs serve reads with a stand-in `nvidia-smi` first on its PATH, and host b
// (scripts/ensure-docker-b.sh), which Docker gives two GPUs through the stand-in NVIDIA hook
// (test/support/nvidia-standin): serve reads them with its probe container there and starts
// replicas on them. Both print nvidia-smi rows captured on an H200
// (packages/docker-ops/test-fixtures/nvidia-smi). The gateway is the real LiteLLM on A.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerB, dockerOnB, removeSessionResourcesOnB, type DockerB } from '../../../test/support/docker-b.js';
import { STANDIN, createProject, freePort, removeByLabel, sessionId, type Project } from './_harness.js';

const FIXTURES = new URL('../../docker-ops/test-fixtures/nvidia-smi/', import.meta.url);
const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const MASTER_KEY = 'sk-test-master-placement-0123456789';
const B_KEY = 'sk-vllm-key-placement-0123456789';

interface PlanRow {
  model: string;
  host: string;
  action: string;
  replica?: number;
  gpus?: number[];
  placement?: string;
  reason?: string;
}

describe('gpus: auto replicas placed over two hosts (daemon A and host b, captured nvidia-smi, real LiteLLM)', () => {
  let b: DockerB;
  let p: Project;
  let bin: string;
  let gatewayPort: number;
  const env = () => ({ PATH: `${bin}:${process.env.PATH}` });
  const key = () => `${p.prefix}-big`;
  const served = () => `served-${p.prefix}-big`;
  const gateway = () => `${p.prefix}-litellm`;

  /** Daemon A's GPUs as this machine's nvidia-smi prints them: two H200s, idle or busy (~29 GiB held). */
  const localGpus = (state: 'idle' | 'busy') => {
    const [header, row] = readFileSync(new URL(`query-gpu-${state}.csv`, FIXTURES), 'utf8').trim().split('\n');
    writeFileSync(join(bin, 'gpus.csv'), [header, row, row!.replace(/^0,/, '1,')].join('\n') + '\n');
  };
  const models = (replicas: number, host = 'any', endpoint = b.unix.host) =>
    [
      `network: ${p.network}`,
      'hosts:',
      '  b:',
      `    endpoint: ${endpoint}`,
      `    address: ${b.bridgeAddress}`,
      `gateway: {image: ${LITELLM}, container-name: ${gateway()}, port: ${gatewayPort}}`,
      'monitoring: {mode: none}',
      'models:',
      `  - ${key()}:`,
      '      model: test/big',
      `      image: ${STANDIN}`,
      '      pull: never',
      `      served-model-name: ${served()}`,
      '      gpus: auto',
      `      host: ${host}`,
      `      replicas: ${replicas}`,
      '      api-key: "${B_VLLM_KEY}"',
      '      env: {STANDIN_LOAD_DELAY: "1"}',
    ].join('\n') + '\n';
  const plan = async () => {
    const r = await p.serve(['plan', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    // By replica (the plan lists each host's changes together), then host.
    return (JSON.parse(r.stdout) as { plan: PlanRow[] }).plan
      .filter((c) => c.model === key())
      .sort((x, y) => (x.replica ?? 0) - (y.replica ?? 0) || x.host.localeCompare(y.host));
  };
  const chat = () =>
    fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: served(), messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      signal: AbortSignal.timeout(30_000),
    }).then((r) => r.status);

  beforeAll(async () => {
    b = await dockerB();
    bin = mkdtempSync(join(tmpdir(), 'inferstack-nvidia-smi-'));
    writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\ncat "${join(bin, 'gpus.csv')}"\n`);
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
    gatewayPort = await freePort();
    p = createProject('placement-hosts', { LITELLM_MASTER_KEY: MASTER_KEY, B_VLLM_KEY: B_KEY });
  }, 60_000);

  afterAll(async () => {
    if (p) {
      await p.serve(['down', '--all', '--drain-timeout', '0'], { env: env(), timeoutMs: 120_000 }).catch(() => {});
      await removeByLabel(p.labels, (name) => name === gateway());
      await p.cleanup();
    }
    if (b) await removeSessionResourcesOnB(sessionId());
    if (bin) rmSync(bin, { recursive: true, force: true });
  }, 180_000);

  it('plan spreads the replicas over both hosts, each on a GPU with room, and says why', async () => {
    localGpus('idle');
    p.writeModels(models(3));
    const rows = await plan();
    expect(rows.map((r) => [r.replica ?? 0, r.host, r.action, r.gpus])).toEqual([
      [0, 'local', 'create', [0]],
      [1, 'b', 'create', [0]],
      [2, 'local', 'create', [1]],
    ]);
    expect(rows[1]?.placement).toMatch(/^GPU 0 of b: the most free memory .*; the first replica of .* on b$/);
    const text = await p.serve(['plan'], { env: env() });
    expect(text.stdout).toMatch(new RegExp(`${key()}#1 +b +create +0 `));
    // The probe container serve ran on b to read its GPUs is gone.
    const probes = await dockerOnB(['ps', '-a', '--filter', `label=${p.labels}`, '--filter', 'label=inferstack.kind=gpu-probe', '-q']);
    expect(probes.stdout.trim()).toBe('');
  });

  it('up starts the replicas where they fit (host b, A\'s GPUs are full), the gateway routes to both, and a second up keeps them there', async () => {
    localGpus('busy');
    p.writeModels(models(2));
    const rows = await plan();
    expect(rows.map((r) => [r.replica ?? 0, r.host, r.gpus])).toEqual([
      [0, 'b', [0]],
      [1, 'b', [1]],
    ]);
    const up = await p.serve(['up'], { env: env(), timeoutMs: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    for (const [name, gpu] of [[`inference-${key()}`, '0'], [`inference-${key()}-r1`, '1']] as const) {
      const info = JSON.parse((await dockerOnB(['inspect', name])).stdout)[0];
      expect(info.State.Running, name).toBe(true);
      expect(info.HostConfig.DeviceRequests).toEqual([expect.objectContaining({ Driver: 'nvidia', DeviceIDs: [gpu] })]);
      expect(info.Config.Labels['inferstack.gpus']).toBe(gpu);
    }
    for (let i = 0; i < 4; i++) expect(await chat()).toBe(200);
    const status = JSON.parse((await p.serve(['status', '--json'], { env: env() })).stdout) as { models: Array<{ model: string; host: string; replica?: number; state: string; routed: boolean; gpus: string }> };
    expect(status.models.filter((m) => m.model === key()).map((m) => [m.replica, m.host, m.state, m.routed, m.gpus])).toEqual([
      [0, 'b', 'running', true, '0'],
      [1, 'b', 'running', true, '1'],
    ]);
    // A's GPUs free up: the replicas that serve on b stay where they run.
    localGpus('idle');
    const again = await plan();
    expect(again.map((r) => [r.replica ?? 0, r.host, r.action])).toEqual([
      [0, 'b', 'keep'],
      [1, 'b', 'keep'],
    ]);
    const noop = await p.serve(['up'], { env: env(), timeoutMs: 120_000 });
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.stderr).toMatch(/nothing to do/);
  });

  it('a third replica goes to the host with none (A); a host list without b moves b\'s replicas to A', async () => {
    p.writeModels(models(3));
    const grown = await plan();
    expect(grown.map((r) => [r.replica ?? 0, r.host, r.action, r.gpus ?? null])).toEqual([
      [0, 'b', 'keep', null],
      [1, 'b', 'keep', null],
      [2, 'local', 'create', [0]],
    ]);
    p.writeModels(models(2, '[local]'));
    const moved = await plan();
    expect(moved.map((r) => [r.replica ?? 0, r.host, r.action, r.reason ?? null])).toEqual([
      [0, 'b', 'remove', 'other-host'],
      [0, 'local', 'create', null],
      [1, 'b', 'remove', 'other-host'],
      [1, 'local', 'create', null],
    ]);
    expect(moved.find((r) => r.host === 'local' && (r.replica ?? 0) === 0)?.placement).toMatch(/moves from GPU 0 of b \(b is no longer one of its hosts\)/);
  });

  it('while host b cannot be reached, its replicas are not placed elsewhere: the plan warns and changes nothing on A', async () => {
    p.writeModels(models(2, 'any', `unix://${join(bin, 'no-daemon.sock')}`));
    const r = await p.serve(['plan', '--json'], { env: env() });
    const json = JSON.parse(r.stdout) as { plan: PlanRow[]; hosts: Array<{ host: string; ok: boolean }>; warnings?: string[] };
    expect(json.hosts).toEqual([expect.objectContaining({ host: 'local', ok: true }), expect.objectContaining({ host: 'b', ok: false })]);
    expect(json.plan.filter((c) => c.model === key())).toEqual([]);
    expect(json.warnings?.join('\n')).toMatch(/big may run on b, which could not be reached: placed once it can be/);
  });
});
