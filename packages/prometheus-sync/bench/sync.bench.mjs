#!/usr/bin/env node
// syncPrometheusTargets with 1, 10 and 100 model targets against the REAL Prometheus (2.42, the
// inferstack-test/prometheus image), started here with --web.enable-lifecycle and a file_sd
// directory bind-mounted from the host, as the CLI runs it.
//
//   pnpm --filter @inferstack/prometheus-sync bench      (builds dist and the image first)
//
// Each run replaces the whole target list (a change every time), so it measures: render + atomic
// write + POST /-/reload ("sync"), then the wait until /api/v1/targets lists exactly the new
// targets ("confirm"). Targets are names that do not resolve: discovery, not scraping, is measured.
// Target: sync < 1 s at 100 targets. Confirm is bounded below by Prometheus 2.x itself (discovery
// updates reach the scrape manager at most every 5 s, applied at most every 5 s).
//
// Options (env): BENCH_RUNS (default 3).
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPrometheusClient, renderPrometheusConfig, syncPrometheusTargets } from '../dist/index.js';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = [1, 10, 100];
const TARGET_MS = 1000;
const IMAGE = 'inferstack-test/prometheus:2.42';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const id = `bench-${Date.now().toString(36)}`;
const label = `inferstack.test=${id}`;

const docker = async (...args) => (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

const models = (n, set) =>
  Array.from({ length: n }, (_, i) => ({
    key: `model-${set}-${i}`,
    address: `inference-bench-${set}-${i}:8000`,
    servedModelName: `org/model-${i}`,
    gpus: { kind: 'devices', indices: [i % 8] },
  }));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

async function main() {
  await docker('info', '--format', '{{.ServerVersion}}').catch(() => {
    throw new Error("no Docker daemon answers (run 'bash scripts/ensure-docker.sh')");
  });
  await run('bash', [join(repoRoot, 'images/prometheus/build.sh'), 'prometheus'], { cwd: repoRoot });

  const dir = await mkdtemp(join(tmpdir(), 'inferstack-prometheus-bench-'));
  let container;
  try {
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'targets'), { mode: 0o755 });
    await writeFile(join(dir, 'prometheus.yml'), renderPrometheusConfig({ modelTargetsFile: '/etc/inferstack/targets/vllm.json', scrapeInterval: '5s' }), { mode: 0o644 });
    container = await docker(
      'run', '-d', '--label', label, '-p', '127.0.0.1::9090', '-v', `${dir}:/etc/inferstack:ro`, IMAGE,
      '--config.file=/etc/inferstack/prometheus.yml', '--storage.tsdb.path=/prometheus', '--web.enable-lifecycle',
    );
    const port = (await docker('port', container, '9090/tcp')).split('\n')[0].split(':').pop();
    const client = createPrometheusClient({ baseUrl: `http://127.0.0.1:${port}` });
    await client.waitUntilReady({ timeoutMs: 30_000 });
    const targetsFile = join(dir, 'targets', 'vllm.json');
    // Warm-up: first reload and first discovery.
    await syncPrometheusTargets({ models: models(1, 'warm'), targetsFile, client, confirm: { timeoutMs: 30_000 } });

    const rows = [];
    for (const n of SIZES) {
      const sync = [];
      const confirm = [];
      const total = [];
      for (let r = 0; r < RUNS; r++) {
        const t0 = performance.now();
        const result = await syncPrometheusTargets({ models: models(n, `${n}r${r}`), targetsFile, client, confirm: { timeoutMs: 30_000, intervalMs: 50 } });
        const elapsed = performance.now() - t0;
        if (!result.changed || result.reloaded !== 'api' || !result.confirmed || result.targets.length !== n) {
          throw new Error(`sync of ${n} not confirmed: ${JSON.stringify({ ...result, groups: undefined, targets: result.targets.length })}`);
        }
        sync.push(result.timings.writeMs + result.timings.reloadMs);
        confirm.push(result.timings.confirmMs);
        total.push(elapsed);
      }
      const t0 = performance.now();
      const again = await syncPrometheusTargets({ models: models(n, `${n}r${RUNS - 1}`), targetsFile, client });
      const unchanged = performance.now() - t0;
      if (again.changed || !again.confirmed) throw new Error(`unchanged sync of ${n} changed or was not confirmed`);
      rows.push({ n, sync: median(sync), syncMax: Math.max(...sync), confirm: median(confirm), confirmMin: Math.min(...confirm), confirmMax: Math.max(...confirm), total: median(total), unchanged });
    }

    const header = ['targets', 'sync (write+reload)', 'max', 'confirm (listed)', 'min–max', 'total', 'unchanged sync', `sync < ${TARGET_MS} ms`];
    const lines = rows.map((r) => [
      String(r.n),
      ms(r.sync),
      ms(r.syncMax),
      ms(r.confirm),
      `${ms(r.confirmMin)}–${ms(r.confirmMax)}`,
      ms(r.total),
      ms(r.unchanged),
      r.syncMax < TARGET_MS ? 'yes' : 'NO',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
    console.log(`\nsyncPrometheusTargets against Prometheus 2.42 (${IMAGE}), ${RUNS} runs per size, medians\n`);
    console.log(fmt(header));
    for (const l of lines) console.log(fmt(l));
    console.log(
      '\nconfirm = until /api/v1/targets lists exactly the new targets. Prometheus 2.x passes discovery\n' +
        'changes to its scrape manager at most every 5 s, which applies them at most every 5 s: 0–10 s.',
    );
    if (rows.some((r) => r.syncMax >= TARGET_MS)) process.exitCode = 1;
  } finally {
    if (container) await docker('rm', '-f', '-v', container).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
