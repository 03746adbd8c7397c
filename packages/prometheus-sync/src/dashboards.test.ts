import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  DASHBOARDS_DIR,
  type GrafanaPanel,
  PROVISIONING_DIR,
  dashboardQueries,
  listDashboardQueries,
  loadDashboards,
  substituteVariables,
} from './dashboards.js';
import { toYaml } from './_yaml.js';
import { DEFAULT_JOB_NAMES } from './prometheus-config.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const promtool = await run('promtool', ['--version']).then(
  () => true,
  () => false,
);

const dashboards = await loadDashboards();

function allPanels(panels: readonly GrafanaPanel[]): GrafanaPanel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('shipped dashboards', () => {
  test('the four dashboards, with unique uids and titles', () => {
    expect(dashboards.map((d) => d.file)).toEqual(['gateway.json', 'overview.json', 'system.json', 'vllm.json']);
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { dashboard } of dashboards) {
      expect(dashboard.uid).toMatch(/^inferstack-[a-z-]+$/);
      expect(dashboard.title).toMatch(/^inferstack \/ /);
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    }
  });

  test.each(dashboards.map((d) => [d.file, d] as const))('%s: panels, datasources, targets, ids, grid', (_, { dashboard }) => {
    const panels = allPanels(dashboard.panels);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.title, `panel ${panel.id}`).toBeTruthy();
      expect(panel.gridPos, `panel ${panel.id}`).toBeDefined();
      const { x, w } = panel.gridPos ?? { x: 0, w: 0 };
      expect(x + w, `panel ${panel.id} fits 24 columns`).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(['${DS_PROMETHEUS}', 'prometheus'], `panel ${panel.id} datasource`).toContain(panel.datasource?.uid);
      expect(panel.targets?.length, `panel ${panel.id} targets`).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const t of panel.targets ?? []) {
        expect(t.expr?.trim(), `panel ${panel.id} ${t.refId} expr`).toBeTruthy();
        expect(t.datasource?.uid).toBe(panel.datasource?.uid);
      }
    }
  });

  test('every dashboard has the data source variable; model dashboards a model variable', () => {
    for (const { file, dashboard } of dashboards) {
      const vars = dashboard.templating?.list ?? [];
      expect(vars.find((v) => v.name === 'DS_PROMETHEUS')?.type, file).toBe('datasource');
      if (file !== 'system.json') expect(vars.some((v) => v.name === 'model_name' || v.name === 'model'), file).toBe(true);
      for (const v of vars.filter((x) => x.type === 'query')) expect(v.allValue, `${file} $${v.name}`).toBe('.*');
    }
  });

  test('template variables are only used as regex matchers (so "All" = .* works)', () => {
    for (const { file, dashboard } of dashboards) {
      const names = (dashboard.templating?.list ?? []).filter((v) => v.type === 'query').map((v) => v.name);
      for (const q of dashboardQueries(dashboard)) {
        for (const name of names) {
          const uses = q.expr.split(`$${name}`).length - 1;
          const regexUses = q.expr.split(`=~"$${name}"`).length - 1;
          expect(regexUses, `${file} panel ${q.panelId}: ${q.expr}`).toBe(uses);
        }
      }
    }
  });

  test('KV-cache panels read vllm:kv_cache_usage_perc first and fall back to vllm:gpu_cache_usage_perc', async () => {
    const queries = await listDashboardQueries();
    const kv = queries.filter((q) => q.expr.includes('cache_usage_perc'));
    expect(kv.length).toBeGreaterThanOrEqual(2);
    for (const q of kv) expect(q.expr).toMatch(/vllm:kv_cache_usage_perc.* or .*vllm:gpu_cache_usage_perc/);
  });

  test('the vLLM dashboard covers the metrics the brief asks for', async () => {
    const vllm = (await listDashboardQueries()).filter((q) => q.dashboardUid === 'inferstack-vllm').map((q) => q.expr).join('\n');
    for (const metric of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'histogram_quantile(0.5, sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket',
      'histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket',
      'vllm:e2e_request_latency_seconds_bucket',
      'rate(vllm:prompt_tokens_total',
      'rate(vllm:generation_tokens_total',
    ]) {
      expect(vllm).toContain(metric);
    }
  });

  describe('vLLM dashboard, per replica', () => {
    const vllm = dashboards.find((d) => d.file === 'vllm.json')!.dashboard;
    const panel = (title: string) => allPanels(vllm.panels).find((p) => p.title === title)!;
    const PER_REPLICA = ['Requests running', 'Requests waiting', 'KV-cache usage', 'Preemptions/s', 'Request rate'];
    const PER_MODEL = ['Finished requests/s', 'Time to first token', 'End-to-end request latency', 'Inter-token latency', 'Token throughput'];

    test('load, KV cache, preemptions and request rate: one series per replica, a target without the label read as replica 0', () => {
      for (const title of PER_REPLICA) {
        for (const t of panel(title).targets ?? []) {
          for (const part of t.expr?.split(' or ') ?? []) {
            expect(part, title).toMatch(/^(sum|max) by \(model_name, replica\) \(label_replace\(.*, "replica", "0", "replica", ""\)\)$/);
          }
          expect(t.legendFormat, title).toBe('{{model_name}} #{{replica}}');
        }
      }
    });

    test('latency, finished requests and tokens stay per model (all replicas together)', () => {
      for (const title of PER_MODEL) {
        for (const t of panel(title).targets ?? []) {
          expect(t.expr, title).not.toMatch(/by \([^)]*replica/);
          expect(t.legendFormat, title).toMatch(/^\{\{model_name\}\}/);
        }
      }
    });

    test('"Replicas serving": the model job\'s targets up, per model, not filtered by replica', () => {
      const p = panel('Replicas serving');
      expect(p.targets?.map((t) => [t.expr, t.legendFormat])).toEqual([
        [`sum by (model) (up{job="${DEFAULT_JOB_NAMES.models}", served_model_name=~"$model_name"})`, '{{model}}'],
      ]);
      expect(p.fieldConfig).toMatchObject({ defaults: { min: 0, decimals: 0, custom: { lineInterpolation: 'stepAfter' } } });
    });

    test('a replica variable, chained on the model, filters every vLLM series and the containers table', () => {
      const variable = vllm.templating?.list.find((v) => v.name === 'replica');
      expect(variable).toMatchObject({ type: 'query', includeAll: true, multi: true, allValue: '.*' });
      expect(variable?.definition).toBe('label_values(vllm:num_requests_running{model_name=~"$model_name"}, replica)');
      for (const q of dashboardQueries(vllm)) {
        for (const selector of q.expr.match(/vllm:\w+\{[^}]*\}/g) ?? []) expect(selector, q.panelTitle).toContain('replica=~"$replica"');
      }
      expect(panel('Model containers').targets?.[0]?.expr).toContain('replica=~"$replica"');
    });

    test.skipIf(!promtool)('per-replica queries on targets with and without the replica label (host promtool test rules)', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'dashboards-'));
      try {
        const queries = dashboardQueries(vllm);
        const running = queries.find((q) => q.panelTitle === 'Requests running')!.query;
        const serving = queries.find((q) => q.panelTitle === 'Replicas serving')!.query;
        // Two replicas of one model, and a model whose target was written before replicas.
        const series = [
          ['vllm:num_requests_running{model_name="m", model="m", replica="0"}', '2'],
          ['vllm:num_requests_running{model_name="m", model="m", replica="1"}', '5'],
          ['vllm:num_requests_running{model_name="old", model="old"}', '1'],
          // The same container in a user's own job, without inferstack's labels: adds to replica 0.
          ['vllm:num_requests_running{model_name="old", job="mine"}', '3'],
          ['up{job="vllm", model="m", served_model_name="m", replica="0"}', '1'],
          ['up{job="vllm", model="m", served_model_name="m", replica="1"}', '1'],
          ['up{job="vllm", model="old", served_model_name="old"}', '1'],
        ];
        await writeFile(join(dir, 'rules.yml'), toYaml({ groups: [] }));
        const tests = {
          rule_files: ['rules.yml'],
          evaluation_interval: '1m',
          tests: [
            {
              interval: '1m',
              input_series: series.map(([s, v]) => ({ series: s, values: v })),
              promql_expr_test: [
                {
                  expr: running,
                  eval_time: '0m',
                  exp_samples: [
                    { labels: '{model_name="m", replica="0"}', value: 2 },
                    { labels: '{model_name="m", replica="1"}', value: 5 },
                    { labels: '{model_name="old", replica="0"}', value: 4 },
                  ],
                },
                {
                  expr: serving,
                  eval_time: '0m',
                  exp_samples: [
                    { labels: '{model="m"}', value: 2 },
                    { labels: '{model="old"}', value: 1 },
                  ],
                },
              ],
            },
          ],
        };
        await writeFile(join(dir, 'tests.yml'), toYaml(tests));
        const { stdout } = await run('promtool', ['test', 'rules', join(dir, 'tests.yml')]);
        expect(stdout).toContain('SUCCESS');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  test('listDashboardQueries: every expression, runnable (no variables left)', async () => {
    const queries = await listDashboardQueries();
    const exprCount = (await Promise.all(dashboards.map((d) => readFile(d.path, 'utf8')))).join('').split('"expr":').length - 1;
    expect(queries).toHaveLength(exprCount);
    for (const q of queries) expect(q.query, q.expr).not.toMatch(/\$|\[\[/);
    expect(queries.find((q) => q.expr.includes('$model_name'))?.query).toContain('model_name=~".*"');
    expect(queries.find((q) => q.expr.includes('$__rate_interval'))?.query).toContain('[1m]');
  });

  test('listDashboardQueries takes variable values', async () => {
    const queries = await listDashboardQueries({ variables: { model_name: 'Qwen/Qwen3-0.6B', __rate_interval: '30s' } });
    const q = queries.find((x) => x.dashboardUid === 'inferstack-vllm' && x.expr.includes('generation_tokens_total'));
    expect(q?.query).toContain('model_name=~"Qwen/Qwen3-0.6B"');
    expect(q?.query).toContain('[30s]');
  });

  test.skipIf(!promtool)('every expression parses (host promtool check rules)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dashboards-'));
    try {
      const queries = await listDashboardQueries();
      const rules = { groups: [{ name: 'dashboards', rules: queries.map((q, i) => ({ record: `dashboard:q${i}`, expr: q.query })) }] };
      await writeFile(join(dir, 'rules.yml'), toYaml(rules));
      const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'rules.yml')]);
      expect(stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the JSON files are what scripts/dashboards.mjs generates', async () => {
    await expect(run(process.execPath, ['scripts/dashboards.mjs', '--check'], { cwd: packageDir })).resolves.toBeDefined();
  });
});

describe('substituteVariables', () => {
  test('all Grafana syntaxes; unknown names stay', () => {
    expect(substituteVariables('a{x=~"$m"} ${m} ${m:regex} [[m]] $mm "$1"', { m: '.*' })).toBe('a{x=~".*"} .* .* .* $mm "$1"');
  });
});

describe('provisioning files', () => {
  test('datasource uid prometheus; dashboards provider pointing at the mounted directory', async () => {
    const ds = await readFile(join(PROVISIONING_DIR, 'datasources', 'prometheus.yaml'), 'utf8');
    expect(ds).toMatch(/^apiVersion: 1$/m);
    expect(ds).toMatch(/^\s+uid: prometheus$/m);
    expect(ds).toMatch(/^\s+type: prometheus$/m);
    const dash = await readFile(join(PROVISIONING_DIR, 'dashboards', 'inferstack.yaml'), 'utf8');
    expect(dash).toMatch(/^\s+path: \/var\/lib\/grafana\/dashboards\/inferstack$/m);
    expect(DASHBOARDS_DIR.endsWith('/dashboards/')).toBe(true);
  });

  test('the package ships dashboards and provisioning files', async () => {
    const pkg = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'dashboards', 'provisioning']));
  });
});
