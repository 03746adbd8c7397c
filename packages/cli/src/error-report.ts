import { ConfigError, ConfigValidationError } from '@inferstack/config';
import { DockerOpsError, OperationAbortedError } from '@inferstack/docker-ops';
import { LitellmSyncError } from '@inferstack/litellm-sync';
import { PrometheusSyncError } from '@inferstack/prometheus-sync';
import { StackError, StackInputError } from '@inferstack/stack';
import { CliError, ExitCode, type ExitCodeValue } from './errors.js';

// Loaded only when a command fails: it pulls in every library's error classes.

/** How an error is shown: one line, a hint, detail lines, and the exit code. */
export interface ErrorReport {
  exitCode: ExitCodeValue;
  message: string;
  hint?: string;
  details: readonly string[];
}

/**
 * What the user sees for a known error, by its type; `undefined` for anything else (a bug: the
 * caller prints the stack and asks for a report).
 */
export function reportFor(error: unknown): ErrorReport | undefined {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message, hint: error.hint, details: error.details };
  if (error instanceof ConfigValidationError) {
    const n = error.issues.length;
    return { exitCode: ExitCode.badInput, message: `${n} problem${n === 1 ? '' : 's'} in the configuration; nothing was changed`, details: error.format().split('\n') };
  }
  if (error instanceof ConfigError) return { exitCode: ExitCode.badInput, message: error.message, hint: error.hint, details: [] };
  if (error instanceof StackInputError) return { exitCode: ExitCode.badInput, message: error.message, hint: error.hint, details: error.details };
  if (error instanceof OperationAbortedError) return { exitCode: ExitCode.interrupted, message: 'interrupted; nothing half-made was left behind. Run the command again to finish.', details: [] };
  if (error instanceof StackError || error instanceof DockerOpsError) return { exitCode: ExitCode.failed, message: error.message, hint: error.hint, details: [] };
  if (error instanceof LitellmSyncError || error instanceof PrometheusSyncError) {
    return { exitCode: ExitCode.failed, message: error.message, hint: (error as { hint?: string }).hint, details: [] };
  }
  return undefined;
}
