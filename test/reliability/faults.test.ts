import { stackNameFor } from '../../packages/config/src/index.js';
// Fault injection against the built `serve` bin and the real daemon: the CLI killed (SIGKILL) at
// random points of `up`, Ctrl-C while models load, two runs at once, a gateway that is down, slow
// or failing, Prometheus down or its targets path unwritable, a model that crash-loops or hangs,
// containers removed or stopped behind our back, and no daemon at all. Every fault ends with a
// `serve up` that must converge: one running container per model, in sync with the config, with
// its restart policy, and gateway entries exactly for the models that are up.
//
// The SIGKILL runs are seeded: INFERSTACK_FAULT_SEED=<n> replays a run, INFERSTACK_FAULT_RUNS=<n>
// (default 8; 20 or more for the full run) and INFERSTACK_FAULT_GATEWAY_RUNS=<n> (default 2) set
// how many.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { waitForHttp } from '../support/docker.js';
import { freePort } from '../../packages/cli/test/_harness.js';
import { renderLitellmConfig } from '../../packages/litellm-sync/src/index.js';
import {
  FakeGateway,
  LITELLM_IMAGE,
  MASTER_KEY,
  createProject,
  docker,
  lockHolder,
  modelsYaml,
  observe,
  seededRandom,
  serve,
  snapshotBin,
  startServe,
  until,
  type ModelDef,
  type Project,
  type RunResult,
} from './_faults-support.js';

