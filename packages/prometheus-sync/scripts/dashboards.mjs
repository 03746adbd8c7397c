#!/usr/bin/env node
// Generates the Grafana dashboards in ../dashboards/*.json. The JSON files are what ships (and
// what Grafana provisioning reads); this script keeps their layout, ids and datasource wiring
// consistent. Edit here, then run `pnpm --filter @inferstack/prometheus-sync dashboards`.
//
//   node scripts/dashboards.mjs           write the files
//   node scripts/dashboards.mjs --check   exit 1 when a file differs from what this generates
//
// Metric names: vLLM per docs/upstream/vllm.md (kv_cache_usage_perc first, the pre-0.12
// gpu_cache_usage_perc as fallback); LiteLLM as exposed by litellm 1.108 with
// `callbacks: ["prometheus"]` (counters end in _total, histograms in _bucket); node-exporter
// 1.x; NVIDIA dcgm-exporter's DCGM_FI_DEV_* gauges. Job names as renderPrometheusConfig writes them.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const outDir = fileURLToPath(new URL('../dashboards/', import.meta.url));
const DS = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
const JOB = { gateway: 'litellm', models: 'vllm', node: 'node', dcgm: 'dcgm', prometheus: 'prometheus' };
const RATE = '$__rate_interval';

// ---------------------------------------------------------------------------------------------
// Building blocks

function datasourceVariable() {
  return {
    name: 'DS_PROMETHEUS',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  };
}

