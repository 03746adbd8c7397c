export { loadConfig } from './load-config.js';
export type { LoadConfigOptions } from './load-config.js';
export { createConfigLoader } from './config-cache.js';
export type { ConfigLoaderOptions } from './config-cache.js';
export { parseConfig } from './parse-config.js';
export { resolveVllmImage } from './_image-ref.js';
export { projectDirFor, stackNameFor } from './project-dir.js';
export type { ParseConfigOptions } from './parse-config.js';
export { readEnvFile, parseEnvFile } from './env-file.js';
export type { EnvFile, ParseEnvFileOptions } from './env-file.js';
export { mergeSettings, isSecretName, SETTING_NAMES } from './settings.js';
export type { MergedSettings } from './settings.js';
export {
  containerNameForKey,
  keyFromContainerName,
  isValidModelKey,
  modelKeyProblem,
  MAX_HOST_NAME_LENGTH,
  MAX_MODEL_CONTAINER_NAME_LENGTH,
  MAX_STACK_NAME_LENGTH,
  MODEL_CONTAINER_PREFIX,
} from './container-name.js';
export { canonicalArgs, hashModelSpec, specHashInput } from './hash-model-spec.js';
export { formatGpuLabel, parseGpuLabel } from './gpu-label.js';
export { vllmMaxNumSeqs, vllmWorldSize } from './vllm-world-size.js';
export { selectModels } from './select-models.js';
export { vllmFlagValue, vllmFlagValues } from './vllm-flag-values.js';
export type { HashedModelFields } from './hash-model-spec.js';
export { modelsJsonSchema } from './schema.js';
export { ConfigError, ConfigValidationError, ConfigFileError, formatIssue } from './errors.js';
export type { ConfigIssue } from './errors.js';
export {
  DEFAULT_MODELS_FILE,
  DEFAULT_VLLM_IMAGE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_PROMETHEUS_IMAGE,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_DCGM_DEVICES,
  DEFAULT_DCGM_INTERVAL_MS,
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_NETWORK,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_PROMETHEUS_PORT,
  DEFAULT_GRAFANA_PORT,
  DEFAULT_GATEWAY_BIND,
  DEFAULT_LITELLM_CONFIG_FILE,
  DEFAULT_TARGETS_DIR,
  DEFAULT_HUGGINGFACE_CACHE,
  DEFAULT_GPU_MEMORY_UTILIZATION,
  DEFAULT_WAKE_TIMEOUT_MS,
  DEFAULT_REPLICA_DOWN_AFTER_MS,
  DEFAULT_WATCHER_IMAGE,
  WATCHER_PORT,
  HF_CACHE_CONTAINER_PATH,
  VLLM_CONTAINER_PORT,
  GATEWAY_CONTAINER_NAME,
  FALLBACK_HASH_KEY,
  ANY_HOST,
  LOCAL_HOST,
} from './defaults.js';
export type {
  SourceLocation,
  GpuSelection,
  IdlePolicy,
  ReplicaPolicy,
  RoutingStrategy,
  WatcherSettings,
  PullPolicy,
  VolumeMount,
  ModelSpec,
  GatewaySettings,
  MonitoringSettings,
  StackConfig,
  HostSpec,
  HostTlsFiles,
} from './types.js';
