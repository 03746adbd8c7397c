// Idle models sleep and wake on the first request, against the real LiteLLM (its wake hook
// loaded from the config directory), the managed watcher container running serve's own bundle,
// and vLLM stand-ins in sleep mode (which die on a request while asleep, as vLLM 0.11-0.13 does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, docker, execIn, freePort, until, type Project } from './_harness.js';
import { listDashboardQueries } from '@inferstack/prometheus-sync';
import { PROMETHEUS_IMAGE } from '../../../test/support/prometheus-image.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const NODE = 'inferstack-test/node:20';
const MASTER_KEY = 'sk-test-master-idle-0123456789';

interface StatusRow {
  model: string;
  state: string;
  routed: boolean | null;
  idle: { state: string; lastRequestAt: string | null } | null;
}

describe('idle models sleep and wake (real LiteLLM, managed watcher)', () => {
  let p: Project;
  let port: number;
  let promPort: number;
  const key = (k: string) => `${p.prefix}-${k}`;
  const served = (k: string) => `served-${p.prefix}-${k}`;
  const container = (k: string) => `inference-${key(k)}`;

  const chat = async (model: string, timeoutMs = 60_000) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: r.status, body: await r.text() };
  };
  const status = async (): Promise<StatusRow[]> => {
    const r = await p.serve(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { models: StatusRow[] }).models;
  };
  const row = async (k: string) => (await status()).find((r) => r.model === key(k))!;
  const idleState = async (k: string) => (await row(k)).idle?.state;
  const logsOf = async (name: string) => {
    // Docker multiplexes stdout and stderr in frames: an 8-byte header (stream, size) each.
    const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, timestamps: true })) as unknown as Buffer;
    let text = '';
    for (let i = 0; i + 8 <= buf.length; ) {
      const size = buf.readUInt32BE(i + 4);
      text += buf.subarray(i + 8, i + 8 + size).toString('utf8');
      i += 8 + size;
    }
    return text;
  };
  const watcher = () => `${p.prefix}-watcher`;
  // The watcher answers only with the stack's token (its container has it in its environment).
  const watcherMetrics = async () =>
    execIn(watcher(), ['node', '-e', "fetch('http://127.0.0.1:8787/metrics',{headers:{authorization:'Bearer '+process.env.INFERSTACK_WATCHER_TOKEN}}).then(r=>r.text()).then(t=>process.stdout.write(t))"]);

  beforeAll(async () => {
    port = await freePort();
    promPort = await freePort();
    p = createProject('idle', { LITELLM_MASTER_KEY: MASTER_KEY, PROMETHEUS_SCRAPE_INTERVAL: '1s' });
    const model = (k: string, extra: string[]) => [`  - ${key(k)}:`, `      model: test/${k}`, '      gpus: none', `      served-model-name: ${served(k)}`, ...extra.map((l) => `      ${l}`)];
    p.writeModels(
      [
        `network: ${p.network}`,
        `gateway: {image: ${LITELLM}, container-name: ${p.prefix}-litellm, port: ${port}}`,
        `monitoring: {prometheus: {image: ${PROMETHEUS_IMAGE}, container-name: ${p.prefix}-prometheus, port: ${promPort}}, node-exporter: {enabled: false}, grafana: {enabled: false}}`,
        `watcher: {image: ${NODE}, container-name: ${watcher()}}`,
        `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "1", STANDIN_WAKE_DELAY_MS: "300", STANDIN_SLEEP_DELAY_MS: "100"}}`,
        'models:',
        ...model('sleepy', ['idle: {after: 4s}']),
        ...model('stopper', ['idle: {after: 4s, then: stop}']),
        // Loads for a while after a crash: long enough for the watcher to see it gone.
        ...model('always', ['env: {STANDIN_LOAD_DELAY: "6"}']),
        ...model('s1', ['swap-group: pair']),
        ...model('s2', ['swap-group: pair']),
      ].join('\n') + '\n',
    );
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await p.serve(['down', '--all', '--volumes', '--drain-timeout', '0']).catch(() => {});
    await p.cleanup();
  });

  it('runs the watcher as a container of the stack, and never publishes the sleep-mode routes', async () => {
    const info = await docker.getContainer(watcher()).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels['inferstack.stack']).toBeTruthy();
    for (const k of ['sleepy', 's1']) {
      const m = await docker.getContainer(container(k)).inspect();
      expect(m.Config.Env).toContain('VLLM_SERVER_DEV_MODE=1');
      expect(m.Config.Cmd).toContain('--enable-sleep-mode');
      // No port of the model is published on the host: /sleep and /wake_up stay in the network.
      expect(Object.values(m.NetworkSettings.Ports ?? {}).flat().filter(Boolean)).toEqual([]);
    }
    // Nor does the gateway pass them on.
    const r = await fetch(`http://127.0.0.1:${port}/sleep?level=1`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(r.status).not.toBe(200);
    expect(['awake', 'asleep']).toContain(await idleState('sleepy'));
  });

  it('puts an idle model to sleep, and a chat through the gateway wakes it and succeeds', async () => {
    await until(async () => ((await idleState('sleepy')) === 'asleep' ? true : undefined), 40_000);
    expect((await row('sleepy')).routed).toBe(true);
    // The model that is always on stays awake and serving.
    expect((await chat(served('always'))).status).toBe(200);
    const started = Date.now();
    const r = await chat(served('sleepy'));
    expect(r.status, r.body).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const after = await row('sleepy');
    expect(after.idle?.state).toBe('awake');
    expect(after.idle?.lastRequestAt).not.toBeNull();
    expect(await logsOf(container('sleepy'))).toMatch(/It took [\d.]+ seconds to wake up/);
  }, 90_000);

  it('wakes once for 20 concurrent first requests, and all of them succeed', async () => {
    await until(async () => ((await idleState('sleepy')) === 'asleep' ? true : undefined), 40_000);
    const wakesBefore = ((await logsOf(container('sleepy'))).match(/seconds to wake up/g) ?? []).length;
    const results = await Promise.all(Array.from({ length: 20 }, () => chat(served('sleepy'))));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const wakesAfter = ((await logsOf(container('sleepy'))).match(/seconds to wake up/g) ?? []).length;
    expect(wakesAfter - wakesBefore).toBe(1);
    // The stand-in's engine would have died on a request while asleep: it is still the same process.
    expect((await docker.getContainer(container('sleepy')).inspect()).RestartCount).toBe(0);
  }, 90_000);

  it('stops an idle model with then: stop, keeps its route, and a request starts it', async () => {
    await until(async () => ((await idleState('stopper')) === 'stopped-idle' ? true : undefined), 40_000);
    const stopped = await row('stopper');
    expect(stopped.state).toBe('exited');
    expect(stopped.routed).toBe(true);
    const r = await chat(served('stopper'));
    expect(r.status, r.body).toBe(200);
    expect((await row('stopper')).state).toBe('running');
    // Its route survived the cycle: the gateway still lists it, and a second request goes straight through.
    expect((await row('stopper')).routed).toBe(true);
    expect((await chat(served('stopper'))).status).toBe(200);
  }, 90_000);

  it('wakes a member of a swap group only after the others slept', async () => {
    expect((await chat(served('s1'))).status).toBe(200);
    await until(async () => ((await idleState('s2')) === 'asleep' ? true : undefined), 20_000);
    expect(await idleState('s1')).toBe('awake');
    const r = await chat(served('s2'));
    expect(r.status, r.body).toBe(200);
    expect(await idleState('s1')).toBe('asleep');
    expect(await idleState('s2')).toBe('awake');
    // Order, from the two models' own logs: s1 fell asleep before s2 was woken.
    const time = (text: string, pattern: RegExp) => {
      const lines = text.split('\n').filter((l) => pattern.test(l));
      const stamp = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/.exec(lines.at(-1)!)![0];
      return Date.parse(`${stamp}Z`);
    };
    const slept = time(await logsOf(container('s1')), /seconds to fall asleep/);
    const woke = time(await logsOf(container('s2')), /wake up the engine/);
    expect(slept).toBeLessThanOrEqual(woke);
  }, 90_000);

  it('shows wake latency and phases in the watcher metrics, and Prometheus has them with the sleep states', async () => {
    const text = await watcherMetrics();
    expect(text).toMatch(new RegExp(`inferstack_wake_duration_seconds_count\\{model="${served('sleepy')}",from="asleep"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`inferstack_model_phase\\{model="${served('s1')}",phase="(awake|asleep)"\\} 1`));
    const query = async (q: string) => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await r.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
    };
    const wakes = await until(async () => {
      const r = await query(`inferstack_wake_duration_seconds_count{model="${served('sleepy')}"}`);
      return r.length > 0 ? r : undefined;
    }, 30_000);
    expect(Number(wakes[0]!.value[1])).toBeGreaterThan(0);
    // The sleep state the dashboard plots, for the swap-group member that sleeps now.
    const states = await until(async () => {
      const r = await query(`vllm:engine_sleep_state{model_name="${served('s1')}"} == 1`);
      return r.length > 0 ? r : undefined;
    }, 30_000);
    expect(['awake', 'weights_offloaded']).toContain(states[0]!.metric.sleep_state);
    // Every query of the dashboards' sleep-and-wake panels returns series.
    const panels = (await listDashboardQueries()).filter((q) => /inferstack_|engine_sleep_state/.test(q.query));
    expect(panels.length).toBeGreaterThanOrEqual(4);
    for (const q of panels) expect((await query(q.query)).length, `${q.panelTitle}: ${q.query}`).toBeGreaterThan(0);
  }, 60_000);

  it('converges after the watcher is killed at any point: routes, sleep states and wakes', async () => {
    for (let round = 0; round < 3; round++) {
      // Kill it while it is busy: during a wake (round 0), idle (1), right after start (2).
      const wake = round === 0 ? chat(served('sleepy')).catch(() => ({ status: 0, body: '' })) : undefined;
      await new Promise((r) => setTimeout(r, round === 0 ? 150 : 50));
      await docker.getContainer(watcher()).kill();
      await wake;
      await docker.getContainer(watcher()).start();
      await until(async () => ((await docker.getContainer(watcher()).inspect()).State.Health?.Status === 'healthy' ? true : undefined), 60_000);
      // A chat to every model succeeds after the restart (woken or started where needed).
      for (const k of ['sleepy', 'stopper', 'always', 's1']) {
        const r = await chat(served(k));
        expect(r.status, `${k}: ${r.body}`).toBe(200);
      }
      const rows = await status();
      for (const r of rows) expect(r.routed, r.model).toBe(true);
    }
  }, 240_000);

  it('unroutes a model that crashed and routes it again once it serves', async () => {
    // The watcher has synced once since it (last) started: it reports changes from there on.
    await until(async () => (/model\(s\) routed/.test((await logsOf(watcher())).split('watching;').at(-1)!) ? true : undefined), 30_000);
    // Its process ends (SIGTERM to the server, as vLLM exits when its engine dies); Docker starts
    // it again (restart policy) and it loads for 6 s: not routed meanwhile.
    await execIn(container('always'), ['sh', '-c', 'kill 1']);
    await until(async () => ((await row('always')).routed === false ? true : undefined), 30_000);
    await until(async () => ((await row('always')).routed === true ? true : undefined), 60_000);
    expect((await chat(served('always'))).status).toBe(200);
    // Reported once Prometheus follows too (it confirms the target after its first scrape).
    const logs = await until(async () => {
      const text = await logsOf(watcher());
      return new RegExp(`${key('always')} +serves again: routed`).test(text) ? text : undefined;
    }, 30_000);
    expect(logs).toMatch(new RegExp(`${key('always')} +stopped serving: unrouted`));
  }, 120_000);

});
