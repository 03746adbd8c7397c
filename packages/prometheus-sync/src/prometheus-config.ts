import { toYaml } from './_yaml.js';
import { PrometheusConfigError } from './errors.js';

/** The job names of the generated configuration; the shipped dashboards query these. */
export const DEFAULT_JOB_NAMES = {
  /** Prometheus scraping itself. */
  prometheus: 'prometheus',
  /** The LiteLLM gateway. */
  gateway: 'litellm',
  /** The vLLM model containers (file_sd). */
  models: 'vllm',
  /** node-exporter. */
  nodeExporter: 'node',
  /** NVIDIA DCGM exporter. */
  dcgm: 'dcgm',
  /** The stack's watcher (idle models): wake latency and model phases. */
  watcher: 'inferstack-watcher',
} as const;

/** Job names, overridable. */
export type JobNames = { -readonly [K in keyof typeof DEFAULT_JOB_NAMES]: string };

/** An exporter on one of several Docker hosts: its target and the `host` label its series get. */
export interface HostTarget {
  /** `host:port` as Prometheus reaches it. */
  target: string;
  /** The Docker host's name (the `host` label of the model targets on it too). */
  host: string;
}

/** Options of {@link renderPrometheusConfig}. Targets are `host:port` as Prometheus reaches them. */
export interface PrometheusConfigOptions {
  /** The LiteLLM gateway, e.g. `{ target: 'litellm:4000' }`. Omit when there is none. */
  gateway?: {
    target: string;
    /**
     * LiteLLM mounts its metrics app at `/metrics`, which redirects to `/metrics/`.
     * @default '/metrics/'
     */
    metricsPath?: string;
    /**
     * File **inside the Prometheus container** holding a LiteLLM key, sent as `Authorization:
     * Bearer`. LiteLLM ≥ 1.8x protects `/metrics` by default when it has a master key
     * (`litellm_settings.require_auth_for_metrics_endpoint`, default true); without this the
     * scrape gets 401. The key stays out of prometheus.yml; the file must be readable by the
     * user Prometheus runs as (`nobody` in prom/prometheus).
     */
    bearerTokenFile?: string;
  };
  /**
   * Path of the model targets file **inside the Prometheus container**, e.g.
   * `/etc/prometheus/targets/vllm.json`. Required unless {@link modelDiscovery} is given.
   */
  modelTargetsFile?: string;
  /**
   * Instead of a targets file: how the model job finds its targets, as fields of its
   * scrape_config (e.g. `kubernetes_sd_configs` and `relabel_configs` on Kubernetes, where
   * Prometheus discovers the model Services itself). Kept as given; `what` says in the file's
   * header where the targets come from.
   */
  modelDiscovery?: { what: string; scrapeConfig: Record<string, unknown> };
  /** node-exporter, e.g. `node-exporter:9100`, or one per Docker host (each labelled with its `host`). */
  nodeExporter?: string | readonly HostTarget[];
  /** NVIDIA DCGM exporter, e.g. `dcgm-exporter:9400`, or one per Docker host with GPUs. */
  dcgm?: string | readonly HostTarget[];
  /** The stack's watcher, e.g. `mystack-watcher:8787` (wake latency, model phases). */
  watcher?: string;
  /**
   * File **inside the Prometheus container** holding the watcher's token, sent as
   * `Authorization: Bearer` (the watcher answers nothing else without it).
   */
  watcherTokenFile?: string;
  /**
   * The user's own scrape jobs (from models.yaml), kept as they are. Each needs a `job_name`
   * unique among all jobs.
   * @default []
   */
  extraScrapeConfigs?: readonly unknown[];
  /** @default '15s' */
  scrapeInterval?: string;
  /** @default the scrape interval */
  evaluationInterval?: string;
  /** Must not exceed the scrape interval. @default Prometheus' own (10s, or the interval when shorter) */
  scrapeTimeout?: string;
  /**
   * How often Prometheus re-reads the targets file even without a change event (a safety net
   * for file systems without inotify, e.g. some Docker Desktop mounts).
   * @default '30s'
   */
  targetsRefreshInterval?: string;
  /** Scrape Prometheus itself (`localhost:9090`). @default true */
  selfScrape?: boolean;
  /** @default DEFAULT_JOB_NAMES */
  jobNames?: Partial<JobNames>;
}

