// Autoscaling against the real LiteLLM, the managed watcher container (serve's own bundle) and
// vLLM stand-ins limited to --max-num-seqs 2 (the rest wait in vLLM's queue): a burst of
// requests makes a queue, the watcher adds a replica that the gateway then routes to; once the
// burst is over and down-after has passed, the extra replica is unrouted, drained and removed.
// Clients that never retry lose no request the whole time. With weights that `up` pulled from the
// Hub stand-in, the replica the watcher adds starts offline (HF_HUB_OFFLINE=1) like the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker as dockerCli, sessionLabel } from '../../../test/support/docker.js';
import { pullerImage, startHubStandin, type HubStandin } from '../../../test/support/hf-hub.js';
import { STANDIN, createProject, docker, freePort, until, type Project } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const NODE = 'inferstack-test/node:20';
const MASTER_KEY = 'sk-test-master-autoscale-012345';

/**
 * A project with the managed gateway and watcher and one stand-in model `<prefix>-<name>` with
 * `--max-num-seqs 2` and 300 ms per request (its own lines of models.yaml added), brought up; the
 * watcher adds a replica after a queue of 1 s.
 */
async function scalingStack(name: string, lines: string[], options: { weights?: boolean } = {}): Promise<{ p: Project; port: number; hub?: HubStandin }> {
  const port = await freePort();
  const p = createProject(`autoscale-${name}`, { LITELLM_MASTER_KEY: MASTER_KEY, INFERSTACK_SCALE_UP_AFTER_MS: '1000', ...(options.weights ? { VLLM_IMAGE: pullerImage('2.4.0') } : {}) });
  let hub: HubStandin | undefined;
  if (options.weights) {
    // The stack's network, made here with the Hub on it (serve up would make it otherwise).
    await dockerCli(['network', 'create', '--label', sessionLabel(), p.network]);
    hub = await startHubStandin({ network: p.network, description: { repos: { [`test/${name}`]: { files: { 'config.json': '{}', 'model.safetensors': 2_000_000 } } } } });
  }
  p.writeModels(
    [
      `network: ${p.network}`,
      `gateway: {image: ${LITELLM}, container-name: ${p.prefix}-litellm, port: ${port}}`,
      'monitoring: {mode: none}',
      `watcher: {image: ${NODE}, container-name: ${p.prefix}-watcher}`,
      'models:',
      `  - ${p.prefix}-${name}:`,
      `      model: test/${name}`,
      `      image: ${STANDIN}`,
      `      pull: ${hub ? 'missing' : 'never'}`,
      '      gpus: none',
      `      served-model-name: served-${p.prefix}-${name}`,
      '      max-num-seqs: 2',
      ...lines.map((l) => `      ${l}`),
      `      env: {STANDIN_LOAD_DELAY: "1", STANDIN_RESPONSE_DELAY_MS: "300"${hub ? `, HF_ENDPOINT: "${hub.endpoint}"` : ''}}`,
    ].join('\n') + '\n',
  );
  const up = await p.serve(['up'], { timeoutMs: 240_000 });
  expect(up.code, up.stderr).toBe(0);
  return { p, port, ...(hub ? { hub } : {}) };
}

/** The environment a container was created with. */
const envOf = async (id: string) => ((await docker.getContainer(id).inspect()).Config.Env ?? []) as string[];

/** One chat through the gateway: its status, and the deployment LiteLLM chose. */
async function chat(port: number, model: string): Promise<{ status: number; ok: boolean; deployment?: string; error?: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await r.json()) as { choices?: unknown[] };
  const deployment = r.headers.get('x-litellm-model-id') ?? undefined;
  return { status: r.status, ok: r.status === 200 && Array.isArray(body.choices), ...(deployment ? { deployment } : {}), ...(r.status === 200 ? {} : { error: JSON.stringify(body) }) };
}