const RUNS = Number(process.env.INFERSTACK_FAULT_RUNS ?? 8);
const GATEWAY_RUNS = Number(process.env.INFERSTACK_FAULT_GATEWAY_RUNS ?? 2);
const SEED = Number(process.env.INFERSTACK_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

let bin: string;
let removeBin: () => void;
const projects: Project[] = [];

beforeAll(async () => {
  ({ bin, remove: removeBin } = await snapshotBin());
  console.log(`faults: seed ${SEED}, ${RUNS} SIGKILL runs, ${GATEWAY_RUNS} with a managed gateway (replay: INFERSTACK_FAULT_SEED=${SEED} INFERSTACK_FAULT_RUNS=${RUNS} INFERSTACK_FAULT_GATEWAY_RUNS=${GATEWAY_RUNS})`);
});
afterAll(async () => {
  for (const p of projects) await p.cleanup();
  removeBin?.();
});

function project(name: string, env: Record<string, string> = {}): Project {
  const p = createProject(`faults-${name}`, env);
  projects.push(p);
  return p;
}

const keysOf = (p: Project, names: string[]) => names.map((n) => `${p.prefix}-${n}`);
const up = (p: Project, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => serve(bin, p, ['up', ...extra], env);
const noStack = (r: RunResult) => expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
const explain = (r: RunResult) => `exit ${r.code} after ${r.ms} ms\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout}`;

/**
 * The project's models are exactly `names`, one container each, running, made ready (restart
 * policy unless-stopped, which `up` sets only once a model served) and in sync with the config
 * (`serve plan` has nothing to do). Returns the container ids by name.
 */
async function expectConverged(p: Project, names: string[]): Promise<Map<string, string>> {
  const seen = await observe(p);
  const summary = seen.map((c) => `${c.key}:${c.state}/${c.health}/${c.restartPolicy}/restarts=${c.restartCount}`).join(' ');
  expect(seen.map((c) => c.key), summary).toEqual(keysOf(p, [...names].sort()));
  for (const c of seen) {
    expect(c.state, summary).toBe('running');
    expect(c.restartPolicy, `${c.key} was never seen ready: ${summary}`).toBe('unless-stopped');
  }
  const plan = await serve(bin, p, ['plan', '--json']);
  expect(plan.code, explain(plan)).toBe(0);
  expect(JSON.parse(plan.stdout), plan.stdout).toMatchObject({ changes: false });
  return new Map(seen.map((c) => [c.key.slice(p.prefix.length + 1), c.id]));
}

/** `serve status --json` rows by model name. */
async function statusRows(p: Project): Promise<Map<string, { state: string; health: string; sync: string; routed: boolean | null }>> {
  const r = await serve(bin, p, ['status', '--json']);
  expect(r.code, explain(r)).toBe(0);
  const rows = JSON.parse(r.stdout).models as Array<{ model: string; state: string; health: string; sync: string; routed: boolean | null }>;
  return new Map(rows.filter((x) => x.model.startsWith(`${p.prefix}-`)).map((x) => [x.model.slice(p.prefix.length + 1), x]));
}

// ---------------------------------------------------------------------------------------------

type PreState = 'same' | 'changed' | 'removed' | 'stopped' | 'membership';
type KillAt = 'time' | 'creating' | 'starting' | 'loading' | 'ready' | 'removed';

/** The models of a SIGKILL project: which are in the config now, and a generation per model. */
interface KillState {
  all: string[];
  current: string[];
  generation: Record<string, number>;
  yaml: (state: KillState) => string;
}

/**
 * One seeded SIGKILL run: bring the project into a random state (nothing changed, a model's config
 * changed, a model added to or dropped from the config, containers removed or stopped by hand),
 * start `serve up`, kill it with SIGKILL at a random time or a random moment after a progress
 * line, then check that the next `serve up` converges.
 */
async function killRun(
  p: Project,
  run: number,
  rnd: () => number,
  state: KillState,
  options: {
    pre: PreState[];
    killAt: KillAt[];
    /** Longest delay of a kill at a random time since the start. */
    maxDelayMs: number;
    /** Longest delay of a kill after a progress line. @default 300 */
    afterLineMs?: number;
  },
): Promise<string> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const pre = pick(options.pre);
  let victims = state.current.filter(() => rnd() < 0.6);
  if (victims.length === 0) victims.push(pick(state.current));
  const before = await observe(p);
  if (pre === 'changed') for (const v of victims) state.generation[v] = (state.generation[v] ?? 0) + 1;
  if (pre === 'membership') {
    const missing = state.all.filter((n) => !state.current.includes(n));
    victims = missing.length > 0 ? [pick(missing)] : [pick(state.current)];
    state.current = missing.length > 0 ? [...state.current, victims[0]!].sort() : state.current.filter((n) => n !== victims[0]);
  }
  p.writeModels(state.yaml(state));
  for (const c of before) {
    if (!victims.some((v) => c.key === `${p.prefix}-${v}`)) continue;
    if (pre === 'removed') await docker.getContainer(c.id).remove({ force: true });
    if (pre === 'stopped') await docker.getContainer(c.id).stop({ t: 1 }).catch(() => {});
  }

  const killAt = pick(options.killAt);
  // Right after "creating" the create call is still on its way: a kill then leaves a container
  // that was created and never started.
  const delay = Math.floor(rnd() * (killAt === 'time' ? options.maxDelayMs : killAt === 'creating' ? 60 : (options.afterLineMs ?? 300)));
  const run1 = startServe(bin, p, ['up']);
  const marker: Record<Exclude<KillAt, 'time'>, RegExp> = {
    creating: / creating\n/,
    starting: / starting\n/,
    loading: /waiting for \/health\n/,
    ready: /ready in /,
    removed: /  removed\n/,
  };
  let landed = killAt === 'time' ? `${delay} ms after the start` : `${delay} ms after "${killAt}"`;
  if (killAt !== 'time') await run1.waitForStderr(marker[killAt], 60_000).catch(() => (landed = `(no "${killAt}" line)`));
  await Promise.race([new Promise((r) => setTimeout(r, delay)), run1.done]);
  const finishedFirst = run1.child.exitCode !== null;
  run1.child.kill('SIGKILL');
  const killed = await run1.done;
  const lastLine = killed.stderr.trim().split('\n').at(-1) ?? '';
  const left = await observe(p);
  const lockLeft = (await lockHolder(p))?.pid === run1.pid;

  const run2 = await serve(bin, p, ['up']);
  const line =
    `run ${run}: ${pre}(${victims.join(',')}) → [${state.current.join(',')}], killed ${finishedFirst ? 'after it finished' : landed} (at ${killed.ms} ms, last line "${lastLine}"); ` +
    `left ${left.map((c) => `${c.key.slice(p.prefix.length + 1)}:${c.state}/${c.restartPolicy}`).join(' ') || 'nothing'}${lockLeft ? ', the lock of the dead pid' : ''}; next up exit ${run2.code} in ${run2.ms} ms`;
  console.log(`faults: ${line}`);
  expect(run2.code, `${line}\n${explain(run2)}`).toBe(0);
  // The dead run's lock was taken over, not waited for.
  expect(run2.stderr, line).not.toContain(`pid ${run1.pid} `);
  await expectConverged(p, state.current);
  return line;
}

describe('serve up killed with SIGKILL at random points', () => {
  it(`converges after each of ${RUNS} seeded kills (no gateway)`, async () => {
    const p = project('kill');
    const state: KillState = {
      all: ['a', 'b', 'c'],
      current: ['a', 'b'],
      generation: {},
      yaml: (s) => modelsYaml(p, Object.fromEntries(s.current.map((n) => [n, { env: { FAULT_GENERATION: String(s.generation[n] ?? 0) } } satisfies ModelDef]))),
    };
    p.writeModels(state.yaml(state));
    const first = await up(p);
    expect(first.code, explain(first)).toBe(0);
    const rnd = seededRandom(SEED);
    for (let run = 1; run <= RUNS; run++) {
      await killRun(p, run, rnd, state, {
        pre: ['same', 'changed', 'changed', 'removed', 'stopped', 'membership'],
        killAt: ['time', 'time', 'creating', 'starting', 'loading', 'loading', 'ready', 'removed'],
        maxDelayMs: 2500,
      });
    }
  }, 60_000 + RUNS * 30_000);

  it('a container created and never started (killed between create and start) is started by the next up', async () => {
    // A kill lands in that gap only by luck (create and start are a few ms apart), so the state is
    // made here: the container serve made, created again from its own inspect data, not started.
    const p = project('created');
    p.writeModels(modelsYaml(p, { a: {} }));
    expect((await up(p)).code).toBe(0);
    const [made] = await observe(p);
    const info = await docker.getContainer(made!.id).inspect();
    await docker.getContainer(made!.id).remove({ force: true });
    const created = await docker.createContainer({
      name: made!.name,
      Image: info.Config.Image,
      Cmd: info.Config.Cmd,
      Env: info.Config.Env,
      Labels: info.Config.Labels,
      ExposedPorts: info.Config.ExposedPorts,
      Healthcheck: info.Config.Healthcheck,
      HostConfig: { ...info.HostConfig, RestartPolicy: { Name: 'no' } },
      NetworkingConfig: { EndpointsConfig: { [p.network]: {} } },
    });
    expect((await statusRows(p)).get('a')).toMatchObject({ state: 'created', sync: 'in-sync' });
    const r = await up(p);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${p.prefix}-a  ready in`));
    expect(await expectConverged(p, ['a'])).toEqual(new Map([['a', created.id]]));
  }, 60_000);

  it(`converges after each of ${GATEWAY_RUNS} seeded kills with a managed gateway, whose entries are exactly the models that are up`, async () => {
    const port = await freePort();
    const p = project('kill-gw', { LITELLM_MASTER_KEY: MASTER_KEY });
    const gatewayName = `${p.prefix}-litellm`;
    const gateway = `{mode: managed, image: ${LITELLM_IMAGE}, container-name: ${gatewayName}, port: ${port}}`;
    const state: KillState = {
      all: ['a', 'b'],
      current: ['a', 'b'],
      generation: {},
      yaml: (s) =>
        modelsYaml(p, Object.fromEntries(s.current.map((n) => [n, { env: { FAULT_GENERATION: String(s.generation[n] ?? 0) }, 'served-model-name': `served-${p.prefix}-${n}` } satisfies ModelDef])), { gateway }),
    };
    const routed = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` }, signal: AbortSignal.timeout(10_000) });
      const body = (await r.json()) as { data: Array<{ model_info: { managed_by?: string; inferstack_model_key?: string } }> };
      return body.data
        .filter((e) => e.model_info.managed_by === 'inferstack' && String(e.model_info.inferstack_model_key).startsWith(`${p.prefix}-`))
        .map((e) => String(e.model_info.inferstack_model_key).slice(p.prefix.length + 1))
        .sort();
    };
    // The gateway's config file, and what every kill must leave in it: the user's own entry and
    // the plugin, in a file a restarted gateway starts from.
    const file = join(p.dir, 'litellm', 'config.yaml');
    const intact = (when: string) => {
      const cfg = parseYaml(readFileSync(file, 'utf8')) as { model_list: Array<{ model_name: string }>; litellm_settings: { callbacks: string[] } };
      expect(cfg.model_list.map((e) => e.model_name), when).toContain('users-own');
      expect(cfg.litellm_settings.callbacks, when).toContain('inferstack_gateway.proxy_handler_instance');
    };
    try {
      p.writeModels(state.yaml(state));
      const first = await up(p);
      expect(first.code, explain(first)).toBe(0);
      expect(await routed()).toEqual(state.current);
      // The user adds an entry of their own (the gateway takes it when it next starts).
      const own = parseYaml(readFileSync(file, 'utf8')) as { model_list: unknown[] };
      own.model_list.unshift({ model_name: 'users-own', litellm_params: { model: 'hosted_vllm/users-own', api_base: 'http://users-own.invalid:8000/v1' } });
      writeFileSync(file, stringifyYaml(own));
      const rnd = seededRandom(SEED ^ 0x5eed);
      for (let run = 1; run <= GATEWAY_RUNS; run++) {
        // A model joining or leaving the config is what changes the gateway's routes.
        await killRun(p, run, rnd, state, { pre: ['membership', 'membership', 'membership', 'removed'], killAt: ['ready', 'ready', 'removed', 'time'], maxDelayMs: 8000, afterLineMs: 4000 });
        intact(`config file after run ${run}`);
        expect(await routed(), `gateway after run ${run}`).toEqual(state.current);
      }
      // A gateway started again from that file routes to the same models, and to the user's entry.
      await docker.getContainer(gatewayName).restart({ t: 5 });
      await waitForHttp(`http://127.0.0.1:${port}/health/readiness`, { timeoutMs: 150_000, intervalMs: 500 });
      expect(await routed()).toEqual(state.current);
      const names = (await (await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as { data: Array<{ id: string }> };
      expect(names.data.map((m) => m.id)).toContain('users-own');

      // Killed after it wrote the gateway's config file and before the routes file: the file
      // already lists what is up, the running gateway still routes to a model that is gone.
      state.current = ['a', 'b'];
      p.writeModels(state.yaml(state));
      expect((await up(p)).code).toBe(0);
      const ids = await expectConverged(p, state.current);
      expect(await routed()).toEqual(['a', 'b']);
      await docker.getContainer(ids.get('b')!).remove({ force: true });
      state.current = ['a'];
      p.writeModels(state.yaml(state));
      const a = { modelKey: `${p.prefix}-a`, name: `inference-${p.prefix}-a`, apiBase: `http://inference-${p.prefix}-a:8000/v1`, servedModelName: `served-${p.prefix}-a` };
      writeFileSync(file, renderLitellmConfig(readFileSync(file, 'utf8'), [a], file).text);
      const r = await up(p);
      expect(r.code, explain(r)).toBe(0);
      expect(await routed(), 'the gateway must not route to the removed model').toEqual(['a']);
      await expectConverged(p, ['a']);
    } finally {
      await docker.getContainer(gatewayName).remove({ force: true }).catch(() => {});
    }
  }, 240_000 + GATEWAY_RUNS * 60_000);
});