const DURATION = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
const TARGET = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9_.-]*):\d{1,5}$/;

function durationMs(s: string): number {
  const units: Record<string, number> = { y: 31_536_000_000, w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|[ywdhms])/g)) total += Number(m[1]) * (units[m[2] ?? ''] ?? 0);
  return total;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The text of a `prometheus.yml` for the stack: Prometheus itself, the LiteLLM gateway, the
 * model containers through file_sd (the file {@link writeTargetsFile} writes), node-exporter
 * and the DCGM exporter when given, then the user's extra jobs unchanged. Pure.
 *
 * Works with Prometheus 2.x and 3.x. Reloading the result (`POST /-/reload`) needs Prometheus
 * started with `--web.enable-lifecycle`.
 *
 * @throws {PrometheusConfigError} every invalid target, duration and clashing job name at once
 */
export function renderPrometheusConfig(options: PrometheusConfigOptions): string {
  const problems: string[] = [];
  const jobs: JobNames = { ...DEFAULT_JOB_NAMES, ...options.jobNames };
  const scrapeInterval = options.scrapeInterval ?? '15s';
  const evaluationInterval = options.evaluationInterval ?? scrapeInterval;
  const refresh = options.targetsRefreshInterval ?? '30s';

  const checkDuration = (name: string, value: string | undefined): void => {
    if (value !== undefined && (!DURATION.test(value) || durationMs(value) === 0)) {
      problems.push(`${name} "${value}" is not a Prometheus duration (e.g. 15s, 1m, 500ms)`);
    }
  };
  checkDuration('scrapeInterval', scrapeInterval);
  checkDuration('evaluationInterval', evaluationInterval);
  checkDuration('scrapeTimeout', options.scrapeTimeout);
  checkDuration('targetsRefreshInterval', refresh);
  if (options.scrapeTimeout && DURATION.test(options.scrapeTimeout) && durationMs(options.scrapeTimeout) > durationMs(scrapeInterval)) {
    problems.push(`scrapeTimeout ${options.scrapeTimeout} is longer than scrapeInterval ${scrapeInterval}`);
  }
  const checkTarget = (name: string, value: string | undefined): void => {
    if (value !== undefined && !TARGET.test(value)) problems.push(`${name} "${value}" is not a host:port target`);
  };
  checkTarget('gateway.target', options.gateway?.target);
  const hostTargets = (name: string, value: string | readonly HostTarget[] | undefined): void => {
    if (typeof value === 'string' || value === undefined) return checkTarget(name, value);
    const seen = new Set<string>();
    value.forEach((t, i) => {
      checkTarget(`${name}[${i}].target`, t.target);
      if (seen.has(t.host)) problems.push(`${name}: host "${t.host}" is given twice`);
      seen.add(t.host);
    });
  };
  hostTargets('nodeExporter', options.nodeExporter);
  hostTargets('dcgm', options.dcgm);
  checkTarget('watcher', options.watcher);
  if (options.modelDiscovery === undefined && options.modelTargetsFile === undefined) {
    problems.push('modelTargetsFile or modelDiscovery is needed: where the model targets come from');
  } else if (options.modelDiscovery !== undefined && options.modelTargetsFile !== undefined) {
    problems.push('give modelTargetsFile or modelDiscovery, not both');
  } else if (options.modelTargetsFile !== undefined && !options.modelTargetsFile.startsWith('/')) {
    problems.push(`modelTargetsFile "${options.modelTargetsFile}" must be an absolute path inside the Prometheus container`);
  }
  const discovery = options.modelDiscovery?.scrapeConfig ?? {};
  for (const field of ['job_name', 'metrics_path']) {
    if (field in discovery) problems.push(`modelDiscovery.scrapeConfig may not set ${field}: inferstack sets it`);
  }
  const metricsPath = options.gateway?.metricsPath ?? '/metrics/';
  if (!metricsPath.startsWith('/')) problems.push(`gateway.metricsPath "${metricsPath}" must start with /`);
  const tokenFile = options.gateway?.bearerTokenFile;
  if (tokenFile !== undefined && !tokenFile.startsWith('/')) {
    problems.push(`gateway.bearerTokenFile "${tokenFile}" must be an absolute path inside the Prometheus container`);
  }
  if (options.watcherTokenFile !== undefined && !options.watcherTokenFile.startsWith('/')) {
    problems.push(`watcherTokenFile "${options.watcherTokenFile}" must be an absolute path inside the Prometheus container`);
  }

  const scrapeConfigs: Record<string, unknown>[] = [];
  if (options.selfScrape ?? true) {
    scrapeConfigs.push({ job_name: jobs.prometheus, static_configs: [{ targets: ['localhost:9090'] }] });
  }
  if (options.gateway) {
    const tokenFile = options.gateway.bearerTokenFile;
    scrapeConfigs.push({
      job_name: jobs.gateway,
      metrics_path: metricsPath,
      ...(tokenFile ? { authorization: { type: 'Bearer', credentials_file: tokenFile } } : {}),
      static_configs: [{ targets: [options.gateway.target] }],
    });
  }
  scrapeConfigs.push({
    job_name: jobs.models,
    metrics_path: '/metrics',
    ...(options.modelDiscovery ? options.modelDiscovery.scrapeConfig : { file_sd_configs: [{ files: [options.modelTargetsFile], refresh_interval: refresh }] }),
  });
  // One static group per host, so every series carries the host it comes from.
  const staticConfigs = (value: string | readonly HostTarget[]) =>
    typeof value === 'string' ? [{ targets: [value] }] : value.map((t) => ({ targets: [t.target], labels: { host: t.host } }));
  if (options.nodeExporter && options.nodeExporter.length > 0) {
    scrapeConfigs.push({ job_name: jobs.nodeExporter, static_configs: staticConfigs(options.nodeExporter) });
  }
  if (options.dcgm && options.dcgm.length > 0) {
    scrapeConfigs.push({ job_name: jobs.dcgm, static_configs: staticConfigs(options.dcgm) });
  }
  if (options.watcher) {
    scrapeConfigs.push({
      job_name: jobs.watcher,
      ...(options.watcherTokenFile ? { authorization: { type: 'Bearer', credentials_file: options.watcherTokenFile } } : {}),
      static_configs: [{ targets: [options.watcher] }],
    });
  }

  const names = new Map<string, string>(scrapeConfigs.map((c) => [String(c.job_name), 'inferstack']));
  (options.extraScrapeConfigs ?? []).forEach((extra, i) => {
    const where = `extraScrapeConfigs[${i}]`;
    if (!isPlainObject(extra)) {
      problems.push(`${where} must be a mapping (a Prometheus scrape_config)`);
      return;
    }
    const name = extra.job_name;
    if (typeof name !== 'string' || name === '') {
      problems.push(`${where} has no job_name`);
      return;
    }
    const owner = names.get(name);
    if (owner) {
      problems.push(`${where}: job_name "${name}" is already used by ${owner === 'inferstack' ? 'a job inferstack generates' : owner}`);
      return;
    }
    names.set(name, where);
    scrapeConfigs.push(extra);
  });
  if (problems.length) throw new PrometheusConfigError(problems);

  const global: Record<string, string> = { scrape_interval: scrapeInterval, evaluation_interval: evaluationInterval };
  if (options.scrapeTimeout) global.scrape_timeout = options.scrapeTimeout;
  const header = [
    '# Generated by inferstack (@inferstack/prometheus-sync); changes here are overwritten.',
    options.modelDiscovery
      ? `# Model targets: ${options.modelDiscovery.what}.`
      : `# Model targets come from ${options.modelTargetsFile} (file_sd), rewritten for the running containers.`,
    '',
  ].join('\n');
  try {
    return header + toYaml({ global, scrape_configs: scrapeConfigs });
  } catch (error) {
    throw new PrometheusConfigError([`extraScrapeConfigs cannot be written as YAML: ${(error as Error).message}`]);
  }
}