describe('autoscaling (real LiteLLM, managed watcher)', () => {
  let p: Project;
  let port: number;
  let hub: HubStandin | undefined;
  const key = () => `${p.prefix}-a`;
  const served = () => `served-${p.prefix}-a`;
  const runningReplicas = async () => docker.listContainers({ filters: { label: [p.labels, `inference.model=${key()}`], status: ['running'] } });
  const replicas = async () => (await runningReplicas()).map((c) => c.Labels['inferstack.replica']).sort();

  beforeAll(async () => {
    ({ p, port, hub } = await scalingStack('a', ['replicas: {min: 1, max: 2, down-after: 4s}'], { weights: true }));
  }, 300_000);
  afterAll(async () => {
    await p.serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
    if (hub) await dockerCli(['rm', '-f', '-v', hub.id], { allowFail: true });
    await dockerCli(['network', 'rm', p.network], { allowFail: true });
    await p.cleanup();
  });

  it('grows under a queue, gives the replica back after down-after, and no request fails', async () => {
    expect(await replicas()).toEqual(['0']);
    const results: Array<{ ok: boolean; deployment?: string; error?: string }> = [];
    let running = true;
    // Six clients against two slots: a queue forms on the first replica.
    const client = async () => {
      while (running) results.push(await chat(port, served()).catch((error: Error) => ({ status: 0, ok: false, error: String(error) })));
    };
    const clients = Array.from({ length: 6 }, client);
    await until(async () => ((await replicas()).length === 2 ? true : undefined), 90_000);
    // up pulled the weights and started replica 0 offline; the watcher starts replica 1 offline too.
    for (const c of await runningReplicas()) expect(await envOf(c.Id), `replica ${c.Labels['inferstack.replica']}`).toContain('HF_HUB_OFFLINE=1');
    // The new replica serves through the gateway.
    const before = results.length;
    await until(async () => (new Set(results.slice(before).map((r) => r.deployment)).size === 2 ? true : undefined), 60_000);
    running = false;
    await Promise.all(clients);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    // Calm: after down-after, back to one.
    await until(async () => ((await replicas()).length === 1 ? true : undefined), 90_000);
    expect(await replicas()).toEqual(['0']);
    expect((await chat(port, served())).status).toBe(200);
    // A later `up` keeps what runs and plans nothing.
    const plan = await p.serve(['plan', '--exit-code']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  }, 300_000);
});

describe('min: 0 with an idle policy (real LiteLLM, managed watcher)', () => {
  let p: Project;
  let port: number;
  const key = () => `${p.prefix}-z`;
  const served = () => `served-${p.prefix}-z`;
  const states = async () =>
    (await docker.listContainers({ all: true, filters: { label: [p.labels, `inference.model=${key()}`] } })).map((c) => `${c.Labels['inferstack.replica']}:${c.State}`).sort();
  beforeAll(async () => {
    ({ p, port } = await scalingStack('z', ['replicas: {min: 0, max: 2, down-after: 3s}', 'idle: {after: 6s, then: stop}']));
  }, 300_000);
  afterAll(async () => {
    await p.serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
    await p.cleanup();
  });

  it('grows under a burst, shrinks to one, the idle policy stops the last, and a request starts it again', async () => {
    let running = true;
    const failed: number[] = [];
    const client = async () => {
      while (running) {
        const { status } = await chat(port, served()).catch(() => ({ status: 0 }));
        if (status !== 200) failed.push(status);
      }
    };
    const clients = Array.from({ length: 6 }, client);
    await until(async () => ((await states()).join() === '0:running,1:running' ? true : undefined), 90_000);
    running = false;
    await Promise.all(clients);
    expect(failed).toEqual([]);
    // down-after, then the idle policy: the first replica is stopped for being idle.
    await until(async () => ((await states()).join() === '0:exited' ? true : undefined), 120_000).catch(async (error: Error) => {
      // What the replicas and the watcher were doing, for whoever reads the failure.
      const watcher = (await docker.listContainers({ all: true, filters: { label: [p.labels] } })).find((c) => c.Names[0]?.includes('watcher'));
      const log = watcher ? (await docker.getContainer(watcher.Id).logs({ stdout: true, stderr: true, tail: 40 })).toString() : 'no watcher';
      throw new Error(`${error.message}; replicas ${(await states()).join()}; the watcher's last lines:\n${log}`);
    });
    // A request through the gateway starts it again.
    expect((await chat(port, served())).status).toBe(200);
    expect(await states()).toEqual(['0:running']);
  }, 300_000);
});
