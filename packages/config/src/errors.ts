/**
 * Errors thrown by `@inferstack/config`. Every error the package throws for bad input is a
 * {@link ConfigError}; anything else is a bug worth a report.
 */

/** One problem found in `models.yaml`, `.env` or the options, with where and what to do. */
export interface ConfigIssue {
  /** File as shown to the user (relative to the working directory when inside it), or `environment`. */
  file: string;
  /** 1-based line; `0` when the problem has no place in a file (an environment variable, a selection). */
  line: number;
  /** 1-based column; `0` when {@link ConfigIssue.line} is `0`. */
  column: number;
  /** Path of the offending value in the document, e.g. `['models', 0, 'qwen', 'gpus', 1]`. */
  path: (string | number)[];
  /** Stable machine-readable kind, e.g. `duplicate-model`, `yaml-syntax`, `gpu-oversubscribed`. */
  code: string;
  /** What is wrong. */
  message: string;
  /** What to do about it. */
  hint: string;
}

/** Base class of every error this package throws. */
export class ConfigError extends Error {
  /** What to do about it, for the CLI's one-line report. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.hint = options?.hint;
  }
}

/**
 * The configuration is invalid. Carries every problem found in one pass, sorted by file and
 * position, so a user fixes them all at once instead of one per run.
 */
export class ConfigValidationError extends ConfigError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const sorted = sortIssues(issues);
    const first = sorted[0];
    const summary =
      sorted.length === 1 && first
        ? `invalid configuration: ${first.message}`
        : `invalid configuration: ${sorted.length} problems`;
    super(summary, first ? { hint: first.hint } : undefined);
    this.name = 'ConfigValidationError';
    this.issues = sorted;
  }

  /**
   * One line per issue, e.g. `model_config/models.yaml:7:5 error: gpus must be ... — use a list ...`.
   * Issues without a position (environment variables, selections) show the file alone.
   */
  format(): string {
    return this.issues.map(formatIssue).join('\n');
  }
}

/** A file could not be read at all (missing, a directory, permissions). */
export class ConfigFileError extends ConfigError {
  /** The path that was tried. */
  readonly file: string;
  /** `not-found`, `not-a-file` or `unreadable`. */
  readonly reason: 'not-found' | 'not-a-file' | 'unreadable';

  constructor(
    file: string,
    reason: 'not-found' | 'not-a-file' | 'unreadable',
    options?: { hint?: string; cause?: unknown },
  ) {
    const what =
      reason === 'not-found' ? 'not found' : reason === 'not-a-file' ? 'is not a file' : 'cannot be read';
    super(`${file}: ${what}`, options);
    this.name = 'ConfigFileError';
    this.file = file;
    this.reason = reason;
  }
}

/** Formats one issue the way {@link ConfigValidationError.format} does. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return `${where} error: ${issue.message} — ${issue.hint}`;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.column - b.column,
  );
}
