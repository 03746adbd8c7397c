// Several Docker hosts from one models.yaml, against two real daemons: daemon A (the default
// host: gateway, Prometheus, two models) and host b (scripts/ensure-docker-b.sh: a second dockerd
// on this machine, one model), with the real LiteLLM gateway and Prometheus 3. Host b is reached
// over tcp with mutual TLS through a relay this test owns, so that "host b stops answering" is
// the relay closing while B itself (shared with other tests) keeps running; the same stack is
// then planned over ssh:// and the unix socket.
import net from 'node:net';
import { stackNameFor } from '@inferstack/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerB, dockerOnB, removeSessionResourcesOnB, type DockerB } from '../../../test/support/docker-b.js';
import { PROMETHEUS_IMAGE as PROMETHEUS } from '../../../test/support/prometheus-image.js';
import { STANDIN, createProject, docker, freePort, removeByLabel, sessionId, until, type Project } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const NODE_EXPORTER = 'inferstack-test/node-exporter:1.5';
const MASTER_KEY = 'sk-test-master-hosts-0123456789';
const B_KEY = 'sk-vllm-key-of-b-0123456789';

/** A TCP relay on 127.0.0.1 to `target` that can be stopped (connections refused) and started again. */
class Relay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async start(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((socket) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [socket, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

describe('several Docker hosts from one models.yaml (daemon A and host b, real LiteLLM and Prometheus)', () => {
  let b: DockerB;
  let p: Project;
  let relay: Relay;
  let gatewayPort: number;
  let promPort: number;
  const key = (k: string) => `${p.prefix}-${k}`;
  const served = (k: string) => `served-${p.prefix}-${k}`;
  const names = () => ({ gateway: `${p.prefix}-litellm`, prom: `${p.prefix}-prometheus`, node: `${p.prefix}-node-exporter` });

  /** models.yaml with host b reached as `endpoint` (tcp through the relay by default). */
  const models = (options: { endpoint?: 'tcp' | 'ssh' | 'unix'; onB?: string[]; bEnv?: string } = {}) => {
    const endpoint = options.endpoint ?? 'tcp';
    const hostB =
      endpoint === 'tcp'
        ? [`    endpoint: tcp://127.0.0.1:${relay.port}`, `    tls: {ca: ${b.tls.tls.ca}, cert: ${b.tls.tls.cert}, key: ${b.tls.tls.key}}`]
        : endpoint === 'ssh'
          ? [`    endpoint: ${b.ssh.host}`, `    ssh: {private-key: ${b.ssh.ssh.privateKeyPath}, known-hosts: ${b.ssh.ssh.knownHostsPath}}`]
          : [`    endpoint: ${b.unix.host}`];
    const model = (k: string, host?: string, extra: string[] = []) => [
      `  - ${key(k)}:`,
      `      model: test/${k}`,
      '      gpus: none',
      `      served-model-name: ${served(k)}`,
      ...(host ? [`      host: ${host}`] : []),
      ...extra.map((l) => `      ${l}`),
    ];
    return (
      [
        `network: ${p.network}`,
        'hosts:',
        '  b:',
        ...hostB,
        `    address: ${b.bridgeAddress}`,
        `gateway: {image: ${LITELLM}, container-name: ${names().gateway}, port: ${gatewayPort}}`,
        'monitoring:',
        '  mode: managed',
        `  prometheus: {image: ${PROMETHEUS}, port: ${promPort}, container-name: ${names().prom}}`,
        `  node-exporter: {image: ${NODE_EXPORTER}, container-name: ${names().node}}`,
        '  grafana: {enabled: false}',
        `defaults: {image: ${STANDIN}, pull: never, env: {STANDIN_LOAD_DELAY: "1"}}`,
        'models:',
        ...model('a1'),
        ...model('a2'),
        ...(options.onB ?? ['b1']).flatMap((k) => model(k, 'b', ['api-key: "${B_VLLM_KEY}"', ...(options.bEnv ? [`env: {STANDIN_LOAD_DELAY: "1", MARK: "${options.bEnv}"}`] : [])])),
      ].join('\n') + '\n'
    );
  };

  const chat = (model: string) =>
    fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      signal: AbortSignal.timeout(30_000),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { choices?: unknown[] } }));
  const prom = (path: string) => fetch(`http://127.0.0.1:${promPort}${path}`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.json() as Promise<any>);
  const targets = async (pool: string) =>
    ((await prom('/api/v1/targets')).data.activeTargets as Array<{ labels: Record<string, string>; health: string; scrapePool: string; scrapeUrl: string }>).filter((t) => t.scrapePool === pool);
  const onB = async (name: string) => JSON.parse((await dockerOnB(['inspect', name], { allowFail: true })).stdout || '[]')[0] as any;

  beforeAll(async () => {
    b = await dockerB();
    // The exporter runs on every host: B needs its image too (ensure-docker-b.sh copies it).
    const image = await dockerOnB(['image', 'inspect', NODE_EXPORTER], { allowFail: true });
    if (image.code !== 0) throw new Error(`host b has no ${NODE_EXPORTER}: run 'bash scripts/ensure-docker-b.sh' again (it copies the test images from daemon A)`);
    const tls = new URL(b.tls.host.replace(/^tcp:/, 'http:'));
    relay = new Relay({ host: tls.hostname, port: Number(tls.port) });
    await relay.start();
    gatewayPort = await freePort();
    promPort = await freePort();
    p = createProject('hosts', { LITELLM_MASTER_KEY: MASTER_KEY, B_VLLM_KEY: B_KEY, PROMETHEUS_SCRAPE_INTERVAL: '1s' });
    p.writeModels(models());
  }, 120_000);

  afterAll(async () => {
    if (p) {
      await relay?.start().catch(() => {});
      await p.serve(['down', '--all', '--volumes', '--drain-timeout', '0'], { timeoutMs: 120_000 }).catch(() => {});
      await removeByLabel(p.labels, (name) => Object.values(names()).includes(name));
      await docker.getVolume(`${names().prom}-data`).remove().catch(() => {});
      await p.cleanup();
    }
    if (b) await removeSessionResourcesOnB(sessionId());
    await relay?.stop();
  }, 180_000);

  it('plan shows each model on its host, and what host b opens (on its address only)', async () => {
    const r = await p.serve(['plan', '--exit-code']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^ +MODEL +HOST +ACTION +GPUS +OPENS +WHY$/m);
    expect(r.stdout).toMatch(new RegExp(`\\+ +${key('a1')} +local +create +none +- +not running`));
    expect(r.stdout).toMatch(new RegExp(`\\+ +${key('b1')} +b +create +none +${b.bridgeAddress.replaceAll('.', '\\.')}:auto +not running`));
    // b1 has an api-key: no warning about it.
    expect(r.stderr).not.toMatch(/without an api-key/);
    const json = JSON.parse((await p.serve(['plan', '--json'])).stdout);
    expect(json.hosts).toEqual([
      { host: 'local', ok: true },
      { host: 'b', ok: true },
    ]);
    expect(json.plan.find((c: { model: string }) => c.model === key('b1'))).toMatchObject({ host: 'b', opens: `${b.bridgeAddress}:auto`, action: 'create' });
  });

  it('up starts two models on A and one on b; the gateway routes to all three, Prometheus scrapes all three and both hosts', async () => {
    const r = await p.serve(['up'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/node-exporter +on host b, created/);
    // Each model on its daemon; b1 publishes vLLM's port on B's address only.
    expect((await docker.getContainer(`inference-${key('a1')}`).inspect()).State.Running).toBe(true);
    expect((await docker.getContainer(`inference-${key('a2')}`).inspect()).State.Running).toBe(true);
    await expect(docker.getContainer(`inference-${key('b1')}`).inspect()).rejects.toThrow();
    const b1 = await onB(`inference-${key('b1')}`);
    expect(b1.State.Running).toBe(true);
    expect(b1.HostConfig.PortBindings).toEqual({ '8000/tcp': [{ HostIp: b.bridgeAddress, HostPort: '' }] });
    expect(b1.NetworkSettings.Ports['8000/tcp'][0].HostIp).toBe(b.bridgeAddress);
    // The key is in its environment, never in its labels or command line.
    expect(JSON.stringify(b1.Config.Labels)).not.toContain(B_KEY);
    expect(b1.Config.Cmd.join(' ')).not.toContain(B_KEY);

    for (const k of ['a1', 'a2', 'b1']) {
      const answer = await chat(served(k));
      expect(answer.status, `${k}: ${JSON.stringify(answer.body)}`).toBe(200);
      expect(Array.isArray(answer.body.choices)).toBe(true);
    }

    const models = await until(async () => {
      const t = await targets('vllm');
      return t.length === 3 && t.every((x) => x.health === 'up') ? t : undefined;
    });
    expect(Object.fromEntries(models.map((t) => [t.labels.model, t.labels.host]))).toEqual({ [key('a1')]: 'local', [key('a2')]: 'local', [key('b1')]: 'b' });
    expect(models.find((t) => t.labels.model === key('b1'))?.scrapeUrl).toMatch(new RegExp(`^http://${b.bridgeAddress.replaceAll('.', '\\.')}:\\d+/metrics$`));
    const nodes = await until(async () => {
      const t = await targets('node');
      return t.length === 2 && t.every((x) => x.health === 'up') ? t : undefined;
    }, 90_000);
    expect(nodes.map((t) => t.labels.host).sort()).toEqual(['b', 'local']);
    // Host b's node-exporter reports B's machine (the same kernel here, but its own series).
    const q = await until(async () => {
      const r2 = await prom(`/api/v1/query?query=${encodeURIComponent('node_memory_MemTotal_bytes')}`);
      return r2.data.result.length === 2 ? r2.data.result : undefined;
    });
    expect(q.map((s: { metric: Record<string, string> }) => s.metric.host).sort()).toEqual(['b', 'local']);
  });

  it('status shows each model on its host, routed and scraped; the stack is the same one on both daemons', async () => {
    const r = await p.serve(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    const rows = Object.fromEntries(s.models.map((m: { model: string }) => [m.model, m]));
    for (const k of ['a1', 'a2', 'b1']) expect(rows[key(k)], k).toMatchObject({ state: 'running', sync: 'in-sync', routed: true, scrape: { health: 'up' } });
    expect(rows[key('b1')]).toMatchObject({ host: 'b' });
    expect(rows[key('b1')].endpoint).toMatch(new RegExp(`^http://${b.bridgeAddress.replaceAll('.', '\\.')}:\\d+/v1$`));
    expect(rows[key('a1')]).toMatchObject({ host: 'local' });
    // Reached by the name of its own generation (`<container name>-<generation>`), see docker-ops' labels.ts.
    expect(rows[key('a1')].endpoint).toMatch(new RegExp(`^http://inference-${key('a1')}-[0-9a-f]{6}:8000/v1$`));
    expect(s.services).toContainEqual(expect.objectContaining({ service: 'node-exporter', host: 'b', state: 'running' }));
    const table = await p.serve(['status']);
    expect(table.stdout).toMatch(/^MODEL +HOST +STATE/m);
    expect(table.stdout).toMatch(/^SERVICE +HOST +CONTAINER/m);
    // One stack on both daemons: its identity on b holds the same key as on A, and every
    // container of it on b carries the stack's label.
    const stack = stackNameFor(p.dir);
    const envOf = (info: any) => (info.Config.Env as string[]).find((e) => e.startsWith('INFERSTACK_HASH_KEY='));
    const idA = await docker.getContainer(`inferstack-stack-${stack}`).inspect();
    const idB = await onB(`inferstack-stack-${stack}`);
    expect(envOf(idB)).toBe(envOf(idA));
    const onBLabels = (await dockerOnB(['ps', '-a', '--filter', `label=${p.labels}`, '--format', '{{.Names}} {{.Label "inferstack.stack"}}'])).stdout.trim().split('\n');
    for (const line of onBLabels) expect(line.split(' ')[1], line).toBe(stack);
    // Its log comes from host b.
    const logs = await p.serve(['logs', key('b1'), '--tail', '50']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/Application startup complete/);
    // A second up changes nothing on either host.
    const again = await p.serve(['up'], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/nothing to do/);
  });

  it('the same host b over ssh:// and over its unix socket: the same stack, nothing to change; a change over ssh is rolled out there', async () => {
    for (const endpoint of ['ssh', 'unix'] as const) {
      p.writeModels(models({ endpoint }));
      const r = await p.serve(['plan', '--exit-code', '--json']);
      expect(r.code, `${endpoint}: ${r.stderr}`).toBe(0);
      const plan = JSON.parse(r.stdout);
      expect(plan.plan.find((c: { model: string }) => c.model === key('b1'))).toMatchObject({ host: 'b', action: 'keep' });
    }
    // Over ssh: b1 changed is replaced rolling on b (create, health, hand-over through the
    // gateway, drain through docker exec, remove, rename), and served again through the gateway.
    const before = (await onB(`inference-${key('b1')}`)).Id;
    p.writeModels(models({ endpoint: 'ssh', bEnv: 'ssh' }));
    const up = await p.serve(['up'], { timeoutMs: 180_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toMatch(new RegExp(`${key('b1')} +replaced`));
    const after = await onB(`inference-${key('b1')}`);
    expect(after.Id).not.toBe(before);
    expect(after.Config.Env).toContain('MARK=ssh');
    expect((await chat(served('b1'))).status).toBe(200);
    p.writeModels(models({ bEnv: 'ssh' }));
  });

  it('down of host b\'s model unroutes it and removes its target; A\'s models serve on', async () => {
    const r = await p.serve(['down', key('b1'), '--drain-timeout', '0'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(await onB(`inference-${key('b1')}`)).toBeUndefined();
    const gone = await chat(served('b1'));
    expect(gone.status).not.toBe(200);
    await until(async () => ((await targets('vllm')).length === 2 ? true : undefined));
    expect((await chat(served('a1'))).status).toBe(200);
    // And back.
    const up = await p.serve(['up'], { timeoutMs: 180_000 });
    expect(up.code, up.stderr).toBe(0);
    expect((await chat(served('b1'))).status).toBe(200);
  });

  it('another run holding the stack\'s lock on host b: up waits, gives up, and changes nothing anywhere', async () => {
    const stack = stackNameFor(p.dir);
    const lock = `inferstack-lock-${stack}`;
    await dockerOnB([
      'create', '--name', lock, '--label', p.labels, '--label', 'inferstack.lock=true', '--label', 'inferstack.lock.pid=1',
      '--label', 'inferstack.lock.host=another-machine', '--label', 'inferstack.lock.since=2026-01-01T00:00:00Z', '--label', 'inferstack.lock.command=serve up',
      'inferstack/lock:1', 'lock',
    ]);
    try {
      p.writeModels(models({ onB: ['b1', 'b2'], bEnv: 'ssh' }));
      const r = await p.serve(['up'], { env: { INFERSTACK_LOCK_WAIT_MS: '1500' }, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/waiting for another serve run to finish \(pid 1 on another-machine/);
      expect(r.stderr).toMatch(/another serve run holds the lock/);
      expect(await onB(`inference-${key('b2')}`)).toBeUndefined();
      // Nothing is left locked on A: the lock taken there was given back.
      await expect(docker.getContainer(lock).inspect()).rejects.toThrow();
      // `serve unlock` breaks the stack's lock on every host.
      const unlock = await p.serve(['unlock']);
      expect(unlock.code, unlock.stderr).toBe(0);
      expect(unlock.stderr).toMatch(/host b: removed the lock of pid 1 on another-machine \(serve up, since 2026-01-01T00:00:00Z\)/);
      expect(await onB(lock)).toBeUndefined();
    } finally {
      await dockerOnB(['rm', '-f', lock], { allowFail: true });
      p.writeModels(models({ bEnv: 'ssh' }));
    }
  });

  it('host b stops answering: up reports it and exits 1, A\'s models keep serving, b\'s routes are left as they were', async () => {
    await relay.stop();
    try {
      const started = Date.now();
      const r = await p.serve(['up'], { timeoutMs: 120_000 });
      const ms = Date.now() - started;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`host b: cannot reach the Docker daemon of host b at tcp://127\\.0\\.0\\.1:${relay.port} \\(ECONNREFUSED\\)`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      console.log(`hosts: up with host b unreachable took ${ms} ms`);
      for (const k of ['a1', 'a2']) expect((await chat(served(k))).status, k).toBe(200);
      // B itself still runs b1 (only the API is out of reach): the gateway keeps its route.
      expect((await chat(served('b1'))).status).toBe(200);
      expect((await targets('vllm')).length).toBe(3);
      const status = await p.serve(['status', '--json']);
      expect(status.code).toBe(1);
      const s = JSON.parse(status.stdout);
      expect(s.hosts.find((h: { host: string }) => h.host === 'b')).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
      expect(s.models.find((m: { model: string }) => m.model === key('b1'))).toMatchObject({ host: 'b', state: 'unknown' });
      expect(s.models.find((m: { model: string }) => m.model === key('a1'))).toMatchObject({ state: 'running', routed: true });
      const plan = await p.serve(['plan']);
      expect(plan.code).toBe(1);
      expect(plan.stderr).toMatch(/host b: cannot reach the Docker daemon of host b/);
    } finally {
      await relay.start();
    }
    const back = await p.serve(['up'], { timeoutMs: 120_000 });
    expect(back.code, back.stderr).toBe(0);
  });
});