describe('Ctrl-C and concurrent runs', () => {
  it('SIGINT while models load: exit 130 at once, says what was done and what not, removes what it made and was not ready', async () => {
    const p = project('sigint');
    p.writeModels(modelsYaml(p, { fast: {}, slow: { env: { STANDIN_LOAD_DELAY: '20' } } }));
    const run = startServe(bin, p, ['up']);
    await run.waitForStderr(new RegExp(`${p.prefix}-fast  ready in`));
    await run.waitForStderr(new RegExp(`${p.prefix}-slow  loading`));
    expect((await observe(p)).map((c) => c.key)).toEqual(keysOf(p, ['fast', 'slow']));
    const sent = Date.now();
    run.child.kill('SIGINT');
    const r = await run.done;
    const took = Date.now() - sent;
    console.log(`faults: SIGINT → exit ${r.code} in ${took} ms`);
    expect(r.code, explain(r)).toBe(130);
    expect(took).toBeLessThan(10_000);
    expect(r.stderr).toMatch(/stopping\.\.\./);
    expect(r.stderr).toContain(`interrupted: 1 change(s) done (${p.prefix}-fast); not done: ${p.prefix}-slow`);
    noStack(r);
    // The ready model stays, the one this run made and that was loading is gone.
    const left = await observe(p);
    expect(left.map((c) => [c.key, c.state, c.restartPolicy])).toEqual([[`${p.prefix}-fast`, 'running', 'unless-stopped']]);

    p.writeModels(modelsYaml(p, { fast: {}, slow: {} }));
    const again = await up(p);
    expect(again.code, explain(again)).toBe(0);
    const ids = await expectConverged(p, ['fast', 'slow']);

    // A container this run did not make (stopped by hand, started again by up) is put back as it
    // was, stopped: not removed with its logs.
    await docker.getContainer(ids.get('slow')!).stop({ t: 1 });
    const restart = startServe(bin, p, ['up']);
    await restart.waitForStderr(new RegExp(`${p.prefix}-slow  loading`));
    restart.child.kill('SIGINT');
    const r2 = await restart.done;
    expect(r2.code, explain(r2)).toBe(130);
    expect(r2.stderr).toContain(`not done: ${p.prefix}-slow`);
    expect((await observe(p)).map((c) => [c.key, c.id, c.state])).toEqual([
      [`${p.prefix}-fast`, ids.get('fast'), 'running'],
      [`${p.prefix}-slow`, ids.get('slow'), 'exited'],
    ]);
    const last = await up(p);
    expect(last.code, explain(last)).toBe(0);
    expect(await expectConverged(p, ['fast', 'slow'])).toEqual(ids);
  }, 120_000);

  it('two serve up at once: the second waits for the lock (naming the holder) or, with INFERSTACK_LOCK_WAIT_MS=0, fails naming it; one container per model', async () => {
    const p = project('lock');
    const names = ['a', 'b'];
    p.writeModels(modelsYaml(p, { a: {}, b: {} }, { env: { STANDIN_LOAD_DELAY: '4' } }));
    const first = startServe(bin, p, ['up']);
    await until(async () => ((await lockHolder(p))?.pid === first.pid ? true : undefined), 'the first run to hold the lock', 60_000, 50);

    const refused = await serve(bin, p, ['up'], { INFERSTACK_LOCK_WAIT_MS: '0' });
    expect(refused.code, explain(refused)).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`another serve run holds the lock: pid ${first.pid} on \\S+ since \\S+ \\(serve up\\)`));
    expect(refused.stderr.split('\n').filter((l) => l.startsWith('✖'))).toHaveLength(1);
    noStack(refused);

    const waiter = startServe(bin, p, ['up']);
    await waiter.waitForStderr(new RegExp(`waiting for another serve run to finish \\(pid ${first.pid} on \\S+, serve up, since`), 30_000);
    const [r1, r2] = await Promise.all([first.done, waiter.done]);
    expect(r1.code, explain(r1)).toBe(0);
    expect(r2.code, explain(r2)).toBe(0);
    expect(r2.stderr).toMatch(/nothing to do/);
    const ids = await expectConverged(p, names);

    // Both at the very same moment, from nothing.
    for (const id of ids.values()) await docker.getContainer(id).remove({ force: true });
    const [x, y] = await Promise.all([up(p), up(p)]);
    expect(x.code, explain(x)).toBe(0);
    expect(y.code, explain(y)).toBe(0);
    expect([x, y].filter((r) => /waiting for another serve run/.test(r.stderr)).length).toBeGreaterThanOrEqual(1);
    await expectConverged(p, names);
  }, 120_000);
});