/** A multi-value query variable whose "All" is the regex `.*` (use it with `=~` only). */
function queryVariable(name, label, definition, { description } = {}) {
  return {
    name,
    label,
    ...(description ? { description } : {}),
    type: 'query',
    datasource: DS,
    definition,
    query: { query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    includeAll: true,
    allValue: '.*',
    multi: true,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  };
}

function target(refId, t) {
  const spec = typeof t === 'string' ? { expr: t } : t;
  return {
    refId,
    datasource: DS,
    editorMode: 'code',
    expr: spec.expr,
    legendFormat: spec.legend ?? '__auto',
    range: !spec.instant,
    instant: Boolean(spec.instant),
    ...(spec.format ? { format: spec.format } : {}),
  };
}

const targets = (list) => list.map((t, i) => target(String.fromCharCode(65 + i), t));

function timeseries(title, list, { unit = 'short', description, w = 12, h = 8, min, max, stack = false, decimals, steps = false } = {}) {
  return {
    type: 'timeseries',
    title,
    ...(description ? { description } : {}),
    datasource: DS,
    gridPos: { w, h },
    fieldConfig: {
      defaults: {
        unit,
        ...(min === undefined ? {} : { min }),
        ...(max === undefined ? {} : { max }),
        ...(decimals === undefined ? {} : { decimals }),
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: 'line',
          ...(steps ? { lineInterpolation: 'stepAfter' } : {}),
          lineWidth: 1,
          fillOpacity: stack ? 30 : 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets(list),
  };
}

function stat(title, list, { unit = 'short', description, w = 4, h = 4, mappings = [], thresholds, decimals } = {}) {
  return {
    type: 'stat',
    title,
    ...(description ? { description } : {}),
    datasource: DS,
    gridPos: { w, h },
    fieldConfig: {
      defaults: {
        unit,
        mappings,
        ...(decimals === undefined ? {} : { decimals }),
        color: { mode: 'thresholds' },
        thresholds: thresholds ?? { mode: 'absolute', steps: [{ color: 'green', value: null }] },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
      percentChangeColorMode: 'standard',
      showPercentChange: false,
      wideLayout: true,
    },
    targets: targets(list),
  };
}

function table(title, list, { description, w = 24, h = 8, hide = [] } = {}) {
  return {
    type: 'table',
    title,
    ...(description ? { description } : {}),
    datasource: DS,
    gridPos: { w, h },
    fieldConfig: { defaults: { custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false, filterable: true } }, overrides: [] },
    options: { showHeader: true, cellHeight: 'sm', frameIndex: 0 },
    transformations: [
      { id: 'organize', options: { excludeByName: Object.fromEntries(['Time', ...hide].map((n) => [n, true])), renameByName: { Value: 'value' } } },
    ],
    targets: targets(list.map((t) => ({ ...(typeof t === 'string' ? { expr: t } : t), instant: true, format: 'table' }))),
  };
}

function row(title) {
  return { type: 'row', title, collapsed: false, gridPos: { w: 24, h: 1 }, panels: [] };
}

/** Ids in order, and grid positions flowing left to right, rows on their own line. */
function layout(panels) {
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  return panels.map((panel, i) => {
    const { w, h } = panel.gridPos;
    if (panel.type === 'row' || x + w > 24) {
      y += lineHeight;
      x = 0;
      lineHeight = 0;
    }
    const placed = { id: i + 1, ...panel, gridPos: { h, w, x, y } };
    if (panel.type === 'row') {
      y += h;
    } else {
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    return placed;
  });
}

function dashboard({ uid, title, description, tags, variables, panels }) {
  return {
    uid,
    title,
    description,
    tags: ['inferstack', ...tags],
    editable: true,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    weekStart: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [{ type: 'dashboards', title: 'inferstack', tags: ['inferstack'], asDropdown: true, includeVars: false, keepTime: true, icon: 'external link', targetBlank: false, tooltip: '', url: '' }],
    templating: { list: [datasourceVariable(), ...variables] },
    panels: layout(panels),
  };
}

// ---------------------------------------------------------------------------------------------
// PromQL

const M = '{model_name=~"$model_name"}';
const quantile = (q, metric, by, sel) => `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket${sel}[${RATE}])))`;
/** The p50 and p95 of a histogram per `by`, as two targets of one panel. */
const p50p95 = (metric, by, sel) => [0.5, 0.95].map((q) => ({ expr: quantile(q, metric, by, sel), legend: `{{${by}}} p${q * 100}` }));
const kvCache = (sel, by = 'model_name') =>
  `max by (${by}) (vllm:kv_cache_usage_perc${sel}) or max by (${by}) (vllm:gpu_cache_usage_perc${sel})`;
// inter_token_latency replaced time_per_output_token; the old name is the fallback.
const itl = (q, sel) =>
  `${quantile(q, 'vllm:inter_token_latency_seconds', 'model_name', sel)} or ${quantile(q, 'vllm:time_per_output_token_seconds', 'model_name', sel)}`;
// Every model target carries a `replica` label ("0", "1", ...), except those written before
// replicas existed and the Kubernetes export's (one pod per model): those show as replica 0.
const R = '{model_name=~"$model_name", replica=~"$replica"}';
// Read before aggregating, so that such a series adds to replica 0's (a user's own job may scrape
// the same container) instead of clashing with it.
/** `agg by (model_name, replica)` of `vector`, a series without the replica label counting as replica 0. */
const perReplica = (agg, vector) => `${agg} by (model_name, replica) (label_replace(${vector}, "replica", "0", "replica", ""))`;
const REPLICA = '{{model_name}} #{{replica}}';
const upDown = [
  { type: 'value', options: { 0: { text: 'DOWN', color: 'red', index: 0 }, 1: { text: 'UP', color: 'green', index: 1 } } },
];
const pct = { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 0.8 }, { color: 'red', value: 0.95 }] };

// Requests to the gateway's own /metrics (a scrape without the key) would count as failures.
const G = '{requested_model=~"$model"}';
const GF = '{requested_model=~"$model", route!="/metrics"}';
const NODE = '{instance=~"$instance"}';
const FS = '{instance=~"$instance", fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|devtmpfs"}';

// ---------------------------------------------------------------------------------------------
// Dashboards

const overview = dashboard({
  uid: 'inferstack-overview',
  title: 'inferstack / Overview',
  description: 'The whole stack at a glance: model containers, gateway, load, latency, host.',
  tags: ['overview'],
  variables: [queryVariable('model_name', 'Model', 'label_values(vllm:num_requests_running, model_name)')],
  panels: [
    row('Stack'),
    stat('Model containers up', [{ expr: `sum(up{job="${JOB.models}"})`, legend: 'up' }, { expr: `count(up{job="${JOB.models}"})`, legend: 'targets' }], {
      description: 'Running model containers Prometheus scrapes successfully, out of all it knows (inferstack writes one target per running container).',
    }),
    stat('Gateway', [`max(up{job="${JOB.gateway}"})`], { mappings: upDown, description: 'LiteLLM /metrics scrape.' }),
    stat('Requests running', [`sum(vllm:num_requests_running${M})`]),
    stat('Requests waiting', [`sum(vllm:num_requests_waiting${M})`], {
      thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 1 }, { color: 'red', value: 20 }] },
    }),
    stat('Generation tokens/s', [`sum(rate(vllm:generation_tokens_total${M}[${RATE}]))`], { decimals: 1 }),
    stat('Gateway requests/s', [`sum(rate(litellm_proxy_total_requests_metric_total[${RATE}]))`], { unit: 'reqps', decimals: 2 }),
    row('Models'),
    timeseries('Generation throughput', [{ expr: `sum by (model_name) (rate(vllm:generation_tokens_total${M}[${RATE}]))`, legend: '{{model_name}}' }], {
      unit: 'short',
      description: 'Generated tokens per second, per served model.',
    }),
    timeseries('Time to first token (p95)', [{ expr: quantile(0.95, 'vllm:time_to_first_token_seconds', 'model_name', M), legend: '{{model_name}}' }], { unit: 's' }),
    timeseries('KV-cache usage', [{ expr: kvCache(M), legend: '{{model_name}}' }], { unit: 'percentunit', min: 0, max: 1 }),
    timeseries(
      'Requests running / waiting',
      [
        { expr: `sum by (model_name) (vllm:num_requests_running${M})`, legend: '{{model_name}} running' },
        { expr: `sum by (model_name) (vllm:num_requests_waiting${M})`, legend: '{{model_name}} waiting' },
      ],
      { min: 0 },
    ),
    row('Host'),
    timeseries('CPU busy', [{ expr: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[${RATE}])))`, legend: '{{instance}}' }], {
      unit: 'percent',
      min: 0,
      max: 100,
    }),
    timeseries('GPU utilisation (DCGM)', [{ expr: 'avg by (gpu) (DCGM_FI_DEV_GPU_UTIL)', legend: 'GPU {{gpu}}' }], { unit: 'percent', min: 0, max: 100 }),
    row('Targets'),
    table('Scrape targets', ['up'], { description: 'Every target Prometheus scrapes; value 1 = up.', hide: ['__name__'] }),
  ],
});

const vllm = dashboard({
  uid: 'inferstack-vllm',
  title: 'inferstack / vLLM models',
  description: 'Per-model vLLM metrics: load, KV cache, latency, throughput; per replica where replicas differ.',
  tags: ['vllm'],
  variables: [
    queryVariable('model_name', 'Model', 'label_values(vllm:num_requests_running, model_name)'),
    queryVariable('replica', 'Replica', 'label_values(vllm:num_requests_running{model_name=~"$model_name"}, replica)', {
      description: 'The replicas (containers) of the selected models to show: 0 is the first.',
    }),
  ],
  panels: [
    row('Load'),
    timeseries('Requests running', [{ expr: perReplica('sum', `vllm:num_requests_running${R}`), legend: REPLICA }], {
      w: 8,
      min: 0,
      description: 'Per replica.',
    }),
    timeseries('Requests waiting', [{ expr: perReplica('sum', `vllm:num_requests_waiting${R}`), legend: REPLICA }], {
      w: 8,
      min: 0,
      description: "Queued because the batch or the KV cache is full, per replica. A queue that lasts adds a replica to a model that scales (replicas: {min, max}).",
    }),
    timeseries('KV-cache usage', [{ expr: `${perReplica('max', `vllm:kv_cache_usage_perc${R}`)} or ${perReplica('max', `vllm:gpu_cache_usage_perc${R}`)}`, legend: REPLICA }], {
      w: 8,
      unit: 'percentunit',
      min: 0,
      max: 1,
      description: 'Per replica: vllm:kv_cache_usage_perc (vLLM ≥ 0.12), else vllm:gpu_cache_usage_perc.',
    }),
    timeseries('Preemptions/s', [{ expr: perReplica('sum', `rate(vllm:num_preemptions_total${R}[${RATE}])`), legend: REPLICA }], {
      w: 8,
      min: 0,
      description: 'Requests evicted from the KV cache, per replica: a sign of memory pressure.',
    }),
    timeseries(
      'Finished requests/s',
      [{ expr: `sum by (model_name, finished_reason) (rate(vllm:request_success_total${R}[${RATE}]))`, legend: '{{model_name}} {{finished_reason}}' }],
      { w: 16, unit: 'reqps', min: 0, stack: true, description: 'Per model, all its replicas together.' },
    ),
    row('Latency'),
    timeseries(
      'Time to first token',
      p50p95('vllm:time_to_first_token_seconds', 'model_name', R),
      { w: 8, unit: 's', min: 0, description: 'Per model, over all its replicas.' },
    ),
    timeseries(
      'End-to-end request latency',
      [
        { expr: quantile(0.5, 'vllm:e2e_request_latency_seconds', 'model_name', R), legend: '{{model_name}} p50' },
        { expr: quantile(0.95, 'vllm:e2e_request_latency_seconds', 'model_name', R), legend: '{{model_name}} p95' },
        {
          expr: `sum by (model_name) (rate(vllm:e2e_request_latency_seconds_sum${R}[${RATE}])) / sum by (model_name) (rate(vllm:e2e_request_latency_seconds_count${R}[${RATE}]))`,
          legend: '{{model_name}} mean',
        },
      ],
      { w: 8, unit: 's', min: 0, description: 'Per model, over all its replicas.' },
    ),
    timeseries(
      'Inter-token latency',
      [
        { expr: itl(0.5, R), legend: '{{model_name}} p50' },
        { expr: itl(0.95, R), legend: '{{model_name}} p95' },
      ],
      { w: 8, unit: 's', min: 0, description: 'Per model, over all its replicas.' },
    ),
    row('Throughput'),
    timeseries(
      'Token throughput',
      [
        { expr: `sum by (model_name) (rate(vllm:prompt_tokens_total${R}[${RATE}]))`, legend: '{{model_name}} prompt' },
        { expr: `sum by (model_name) (rate(vllm:generation_tokens_total${R}[${RATE}]))`, legend: '{{model_name}} generation' },
      ],
      { w: 12, min: 0, description: 'Tokens per second: prompt (prefill) and generated, per model (all its replicas together).' },
    ),
    timeseries(
      'Request rate',
      [{ expr: perReplica('sum', `rate(vllm:e2e_request_latency_seconds_count${R}[${RATE}])`), legend: REPLICA }],
      { w: 12, unit: 'reqps', min: 0, description: "Per replica: how the gateway spreads a model's requests over its replicas." },
    ),
    row('Containers'),
    timeseries('Replicas serving', [{ expr: `sum by (model) (up{job="${JOB.models}", served_model_name=~"$model_name"})`, legend: '{{model}}' }], {
      w: 8,
      min: 0,
      decimals: 0,
      steps: true,
      description:
        'Containers of each model (models.yaml key) Prometheus scrapes successfully. A model that scales (replicas: {min, max}) moves between its min and max here; no line, no container (stopped, or scaled to zero).',
    }),
    table('Model containers', [`up{job="${JOB.models}", served_model_name=~"$model_name", replica=~"$replica"}`], {
      w: 16,
      description: 'Targets inferstack wrote for the running containers, one per replica, with their labels; value 1 = scraped successfully.',
      hide: ['__name__', 'job'],
    }),
    row('Sleep and wake'),
    timeseries(
      'Sleep state',
      [
        {
          expr: `max by (model_name) (vllm:engine_sleep_state{model_name=~"$model_name", replica=~"$replica", sleep_state="weights_offloaded"}) + 2 * max by (model_name) (vllm:engine_sleep_state{model_name=~"$model_name", replica=~"$replica", sleep_state="discard_all"})`,
          legend: '{{model_name}}',
        },
        { expr: `3 * max by (model) (inferstack_model_phase{model=~"$model_name", phase="stopped-idle"})`, legend: '{{model}} stopped (idle)' },
      ],
      {
        w: 12,
        min: 0,
        max: 3,
        decimals: 0,
        description:
          '0 awake, 1 asleep (vLLM sleep mode level 1: weights in CPU memory), 2 deep asleep (level 2: weights dropped), from vllm:engine_sleep_state; 3 stopped for being idle, from the watcher.',
      },
    ),
    timeseries(
      'Wake latency',
      [
        { expr: quantile(0.5, 'inferstack_wake_duration_seconds', 'model, from', '{model=~"$model_name"}'), legend: '{{model}} from {{from}} p50' },
        { expr: quantile(0.95, 'inferstack_wake_duration_seconds', 'model, from', '{model=~"$model_name"}'), legend: '{{model}} from {{from}} p95' },
      ],
      { w: 12, unit: 's', min: 0, description: "From a request for a sleeping or idle-stopped model until it served again (the watcher's inferstack_wake_duration_seconds)." },
    ),
  ],
});

const gateway = dashboard({
  uid: 'inferstack-gateway',
  title: 'inferstack / Gateway (LiteLLM)',
  description: 'LiteLLM proxy: traffic, errors, latency, tokens, deployment health. Needs litellm_settings.callbacks: ["prometheus"].',
  tags: ['litellm', 'gateway'],
  variables: [queryVariable('model', 'Model', 'label_values(litellm_proxy_total_requests_metric_total, requested_model)')],
  panels: [
    row('Traffic'),
    stat('Gateway', [`max(up{job="${JOB.gateway}"})`], { mappings: upDown }),
    stat('Requests/s', [`sum(rate(litellm_proxy_total_requests_metric_total${G}[${RATE}]))`], { unit: 'reqps', decimals: 2 }),
    stat(
      'Error ratio',
      [`sum(rate(litellm_proxy_failed_requests_metric_total${GF}[${RATE}])) / sum(rate(litellm_proxy_total_requests_metric_total${G}[${RATE}]))`],
      { unit: 'percentunit', decimals: 1, thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: 0.01 }, { color: 'red', value: 0.05 }] } },
    ),
    stat('In-flight requests', ['sum(litellm_in_flight_requests)']),
    timeseries('Requests/s by model', [{ expr: `sum by (requested_model) (rate(litellm_proxy_total_requests_metric_total${G}[${RATE}]))`, legend: '{{requested_model}}' }], {
      w: 8,
      unit: 'reqps',
      min: 0,
    }),
    timeseries('Requests/s by status', [{ expr: `sum by (status_code) (rate(litellm_proxy_total_requests_metric_total${G}[${RATE}]))`, legend: '{{status_code}}' }], {
      w: 8,
      unit: 'reqps',
      min: 0,
      stack: true,
    }),
    timeseries(
      'Failed requests/s',
      [{ expr: `sum by (requested_model, exception_class) (rate(litellm_proxy_failed_requests_metric_total${GF}[${RATE}]))`, legend: '{{requested_model}} {{exception_class}}' }],
      { w: 8, unit: 'reqps', min: 0 },
    ),
    row('Latency'),
    timeseries(
      'Total request latency',
      p50p95('litellm_request_total_latency_metric', 'requested_model', G),
      { w: 12, unit: 's', min: 0, description: 'From the client request to the gateway\'s answer.' },
    ),
    timeseries(
      'Backend (vLLM) latency',
      p50p95('litellm_llm_api_latency_metric', 'requested_model', G),
      { w: 12, unit: 's', min: 0 },
    ),
    timeseries(
      'Time to first token (streaming, p95)',
      [{ expr: quantile(0.95, 'litellm_llm_api_time_to_first_token_metric', 'requested_model', G), legend: '{{requested_model}}' }],
      { w: 12, unit: 's', min: 0 },
    ),
    timeseries(
      'Gateway overhead (p95)',
      [{ expr: quantile(0.95, 'litellm_overhead_latency_metric', 'model_group', '{model_group=~"$model"}'), legend: '{{model_group}}' }],
      { w: 12, unit: 's', min: 0, description: 'Time LiteLLM itself adds to each request.' },
    ),
    row('Tokens'),
    timeseries(
      'Tokens/s',
      [
        { expr: `sum by (requested_model) (rate(litellm_input_tokens_metric_total${G}[${RATE}]))`, legend: '{{requested_model}} input' },
        { expr: `sum by (requested_model) (rate(litellm_output_tokens_metric_total${G}[${RATE}]))`, legend: '{{requested_model}} output' },
      ],
      { w: 24, min: 0 },
    ),
    row('Deployments'),
    timeseries(
      'Deployment state',
      [{ expr: 'max by (litellm_model_name, api_base) (litellm_deployment_state)', legend: '{{litellm_model_name}} {{api_base}}' }],
      { w: 12, min: 0, max: 2, decimals: 0, description: '0 = healthy, 1 = partial outage, 2 = complete outage.' },
    ),
    timeseries(
      'Deployment responses/s',
      [
        { expr: `sum by (api_base) (rate(litellm_deployment_success_responses_total{model_group=~"$model"}[${RATE}]))`, legend: '{{api_base}} ok' },
        { expr: `sum by (api_base) (rate(litellm_deployment_failure_responses_total{model_group=~"$model"}[${RATE}]))`, legend: '{{api_base}} failed' },
      ],
      { w: 12, unit: 'reqps', min: 0, description: 'Per backend (vLLM container) behind the gateway.' },
    ),
  ],
});

const system = dashboard({
  uid: 'inferstack-system',
  title: 'inferstack / System',
  description: 'Host (node-exporter), GPUs (DCGM exporter) and Prometheus itself.',
  tags: ['system'],
  variables: [queryVariable('instance', 'Host', 'label_values(node_uname_info, instance)')],
  panels: [
    row('CPU and memory'),
    timeseries('CPU busy', [{ expr: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", instance=~"$instance"}[${RATE}])))`, legend: '{{instance}}' }], {
      w: 8,
      unit: 'percent',
      min: 0,
      max: 100,
    }),
    timeseries(
      'Load average',
      [
        { expr: `node_load1${NODE}`, legend: '{{instance}} 1m' },
        { expr: `node_load5${NODE}`, legend: '{{instance}} 5m' },
        { expr: `count by (instance) (node_cpu_seconds_total{mode="idle", instance=~"$instance"})`, legend: '{{instance}} cores' },
      ],
      { w: 8, min: 0 },
    ),
    timeseries(
      'Memory used',
      [{ expr: `1 - node_memory_MemAvailable_bytes${NODE} / node_memory_MemTotal_bytes${NODE}`, legend: '{{instance}}' }],
      { w: 8, unit: 'percentunit', min: 0, max: 1 },
    ),
    row('Disk and network'),
    timeseries('Disk space used', [{ expr: `1 - node_filesystem_avail_bytes${FS} / node_filesystem_size_bytes${FS}`, legend: '{{instance}} {{mountpoint}}' }], {
      w: 8,
      unit: 'percentunit',
      min: 0,
      max: 1,
      description: 'The Hugging Face cache grows with every model: watch its file system.',
    }),
    timeseries(
      'Disk I/O',
      [
        { expr: `sum by (instance) (rate(node_disk_read_bytes_total${NODE}[${RATE}]))`, legend: '{{instance}} read' },
        { expr: `sum by (instance) (rate(node_disk_written_bytes_total${NODE}[${RATE}]))`, legend: '{{instance}} written' },
      ],
      { w: 8, unit: 'Bps', min: 0 },
    ),
    timeseries(
      'Network',
      [
        { expr: `sum by (instance) (rate(node_network_receive_bytes_total{instance=~"$instance", device!="lo"}[${RATE}]))`, legend: '{{instance}} received' },
        { expr: `sum by (instance) (rate(node_network_transmit_bytes_total{instance=~"$instance", device!="lo"}[${RATE}]))`, legend: '{{instance}} sent' },
      ],
      { w: 8, unit: 'Bps', min: 0 },
    ),
    row('GPUs (DCGM exporter)'),
    timeseries('GPU utilisation', [{ expr: 'avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)', legend: '{{Hostname}} GPU {{gpu}}' }], {
      unit: 'percent',
      min: 0,
      max: 100,
    }),
    timeseries(
      'GPU memory used',
      [{ expr: 'max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))', legend: '{{Hostname}} GPU {{gpu}}' }],
      { unit: 'percentunit', min: 0, max: 1, description: 'vLLM reserves gpu-memory-utilization of each GPU up front: high is normal.' },
    ),
    timeseries('GPU temperature', [{ expr: 'max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP)', legend: '{{Hostname}} GPU {{gpu}}' }], { unit: 'celsius' }),
    timeseries('GPU power', [{ expr: 'max by (Hostname, gpu) (DCGM_FI_DEV_POWER_USAGE)', legend: '{{Hostname}} GPU {{gpu}}' }], { unit: 'watt', min: 0 }),
    row('Prometheus'),
    timeseries('Scrape duration', [{ expr: 'max by (job) (scrape_duration_seconds)', legend: '{{job}}' }], { unit: 's', min: 0 }),
    timeseries('Targets up by job', [{ expr: 'sum by (job) (up)', legend: '{{job}} up' }, { expr: 'count by (job) (up)', legend: '{{job}} total' }], { min: 0 }),
  ],
});

/** File name → dashboard. */
export function buildDashboards() {
  return { 'overview.json': overview, 'vllm.json': vllm, 'gateway.json': gateway, 'system.json': system };
}

async function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, json] of Object.entries(buildDashboards())) {
    const text = `${JSON.stringify(json, null, 2)}\n`;
    const file = `${outDir}${name}`;
    if (check) {
      const current = await readFile(file, 'utf8').catch(() => '');
      if (current !== text) {
        console.error(`dashboards/${name} differs from scripts/dashboards.mjs: run the script`);
        stale++;
      }
    } else {
      await writeFile(file, text);
      console.log(`wrote dashboards/${name}`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
