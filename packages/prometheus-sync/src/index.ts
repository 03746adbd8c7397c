export { parseTargets, renderTargets, serializeTargets, TARGET_LABELS, DEFAULT_HOST_LABEL } from './targets.js';
export type { RunningModelTarget, FileSdGroup } from './targets.js';
export { writeTargetsFile, TARGETS_FILE_MODE } from './targets-file.js';
export type { WriteTargetsResult } from './targets-file.js';
export { createPrometheusClient } from './client.js';
export type {
  PrometheusClient,
  PrometheusClientOptions,
  CallOptions,
  QueryResult,
  QueryOptions,
  Sample,
  WaitForTargetsOptions,
  WaitUntilReadyOptions,
} from './client.js';
export { reportTargets } from './target-report.js';
export type { ActiveTarget, DroppedTarget, TargetsResult, TargetHealth, TargetStatus, TargetsReport, WaitUntil } from './target-report.js';
export { syncPrometheusTargets } from './sync.js';
export type { SyncPrometheusTargetsOptions, SyncPrometheusTargetsResult, SyncedTarget, ConfirmOptions, ReloadMethod } from './sync.js';
export { renderPrometheusConfig, DEFAULT_JOB_NAMES } from './prometheus-config.js';
export type { HostTarget, PrometheusConfigOptions, JobNames } from './prometheus-config.js';
export {
  PrometheusSyncError,
  PrometheusUnreachableError,
  ReloadUnavailableError,
  ReloadFailedError,
  PrometheusApiError,
  PrometheusQueryError,
  TargetsFileError,
  PrometheusConfigError,
} from './errors.js';
export {
  listDashboardQueries,
  dashboardQueries,
  loadDashboards,
  substituteVariables,
  DASHBOARDS_DIR,
  PROVISIONING_DIR,
  DEFAULT_BUILTIN_VARIABLES,
} from './dashboards.js';
export type {
  DashboardQuery,
  DashboardQueryOptions,
  DashboardFile,
  GrafanaDashboard,
  GrafanaPanel,
  GrafanaTarget,
  GrafanaVariable,
  GrafanaDatasourceRef,
} from './dashboards.js';