describe('a gateway that is down, slow or failing (external, API sync, fake LiteLLM)', () => {
  let fake: FakeGateway;
  let p: Project;
  const names = ['a', 'b'];
  const handMade = {
    model_name: 'hand-made',
    litellm_params: { model: 'hosted_vllm/hand', api_base: 'http://hand-made-backend:8000/v1' },
    model_info: { id: 'hand-made-1', db_model: true },
  };

  beforeAll(async () => {
    fake = new FakeGateway();
    fake.entries.push(structuredClone(handMade));
    await fake.start();
    p = project('gw-fault', { LITELLM_MASTER_KEY: MASTER_KEY });
    p.writeModels(modelsYaml(p, { a: {}, b: {} }, { gateway: `{mode: external, url: "${fake.url}", sync: api}` }));
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('with the gateway healthy, up registers exactly the models and keeps the hand-made entry', async () => {
    const r = await up(p);
    expect(r.code, explain(r)).toBe(0);
    expect(fake.managedKeys()).toEqual(keysOf(p, names));
    expect(fake.entries.map((e) => e.model_info.id)).toContain('hand-made-1');
  });

  for (const mode of ['down', 'slow', 'error'] as const) {
    it(`gateway ${mode}: bounded retries, one clear error, exit 1, model containers untouched`, async () => {
      const before = await expectConverged(p, names);
      // Make the sync have work to do: the gateway lost our entries.
      fake.entries = fake.entries.filter((e) => e.model_info.managed_by !== 'inferstack');
      fake.slowMs = 4000;
      await fake.setMode(mode);
      const r = await up(p, { INFERSTACK_GATEWAY_TIMEOUT_MS: '2000' });
      console.log(`faults: gateway ${mode} → exit ${r.code} in ${r.ms} ms${/waiting for another serve run/.test(r.stderr) ? ' (waited for the lock of another run)' : ''}`);
      expect(r.code, explain(r)).toBe(1);
      expect(r.ms).toBeLessThan(60_000);
      expect(r.stderr).toMatch(/✖ gateway sync failed: .+/);
      if (mode === 'error') expect(r.stderr).toMatch(/boom/);
      if (mode === 'down') expect(r.stderr).toMatch(/ECONNREFUSED|cannot reach|unreachable/i);
      if (mode === 'slow') expect(r.stderr).toMatch(/time|timed out/i);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('✖'))).toHaveLength(1);
      noStack(r);
      expect(await expectConverged(p, names)).toEqual(before);
      if (mode !== 'slow') {
        // `serve sync` alike (not for `slow`: the same 20 s of retries again).
        const s = await serve(bin, p, ['sync'], { INFERSTACK_GATEWAY_TIMEOUT_MS: '2000' });
        expect(s.code, explain(s)).toBe(1);
        expect(s.stderr).toMatch(/✖ gateway sync failed: .+/);
        expect(s.ms).toBeLessThan(60_000);
        noStack(s);
        expect(await expectConverged(p, names)).toEqual(before);
      }
      await fake.setMode('ok');
      const again = await up(p);
      expect(again.code, explain(again)).toBe(0);
      expect(fake.managedKeys()).toEqual(keysOf(p, names));
    }, 150_000);
  }

  it('entries made by hand are never deleted, even when they name our models or containers', async () => {
    fake.entries.push(
      { model_name: `served-${p.prefix}-a`, litellm_params: { model: 'hosted_vllm/x', api_base: `http://inference-${p.prefix}-a:8000/v1` }, model_info: { id: 'hand-made-2', db_model: true } },
      { model_name: 'hand-made-3', litellm_params: { model: 'hosted_vllm/y', api_base: `http://inference-${p.prefix}-b:8000/v1` }, model_info: { id: `inferstack-hand-${p.prefix}`, db_model: true } },
    );
    const down = await serve(bin, p, ['down', `${p.prefix}-b`]);
    expect(down.code, explain(down)).toBe(0);
    expect(fake.managedKeys()).toEqual(keysOf(p, ['a']));
    const r = await up(p);
    expect(r.code, explain(r)).toBe(0);
    expect(fake.managedKeys()).toEqual(keysOf(p, names));
    const ids = fake.entries.map((e) => e.model_info.id);
    for (const id of ['hand-made-1', 'hand-made-2', `inferstack-hand-${p.prefix}`]) expect(ids).toContain(id);
    const deletes = fake.requests.filter((q) => q.path === '/model/delete').map((q) => (q.body as { id: string }).id);
    expect(deletes.filter((id) => !id.startsWith(`inferstack-inference-${p.prefix}-`))).toEqual([]);
    await expectConverged(p, names);
  }, 120_000);
});

