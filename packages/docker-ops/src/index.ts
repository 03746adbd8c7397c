// The public API: what @inferstack/stack, the CLI and the tests import, plus the option and
// result types of those functions. Everything else is shared between this package's modules
// only (see README.md, "API").

// Reaching a daemon
export { connectDocker, createDockerClient, daemonAddress, isLocalDaemon } from './client.js';
export type { ClientOptions, ConnectOptions, DockerClient } from './client.js';
export { DEFAULT_DOCKER_SOCKET, parseDockerAddress } from './endpoint.js';
export type { DockerAddress } from './endpoint.js';
export { connectHost, daemonId } from './hosts.js';
export { resolvePublishAddress } from './publish-address.js';
export type { PublishAddress, ResolvePublishAddressOptions } from './publish-address.js';
export { daemonRuntimes, daemonVersion, publishedPorts } from './daemon.js';
export type { PublishedPort } from './daemon.js';

// Errors
export { DaemonUnreachableError, DockerApiError, DockerEndpointError, DockerOpsError, ForeignContainerError, ImagePullError, LockHeldError, NvidiaRuntimeMissingError, OperationAbortedError, PublishAddressError } from './errors.js';
export { WeightsAccessError, WeightsCacheError, WeightsClientMissingError, WeightsConfigError, WeightsDownloadError, WeightsError, WeightsNoSpaceError, WeightsNotFoundError } from './errors.js';
export type { LockHolder } from './errors.js';

// Plan and apply models
export { IDLE_STOP_POLICY, isIdleStopped, nameConflicts, planHasChanges, planModels } from './plan.js';
export type { ModelChange, NameConflict, PlanOptions, RecreateReason } from './plan.js';
export { applyModelPlan, startOrder } from './apply.js';
export type { ApplyEvent, ApplyOptions, ModelOutcome } from './apply.js';
export { gpuMap } from './gpu-map.js';
export type { GpuLoad, GpuMap } from './gpu-map.js';
export { modelStatuses } from './status.js';
export type { ModelStatus } from './status.js';

// Containers and networks
export { LABEL_REPLICA, LABEL_STACK } from './labels.js';
export { argvStyleForEntrypoint, hasDevRoutes, modelContainerOptions } from './container-spec.js';
export type { ArgvStyle, ContainerBody, ModelContainerOptions, ModelNetworks } from './container-spec.js';
export { addressOn, containerLogs, containersOfStack, followContainerLogs, listDaemonContainers, listModelContainers, removeContainer, setRestartPolicy, startContainer, stopContainer } from './containers.js';
export { networkGatewayAddress, removeNetwork } from './networks.js';
export type { DaemonContainers, ModelContainer } from './containers.js';
export { ensureImage, inspectImage } from './images.js';
export type { EnsureImageOptions } from './images.js';

// Service containers (gateway, monitoring, watcher)
export { ensureService, inspectService, listServices, planService, removeServiceContainer, restartContainer, serviceContainerOptions, serviceSpecHash, signalContainer, waitUntilHealthy } from './services.js';
export type { ObservedService, ServiceChange, ServiceContainer, ServiceResult, ServiceSpec } from './services.js';

// Readiness and diagnosis
export { waitUntilReady } from './readiness.js';
export type { ReadinessResult, WaitOptions } from './readiness.js';
export { diagnoseStartupFailure } from './diagnose.js';
export type { Diagnosis, DiagnosisContext } from './diagnose.js';

// GPUs
export { checkGpuPlacement, detectGpusLocally, formatGiB, formatGpuProblems } from './gpu.js';
export type { DetectGpusOptions, GpuInfo, GpuPlacementInput, GpuProblem } from './gpu.js';
export { detectGpusViaDocker } from './gpu-probe.js';

// Stack identity and the deployment lock
export { LOCK_IMAGE, acquireLock, breakLock, lockContainerName, readLockHolder } from './lock.js';
export type { AcquireLockOptions, Lock } from './lock.js';
export { claimContainers, ensureStackIdentity, identityContainerName, listClaims, readStackIdentity, removeStackIdentity } from './identity.js';
export type { StackIdentity } from './identity.js';

// Talking to a running model (HTTP, sleep mode, load)
export { httpGet, httpRequest } from './http-get.js';
export type { HttpAnswer } from './http-get.js';
export { modelRequest } from './model-http.js';
export type { ModelReach } from './model-http.js';
export { sleepModel, sleepState, wakeModel } from './sleep-mode.js';
export type { SleepState } from './sleep-mode.js';
export { metricsText, modelLoads, parseVllmLoad, waitUntilDrained } from './load.js';
export type { DrainResult, ModelLoad } from './load.js';

// Placing replicas of `gpus: auto` models on GPUs with room
export { planPlacement } from './placement.js';
export type { GpuHolding, GpuRoom, HostVerdict, Placement, PlacementHost, PlacementInput, ReplicaPlacement, ReplicaRequest } from './placement.js';

// Replicas: several containers of one model
export { replicaContainerName, replicaIndices, replicaLabel, replicaSpecs } from './replicas.js';

// vLLM's loading phases, from its log lines
export { loadingPhase, loadingPhaseReader } from './loading-phases.js';
export type { LoadingPhase } from './loading-phases.js';

// Model weights: the real Hugging Face client in a short container on the model's host
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
