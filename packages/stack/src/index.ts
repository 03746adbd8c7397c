/**
 * `@inferstack/stack`: a whole inference stack as a library. Open a stack from its models.yaml
 * and call one method per thing a user does with it (plan, up, stop, down, sync, status, logs,
 * exportCompose, exportKubernetes); each returns typed results and reports progress as events. The `serve` CLI is
 * a thin layer over this package.
 */
export { openStack } from './open-stack.js';
export type { CallOptions, OpenStackOptions, Stack } from './open-stack.js';
export type { GrafanaAssets } from './context.js';
export type { StackEvent, StackEventHandler } from './events.js';
export { ContainerNameConflictError, GpuPreflightError, ServiceError, StackError, StackInputError } from './errors.js';
export type { NameConflictOnHost } from './errors.js';
export type { UpOptions, UpResult } from './up.js';
export type { HostedChange, HostPlanStatus, PlanOptions, StackPlan } from './plan.js';
export type { DownOptions, ModelStopOutcome, StopOptions, StopResult } from './stop.js';
export type { SyncOutcome, SyncResult } from './integrations.js';
export type { ModelStatusRow, StackStatus } from './status.js';
export type { ModelLoad } from '@inferstack/docker-ops';
export type { LogsOptions } from './logs.js';
export type { ComposeExport } from './export-compose.js';
export type { ComposeFile, ComposeService, SecretReference } from './compose.js';
export type { KubernetesExport, KubernetesExportOptions } from './export-kubernetes.js';
export { renderKubernetes, vllmWorldSize, SECRET_NAME as KUBERNETES_SECRET_NAME } from './kubernetes.js';
export type { GrafanaFiles, HfCacheMode, KubernetesFile, KubernetesInput, KubernetesOptions, RenderedKubernetes } from './kubernetes.js';
export { diffKubernetesFiles, hasKubernetesChanges } from './kubernetes-diff.js';
export type { KubernetesFileChange, KubernetesObjectChange } from './kubernetes-diff.js';
export { kubernetesName } from './kubernetes-objects.js';
export type { KubeObject, KubeObjectRef } from './kubernetes-objects.js';
export type { GatewaySyncResult } from './gateway/sync.js';
export type { MonitoringSyncResult } from './monitoring-sync.js';
export { DEFAULT_SERVICES } from './services/default-services.js';
export type { ServiceAction, ServiceDefinition, ServiceOutcome, ServiceRemoval, ServiceStatus } from './services/registry.js';
export type { ServiceFile } from './services/files.js';
export type { ServicePlan } from './services/plan-services.js';
export { containerAddress, containerApiBase, modelAddress, modelApiBase } from './endpoints.js';
export { exposureWarnings, hasSeveralHosts } from './hosts.js';
export type { HostFailure } from './hosts.js';
export { secretValues } from './secrets.js';
export { doctor, doctorVerdict, keyWeakness } from './doctor.js';
export type { Check, CheckStatus, DoctorOptions, DoctorReport, DoctorVerdict } from './doctor.js';
export { initProject } from './init-project.js';
export type { InitFile, InitProjectOptions, InitProjectResult } from './init-project.js';
export { generateKeys } from './scaffold.js';
export type { GeneratedKeys } from './scaffold.js';
export type { StackContext } from './context.js';
export { unlock } from './unlock.js';
export type { UnlockOptions } from './unlock.js';
export { STARTER_CONFIG as GATEWAY_STARTER_CONFIG } from './gateway/files.js';