describe('Prometheus down or its targets path unwritable (external monitoring)', () => {
  it('reports it, exits 1, and the deployment is otherwise complete', async () => {
    const p = project('prom');
    const deadPort = await freePort();
    const names = ['a'];
    const monitoring = (targets: string) => `{mode: external, prometheus: {url: "http://127.0.0.1:${deadPort}", targets-dir: "${targets}"}}`;

    // Prometheus does not answer: the targets are written, the sync is reported as failed.
    mkdirSync(join(p.dir, 'targets'));
    p.writeModels(modelsYaml(p, { a: {} }, { monitoring: monitoring(join(p.dir, 'targets')) }));
    const r = await up(p, { INFERSTACK_PROMETHEUS_CONFIRM_MS: '2000', INFERSTACK_PROMETHEUS_TIMEOUT_MS: '2000' });
    console.log(`faults: Prometheus down → exit ${r.code} in ${r.ms} ms`);
    expect(r.code, explain(r)).toBe(1);
    expect(r.stderr).toMatch(/✖ prometheus sync failed: .+/);
    expect(r.stderr).toMatch(/→ .*once Prometheus answers/);
    expect(r.stderr).toMatch(/ready in/);
    expect(r.ms).toBeLessThan(60_000);
    noStack(r);
    expect(JSON.parse(readFileSync(join(p.dir, 'targets', `inferstack-${stackNameFor(p.dir)}.json`), 'utf8'))).toHaveLength(1);
    await expectConverged(p, names);

    // The targets directory is a regular file (unwritable even for root).
    const notADir = join(p.dir, 'not-a-dir');
    writeFileSync(notADir, 'a file\n');
    chmodSync(notADir, 0o444);
    p.writeModels(modelsYaml(p, { a: {}, b: {} }, { monitoring: monitoring(notADir) }));
    const r2 = await up(p, { INFERSTACK_PROMETHEUS_CONFIRM_MS: '2000', INFERSTACK_PROMETHEUS_TIMEOUT_MS: '2000' });
    console.log(`faults: targets path unwritable → exit ${r2.code} in ${r2.ms} ms`);
    expect(r2.code, explain(r2)).toBe(1);
    expect(r2.stderr).toMatch(/✖ prometheus sync failed: cannot write the Prometheus targets file .*not-a-dir.* \(ENOTDIR\)/);
    // The advice fits the fault: waiting for Prometheus would not help.
    expect(r2.stderr).toMatch(/→ .*targets-dir/);
    expect(r2.stderr).not.toMatch(/once Prometheus answers/);
    expect(r2.stderr).toMatch(new RegExp(`${p.prefix}-b  ready in`));
    noStack(r2);
    await expectConverged(p, ['a', 'b']);
  }, 120_000);
});

