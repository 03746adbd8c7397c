export { connectDocker, createDockerClient, daemonAddress, isLocalDaemon } from './client.js';
export type { ClientOptions, ConnectOptions, DockerClient, DockerEndpoint, DockerSshOptions, DockerTlsFiles } from './client.js';
export { DEFAULT_DOCKER_SOCKET, isLocalAddress, parseDockerAddress, redactAddress } from './endpoint.js';
export { connectHost, daemonId, hostClient, hostEndpoint } from './hosts.js';
export type { DockerAddress, DockerTransport } from './endpoint.js';
export {
  DaemonUnreachableError,
  DockerApiError,
  DockerEndpointError,
  DockerOpsError,
  ForeignContainerError,
  ImagePullError,
  LockHeldError,
  NvidiaRuntimeMissingError,
  OperationAbortedError,
  PublishAddressError,
  WeightsAccessError,
  WeightsCacheError,
  WeightsClientMissingError,
  WeightsConfigError,
  WeightsDownloadError,
  WeightsError,
  WeightsNoSpaceError,
  WeightsNotFoundError,
  describeDockerError,
} from './errors.js';
export { canonicalIp, resolvePublishAddress, sameAddress } from './publish-address.js';
export type { LookupAnswer, PublishAddress, ResolvePublishAddressOptions } from './publish-address.js';
export type { LockHolder } from './errors.js';
export {
  LABEL_GPU_UTILIZATION,
  LABEL_GPUS,
  LABEL_KIND,
  LABEL_MANAGED,
  LABEL_MODEL,
  LABEL_SERVED_NAME,
  LABEL_SERVICE,
  LABEL_SPEC_FIELDS,
  LABEL_STACK,
  LABEL_SPEC_HASH,
  modelLabels,
  specFieldDigests,
} from './labels.js';
export { HEALTHCHECK_COMMAND, argvStyleForEntrypoint, hasDevRoutes, modelContainerOptions, modelNetwork, vllmCommand } from './container-spec.js';
export type { ArgvStyle, ModelContainerOptions, ModelNetworks } from './container-spec.js';
export {
  addressOn,
  connectNetwork,
  containerLogs,
  containersOfStack,
  demuxLogs,
  ensureNetwork,
  followContainerLogs,
  listDaemonContainers,
  listModelContainers,
  networkGatewayAddress,
  removeNetwork,
  setRestartPolicy,
  startContainer,
  removeContainer,
  stopContainer,
  toModelContainer,
} from './containers.js';
export type { ContainerHealth, ContainerState, DaemonContainers, ModelContainer, NamedContainer, ObservedSpec } from './containers.js';
export { ensureImage, inspectImage, pullImage } from './images.js';
export type { EnsureImageOptions, PullProgress } from './images.js';
export { waitUntilReady } from './readiness.js';
export type { NotReadyReason, ProbeMode, ReadinessResult, WaitOptions } from './readiness.js';
export { IDLE_STOP_POLICY, changedFields, changedFieldsOfObserved, drift, gpusOverlap, isIdleStopped, nameConflicts, planHasChanges, planModels, replacementName } from './plan.js';
export type { ModelAction, ModelChange, NameConflict, PlanOptions, RecreateReason } from './plan.js';
export { applyModelPlan, startOrder } from './apply.js';
export { gpuMap, replacementStrategy } from './gpu-map.js';
export type { GpuLoad, GpuMap } from './gpu-map.js';
export type { ApplyEvent, ApplyOptions, ModelFailure, ModelOutcome } from './apply.js';
export { modelStatuses } from './status.js';
export type { ModelStatus, SyncState } from './status.js';
export { LOCK_IMAGE, acquireLock, breakLock, lockContainerName, readLockHolder } from './lock.js';
export { LABEL_CLAIMS, claimContainers, ensureStackIdentity, identityContainerName, listClaims, readStackIdentity, removeStackIdentity } from './identity.js';
export type { StackIdentity } from './identity.js';
export type { AcquireLockOptions, Lock } from './lock.js';
export { DIAGNOSE_TAIL_LINES, DIAGNOSIS_CAUSES, diagnoseStartupFailure } from './diagnose.js';
export type { Diagnosis, DiagnosisCause, DiagnosisContext, DiagnosisSpec } from './diagnose.js';
export {
  NVIDIA_SMI_QUERY_ARGS,
  NVIDIA_SMI_QUERY_FIELDS,
  checkGpuPlacement,
  detectGpusLocally,
  formatGiB,
  formatGpuProblems,
  maxFittingUtilization,
  parseNvidiaSmi,
  parseNvidiaSmiCsv,
  parseNvidiaSmiXml,
} from './gpu.js';
export type {
  DetectGpusOptions,
  ExecFn,
  GpuInfo,
  GpuParseError,
  GpuParseResult,
  GpuPlacementInput,
  GpuProblem,
  GpuShare,
  PlacementModel,
  ReplacedModel,
} from './gpu.js';
export {
  ensureService,
  inspectService,
  listServices,
  planService,
  removeServiceContainer,
  restartContainer,
  serviceContainerOptions,
  serviceFieldDigests,
  serviceSpecHash,
  signalContainer,
  waitUntilHealthy,
} from './services.js';
export { daemonRuntimes, daemonVersion, publishedPorts } from './daemon.js';
export type { PublishedPort } from './daemon.js';
export type { ObservedService, ServiceChange, ServiceContainer, ServiceResult, ServiceSpec } from './services.js';
export { detectGpusViaDocker } from './gpu-probe.js';
export { httpGet, httpRequest } from './http-get.js';
export { modelRequest } from './model-http.js';
export type { ModelReach } from './model-http.js';
export { sleepModel, sleepState, wakeModel } from './sleep-mode.js';
export type { SleepState } from './sleep-mode.js';
export { metricsText, modelLoads, parseVllmLoad, waitUntilDrained } from './load.js';
export type { DrainResult, EngineSleepState, ModelLoad } from './load.js';
export type { HttpAnswer } from './http-get.js';
export { LABEL_WEIGHTS_MODEL, WEIGHTS_CONTAINER_KIND, cacheDiskSpace, cacheState, inspectWeights, pullWeights } from './weights.js';
export type { InspectedSource, PullWeightsOptions, WeightsCacheState, WeightsEvent, WeightsInspection, WeightsOptions, WeightsPullResult } from './weights.js';
export { METADATA_PATTERNS, SAFETENSORS_INDEX, VLLM_DEFAULT_IGNORE_PATTERNS, hubCachePath, isLocalModelPath, selectWeightFiles, weightSources } from './weights-select.js';
export type { RepoFile, SelectedFile, WeightSources, WeightsConfigProblem, WeightsSelection, WeightsSource } from './weights-select.js';
export { checkWeightsSpace, decideWeightsPull, offlineStartEnv } from './weights-space.js';
export type { WeightsPullDecision, WeightsSpaceNeed, WeightsSpaceProblem } from './weights-space.js';
export { createProgressMeter, formatBytes, formatDuration, formatWeightsProgress } from './weights-progress.js';
export type { ProgressMeter, ProgressRate } from './weights-progress.js';
export { DEFAULT_RETRY_POLICY } from './weights-failure.js';
export type { RetryPolicy } from './weights-failure.js';
export type { CacheDisk, WeightsListing } from './weights-program.js';
