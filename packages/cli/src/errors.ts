/** Exit codes every command keeps: scripts and CI rely on them. */
export const ExitCode = {
  /** Everything asked for was done. */
  ok: 0,
  /** Something failed (a model did not start, the gateway could not be synced...). */
  failed: 1,
  /** Bad input: config, .env, arguments. Nothing was changed. */
  badInput: 2,
  /** `serve plan --exit-code`: something would change. */
  changes: 3,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem with the command line itself: printed as one line (plus hint), exit 2 unless said. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  /** Extra lines printed after the message. */
  readonly details: readonly string[];

  constructor(message: string, options: { exitCode?: ExitCodeValue; hint?: string; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? ExitCode.badInput;
    this.hint = options.hint;
    this.details = options.details ?? [];
  }
}