describe('model containers that fail or are changed behind our back', () => {
  it('a crash-looping model: status tells the truth, up recreates it, and with the env fixed it stays up', async () => {
    const p = project('crash');
    const crashing = { env: { STANDIN_FAIL: 'crash-after-ready', STANDIN_CRASH_AFTER: '2', STANDIN_DEAD_GRACE_MS: '300' } };
    p.writeModels(modelsYaml(p, { c: crashing }));
    const r = await up(p);
    expect(r.code, explain(r)).toBe(0);
    const first = (await observe(p))[0]!;
    await until(async () => ((await observe(p))[0]!.restartCount >= 2 ? true : undefined), 'Docker to restart the crashing model twice', 40_000);
    // Whenever it is looked at, status does not call it a healthy running model.
    for (let i = 0; i < 4; i++) {
      const row = (await statusRows(p)).get('c')!;
      expect(['restarting', 'exited', 'dead'].includes(row.state) || row.health === 'unhealthy', JSON.stringify(row)).toBe(true);
      await new Promise((res) => setTimeout(res, 700));
    }
    const plan = await serve(bin, p, ['plan', '--json']);
    expect(JSON.parse(plan.stdout).plan, plan.stdout).toMatchObject([{ action: 'recreate', reason: 'crashed' }]);
    const repaired = await up(p);
    expect(repaired.code, explain(repaired)).toBe(0);
    expect((await observe(p))[0]!.id).not.toBe(first.id);

    p.writeModels(modelsYaml(p, { c: {} }));
    const fixed = await up(p);
    expect(fixed.code, explain(fixed)).toBe(0);
    await new Promise((res) => setTimeout(res, 6_000));
    const ids = await expectConverged(p, ['c']);
    const now = (await observe(p))[0]!;
    expect(now.id).toBe(ids.get('c'));
    expect(now.restartCount).toBe(0);
    expect((await statusRows(p)).get('c')).toMatchObject({ state: 'running', health: 'healthy', sync: 'in-sync' });
  }, 150_000);

  it('a model that hangs without answering /health: up --timeout 3 reports the timeout with its last log lines, exit 1', async () => {
    const p = project('hang');
    p.writeModels(modelsYaml(p, { ok: {}, h: { env: { STANDIN_FAIL: 'hang' } } }));
    const r = await up(p, {}, ['--timeout', '3']);
    console.log(`faults: hung model → exit ${r.code} in ${r.ms} ms`);
    expect(r.code, explain(r)).toBe(1);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.stderr).toMatch(new RegExp(`✖ ${p.prefix}-h  it did not answer /health within 3 s`));
    // The stand-in's last lines before it hangs, as vLLM would print them.
    expect(r.stderr).toMatch(new RegExp(`last log lines of ${p.prefix}-h:\\n(  .*\\n)*  .*Initializing a V1 LLM engine .*model='test/h'`));
    expect(r.stderr).toMatch(new RegExp(`${p.prefix}-ok  ready in`));
    noStack(r);
    const left = await observe(p);
    expect(left.find((c) => c.key === `${p.prefix}-h`)?.state).toBe('exited');
    expect(left.find((c) => c.key === `${p.prefix}-ok`)?.state).toBe('running');

    p.writeModels(modelsYaml(p, { ok: {}, h: {} }));
    const again = await up(p);
    expect(again.code, explain(again)).toBe(0);
    await expectConverged(p, ['ok', 'h']);
  }, 120_000);

  it('removed by hand: status says missing, up recreates it; stopped by hand: status says exited, up starts the same container', async () => {
    const p = project('hand');
    p.writeModels(modelsYaml(p, { a: {}, b: {} }));
    expect((await up(p)).code).toBe(0);
    const ids = await expectConverged(p, ['a', 'b']);

    await docker.getContainer(ids.get('a')!).remove({ force: true });
    await docker.getContainer(ids.get('b')!).stop({ t: 1 });
    const rows = await statusRows(p);
    expect(rows.get('a')).toMatchObject({ state: 'absent', sync: 'missing' });
    expect(rows.get('b')).toMatchObject({ state: 'exited', sync: 'in-sync' });
    const human = await serve(bin, p, ['status']);
    expect(human.stdout).toMatch(new RegExp(`${p.prefix}-a\\s+absent\\s.*not created`));
    expect(human.stdout).toMatch(new RegExp(`${p.prefix}-b\\s+exited\\s`));

    const r = await up(p);
    expect(r.code, explain(r)).toBe(0);
    const after = await expectConverged(p, ['a', 'b']);
    expect(after.get('a')).not.toBe(ids.get('a'));
    expect(after.get('b')).toBe(ids.get('b'));
  }, 120_000);
});

