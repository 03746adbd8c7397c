/**
 * `@inferstack/stack`: a whole inference stack as a library. Open a stack from its models.yaml
 * and call one method per thing a user does with it (plan, up, stop, down, sync, status, logs,
 * bench, pull, exportCompose, exportKubernetes); each returns typed results and reports progress as events. The `serve` CLI is
 * a thin layer over this package.
 */
export { openStack } from './stack.js';
export type { CallOptions, OpenStackOptions, Stack } from './stack.js';
export type { GrafanaAssets } from './context.js';
export type { StackEvent, StackEventHandler } from './events.js';
export { ContainerNameConflictError, GpuPreflightError, ServiceError, StackError, StackInputError } from './errors.js';
export type { NameConflictOnHost } from './errors.js';
export type { UpOptions, UpResult } from './verbs/up.js';
export type { HostedChange, HostPlanStatus, PlanOptions, StackPlan } from './verbs/plan.js';
export type { DownOptions, ModelStopOutcome, StopOptions, StopResult } from './verbs/stop.js';
export type { SyncOutcome, SyncResult } from './sync/sync.js';
export type { ModelStatusRow, StackStatus, StatusOptions } from './verbs/status.js';
export type { ModelLoad } from '@inferstack/docker-ops';
export type { LogsOptions } from './verbs/logs.js';
export type { BenchOptions, BenchResult, Percentiles } from './verbs/bench.js';
export type { ModelPullOutcome, PullOptions, PullResult } from './verbs/pull.js';
export type { ComposeExport } from './export/compose/export.js';
export type { ComposeFile, ComposeService, SecretReference } from './export/compose/render.js';
export type { KubernetesExport, KubernetesExportOptions } from './export/kubernetes/export.js';
export { renderKubernetes } from './export/kubernetes/render.js';
export { SECRET_NAME as KUBERNETES_SECRET_NAME } from './export/kubernetes/types.js';
export { vllmWorldSize } from './export/kubernetes/gpus.js';
export type { GrafanaFiles, HfCacheMode, KubernetesFile, KubernetesInput, KubernetesOptions, RenderedKubernetes } from './export/kubernetes/types.js';
export { diffKubernetesFiles, hasKubernetesChanges } from './export/kubernetes/diff.js';
export type { KubernetesFileChange, KubernetesObjectChange } from './export/kubernetes/diff.js';
export { kubernetesName } from './export/kubernetes/objects.js';
export type { KubeObject, KubeObjectRef } from './export/kubernetes/objects.js';
export type { GatewaySyncResult } from './gateway/sync.js';
export type { MonitoringSyncResult } from './sync/monitoring.js';
export { DEFAULT_SERVICES } from './services/default-services.js';
export type { ServiceAction, ServiceDefinition, ServiceOutcome, ServiceRemoval, ServiceStatus } from './services/registry.js';
export type { ServiceFile } from './services/files.js';
export type { ServicePlan } from './services/plan.js';
export { containerAddress, containerApiBase, modelAddress, modelApiBase } from './models/endpoints.js';
export { exposureWarnings, hasSeveralHosts } from './hosts/hosts.js';
export type { HostFailure } from './hosts/hosts.js';
export { secretValues } from './secrets.js';
export { doctor, doctorVerdict, keyWeakness } from './doctor/doctor.js';
export type { Check, CheckStatus, DoctorOptions, DoctorReport, DoctorVerdict } from './doctor/doctor.js';
export { initProject } from './verbs/init.js';
export type { InitFile, InitProjectOptions, InitProjectResult } from './verbs/init.js';
export { generateKeys } from './verbs/scaffold.js';
export type { GeneratedKeys } from './verbs/scaffold.js';
export type { StackContext } from './context.js';
export { unlock } from './verbs/unlock.js';
export type { UnlockOptions } from './verbs/unlock.js';
export { STARTER_CONFIG as GATEWAY_STARTER_CONFIG } from './gateway/files.js';
