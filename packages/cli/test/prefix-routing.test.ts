// `routing: prefix` against the real LiteLLM (config-file mode, inferstack's plugin) and two
// vLLM stand-in replicas that imitate vLLM's prefix caching: requests that start with the same
// document reach the same replica, so its prefix cache serves them; requests that all share one
// prefix still spread once a replica is busier than the others (bounded loads).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN, createProject, docker, freePort, type Project } from './_harness.js';

const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
const MASTER_KEY = 'sk-test-master-prefix-0123456789';

/** A long document (about 400 stand-in tokens), different for each `n`. */
const documentFor = (n: number) => Array.from({ length: 200 }, (_, i) => `doc${n}-line${i}`).join(' ');

describe('routing: prefix (real LiteLLM with the plugin, stand-ins with a prefix cache)', () => {
  let p: Project;
  let port: number;
  const served = () => `served-${p.prefix}-a`;

  const ask = async (document: string, question: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: served(), messages: [{ role: 'system', content: document }, { role: 'user', content: question }], max_tokens: 4 }),
      signal: AbortSignal.timeout(30_000),
    });
    await r.json();
    expect(r.status).toBe(200);
    return r.headers.get('x-litellm-model-id') ?? 'none';
  };
  /** The replicas' prefix cache counters, from each stand-in's /metrics (read through Docker: the test has no route to their network). */
  const cacheCounters = async () => {
    const out: Record<string, { queries: number; hits: number }> = {};
    const containers = await docker.listContainers({ filters: { label: [p.labels, `inference.model=${p.prefix}-a`] } });
    for (const c of containers) {
      const exec = await docker.getContainer(c.Id).exec({ Cmd: ['node', '-e', "fetch('http://127.0.0.1:8000/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      const text = await new Promise<string>((resolve) => {
        let buf = '';
        stream.on('data', (d: Buffer) => (buf += d.toString('latin1')));
        stream.on('end', () => resolve(buf));
      });
      const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
      out[c.Names[0]!.slice(1)] = { queries: value('vllm:prefix_cache_queries_total'), hits: value('vllm:prefix_cache_hits_total') };
    }
    return out;
  };

  beforeAll(async () => {
    port = await freePort();
    p = createProject('prefix', { LITELLM_MASTER_KEY: MASTER_KEY });
    p.writeModels(
      [
        `network: ${p.network}`,
        `gateway: {image: ${LITELLM}, container-name: ${p.prefix}-litellm, port: ${port}}`,
        'monitoring: {mode: none}',
        'models:',
        `  - ${p.prefix}-a:`,
        '      model: test/a',
        `      image: ${STANDIN}`,
        '      pull: never',
        '      gpus: none',
        `      served-model-name: ${served()}`,
        '      replicas: 2',
        '      routing: prefix',
        '      env: {STANDIN_LOAD_DELAY: "1", STANDIN_RESPONSE_DELAY_MS: "20", STANDIN_PREFILL_MS_PER_TOKEN: "0.5"}',
      ].join('\n') + '\n',
    );
    const up = await p.serve(['up'], { timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await p.serve(['down', '--all', '--drain-timeout', '0']).catch(() => {});
    await p.cleanup();
  });

  it('sends the requests that start with one document to one replica, whose prefix cache then serves them', async () => {
    const byDocument = new Map<number, Set<string>>();
    for (let round = 0; round < 4; round++) {
      for (let d = 0; d < 12; d++) {
        const replica = await ask(documentFor(d), `question ${round} about document ${d}?`);
        byDocument.set(d, new Set([...(byDocument.get(d) ?? []), replica]));
      }
    }
    // Each document always on the same replica; the documents spread over both.
    for (const [d, replicas] of byDocument) expect(replicas.size, `document ${d}: ${[...replicas].join(', ')}`).toBe(1);
    const used = new Set([...byDocument.values()].flatMap((s) => [...s]));
    expect(used.size).toBe(2);
    // Three of four requests per document found its blocks cached.
    const counters = Object.values(await cacheCounters());
    const hits = counters.reduce((n, c) => n + c.hits, 0);
    const queries = counters.reduce((n, c) => n + c.queries, 0);
    expect(hits / queries).toBeGreaterThan(0.6);
  });

  it('spreads requests that all share one prefix once its replica is busier than the other', async () => {
    const shared = documentFor(99);
    const answered = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(shared, `concurrent question ${i}?`)));
    const counts = new Map<string, number>();
    for (const r of answered) counts.set(r, (counts.get(r) ?? 0) + 1);
    expect(counts.size, JSON.stringify([...counts])).toBe(2);
    // The replica the prefix hashes to takes the larger share.
    expect(Math.max(...counts.values())).toBeGreaterThanOrEqual(6);
  });
});