describe('the Docker daemon unreachable', () => {
  const commands = (p: Project) => [['up'], ['plan'], ['status'], ['stop'], ['down'], ['down', '--all'], ['logs', `${p.prefix}-a`], ['sync'], ['unlock']];
  for (const host of ['tcp://127.0.0.1:1', 'unix:///nonexistent/inferstack/docker.sock']) {
    it(`DOCKER_HOST=${host}: every command that needs the daemon prints one clear error line and exits 1`, async () => {
      const p = project('nodaemon');
      p.writeModels(modelsYaml(p, { a: {} }));
      for (const args of commands(p)) {
        const r = await serve(bin, p, args, { DOCKER_HOST: host }, 30_000);
        const what = `serve ${args.join(' ')}: ${explain(r)}`;
        expect(r.code, what).toBe(1);
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('✖'));
        expect(errors, what).toEqual([expect.stringMatching(new RegExp(`^✖ cannot reach the Docker daemon at ${host.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\w+`))]);
        expect(r.stdout, what).toBe('');
        noStack(r);
        expect(r.ms, what).toBeLessThan(10_000);
      }
      // doctor is a report (on stdout): the daemon is its one failed check.
      const doctor = await serve(bin, p, ['doctor'], { DOCKER_HOST: host }, 30_000);
      const what = `serve doctor: ${explain(doctor)}`;
      expect(doctor.code, what).toBe(1);
      const failed = `${doctor.stdout}${doctor.stderr}`.split('\n').filter((l) => l.startsWith('✖'));
      expect(failed, what).toEqual([expect.stringContaining(host)]);
      noStack(doctor);
    }, 120_000);
  }
});
