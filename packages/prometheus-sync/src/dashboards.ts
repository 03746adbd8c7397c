import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusSyncError } from './errors.js';

/**
 * The Grafana dashboards shipped with the package (`overview`, `vllm`, `gateway`, `system`).
 * Mount this directory where `provisioning/dashboards/inferstack.yaml` points
 * (`/var/lib/grafana/dashboards/inferstack`).
 */
export const DASHBOARDS_DIR: string = fileURLToPath(new URL('../dashboards/', import.meta.url));

/**
 * Grafana provisioning files shipped with the package: `datasources/prometheus.yaml` (uid
 * `prometheus`, URL `http://prometheus:9090`) and `dashboards/inferstack.yaml`. Mount it at
 * `/etc/grafana/provisioning`.
 */
export const PROVISIONING_DIR: string = fileURLToPath(new URL('../provisioning/', import.meta.url));

/** A data source reference in a dashboard. */
export interface GrafanaDatasourceRef {
  type?: string;
  uid?: string;
}

/** A query of a panel (Prometheus targets have `expr`). */
export interface GrafanaTarget {
  refId: string;
  expr?: string;
  datasource?: GrafanaDatasourceRef;
  legendFormat?: string;
  [key: string]: unknown;
}

/** A panel; rows may hold panels of their own. */
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  datasource?: GrafanaDatasourceRef;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  [key: string]: unknown;
}

/** A template variable. */
export interface GrafanaVariable {
  name: string;
  type: string;
  allValue?: string;
  includeAll?: boolean;
  [key: string]: unknown;
}

/** The parts of Grafana's dashboard JSON model this package reads. */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating?: { list: GrafanaVariable[] };
  [key: string]: unknown;
}

/** A dashboard file. */
export interface DashboardFile {
  /** File name, e.g. `vllm.json`. */
  file: string;
  /** Absolute path. */
  path: string;
  dashboard: GrafanaDashboard;
}

/** One PromQL expression of a dashboard, as written and ready to run. */
export interface DashboardQuery {
  /** File name, e.g. `vllm.json` (empty when the dashboard did not come from a file). */
  file: string;
  dashboardUid: string;
  dashboardTitle: string;
  panelId: number;
  panelTitle: string;
  refId: string;
  /** The expression as in the dashboard, with Grafana variables. */
  expr: string;
  /** The expression with every variable substituted: something Prometheus can run. */
  query: string;
}

/** Values for Grafana's built-in variables when a query runs outside Grafana. */
export const DEFAULT_BUILTIN_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '1m',
  __interval_ms: '60000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

/** Options of {@link dashboardQueries} and {@link listDashboardQueries}. */
export interface DashboardQueryOptions {
  /**
   * Values for template and built-in variables, by name without `$`. A template variable not
   * given here gets its `allValue`, else `.*` (the dashboards only use variables in `=~`
   * matchers, so `.*` means "all").
   */
  variables?: Record<string, string>;
}

// ${name}, ${name:format}, [[name]], [[name:format]], $name
const VARIABLE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g;

/**
 * `expr` with the given variables substituted in every Grafana syntax. Names not in `values`
 * stay as they are (as Grafana leaves them), so `"$1"` in a `label_replace` is untouched.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(VARIABLE, (match, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare ?? '';
    return Object.hasOwn(values, name) ? (values[name] ?? match) : match;
  });
}

function* walkPanels(panels: readonly GrafanaPanel[]): Generator<GrafanaPanel> {
  for (const panel of panels) {
    yield panel;
    if (Array.isArray(panel.panels)) yield* walkPanels(panel.panels);
  }
}

/** Every PromQL expression of one dashboard (rows included), in panel order. Pure. */
export function dashboardQueries(dashboard: GrafanaDashboard, options: DashboardQueryOptions & { file?: string } = {}): DashboardQuery[] {
  const values: Record<string, string> = { ...DEFAULT_BUILTIN_VARIABLES };
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type === 'datasource' || variable.type === 'constant') continue;
    values[variable.name] = variable.allValue || '.*';
  }
  Object.assign(values, options.variables);
  const out: DashboardQuery[] = [];
  for (const panel of walkPanels(dashboard.panels ?? [])) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr !== 'string' || target.expr.trim() === '') continue;
      const query = substituteVariables(target.expr, values);
      const leftover = /\$__\w+/.exec(query);
      if (leftover) {
        throw new PrometheusSyncError(
          `${dashboard.uid} panel ${panel.id} (${panel.title}) ${target.refId}: no value for the built-in ${leftover[0]}`,
        );
      }
      out.push({
        file: options.file ?? '',
        dashboardUid: dashboard.uid,
        dashboardTitle: dashboard.title,
        panelId: panel.id,
        panelTitle: panel.title,
        refId: target.refId,
        expr: target.expr,
        query,
      });
    }
  }
  return out;
}

/**
 * Reads the dashboards of a directory (`*.json`, sorted by name).
 * @default dir DASHBOARDS_DIR
 */
export async function loadDashboards(dir: string = DASHBOARDS_DIR): Promise<DashboardFile[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const path = join(dir, file);
      let dashboard: GrafanaDashboard;
      try {
        dashboard = JSON.parse(await readFile(path, 'utf8')) as GrafanaDashboard;
      } catch (error) {
        throw new PrometheusSyncError(`dashboard ${path} is not valid JSON`, { cause: error });
      }
      return { file, path, dashboard };
    }),
  );
}

/**
 * Every PromQL expression in the shipped dashboards (or those of `dir`), each with its
 * variables substituted so it can be sent to Prometheus as is: template variables become
 * `.*`, `$__rate_interval` `1m`, and so on (see {@link DEFAULT_BUILTIN_VARIABLES}).
 */
export async function listDashboardQueries(options: DashboardQueryOptions & { dir?: string } = {}): Promise<DashboardQuery[]> {
  const dashboards = await loadDashboards(options.dir);
  return dashboards.flatMap(({ file, dashboard }) => dashboardQueries(dashboard, { ...options, file }));
}
