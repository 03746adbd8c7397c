/**
 * `@inferstack/litellm-sync`: keeps a LiteLLM gateway's model list equal to the vLLM models that
 * are up, through LiteLLM's admin API (proxy with a database) or its config file (no database).
 */
export { createLitellmClient } from './client.js';
export type {
  CallOptions,
  LitellmClient,
  LitellmClientOptions,
  LitellmModelGroup,
  LitellmReadiness,
  NewModelEntry,
  RetryOptions,
  WaitUntilReadyOptions,
} from './client.js';
export {
  LitellmAuthError,
  LitellmConfigError,
  LitellmHttpError,
  LitellmNoDatabaseError,
  LitellmResponseError,
  LitellmSyncError,
  LitellmTimeoutError,
  LitellmUnreachableError,
} from './errors.js';
export type { LitellmErrorBody, LitellmHttpErrorInit } from './errors.js';
export {
  deploymentId,
  deploymentOfEntry,
  formatGatewayPlan,
  ID_PREFIX,
  isLegacyEntry,
  isManagedEntry,
  managedEntryFor,
  planGatewaySync,
  specDigest,
  vllmApiBase,
} from './plan.js';
export { applyGatewaySyncApi } from './apply-api.js';
export type { ApplyApiOptions, FailedGatewayChange, GatewaySyncReport } from './apply-api.js';
export { readLitellmConfigEntries, renderLitellmConfig, writeLitellmConfig } from './config-file.js';
export type { RenderedLitellmConfig, WriteLitellmConfigResult } from './config-file.js';
export { LEGACY_ORGANIZATION, MANAGED_BY } from './types.js';
export type {
  DesiredDeployment,
  GatewayChange,
  GatewayEntry,
  ManagedModelEntry,
  RemoveReason,
  SyncScope,
} from './types.js';
