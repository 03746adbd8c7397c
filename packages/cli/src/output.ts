import type { Streams } from './reporter.js';

export type { Streams } from './reporter.js';
import { isAbsolute, relative } from 'node:path';
import { inspect } from 'node:util';
import { createConsola, LogLevels, type ConsolaInstance } from 'consola/core';
import { CliReporter } from './reporter.js';


/**
 * The CLI's output: a consola instance whose one reporter ({@link CliReporter}) writes results
 * to stdout and everything else to stderr, masking every secret value. Libraries never print;
 * only the CLI makes this (one per `runCli`), and commands and renderers write through it.
 */
export class Output {
  /** The consola instance behind it: `info`, `success`, `warn`, `error`, `debug` go to stderr, `log` to stdout. */
  readonly consola: ConsolaInstance;
  private readonly reporter: CliReporter;

  constructor(
    readonly streams: Streams,
    readonly options: { color: boolean; debug: boolean },
  ) {
    this.reporter = new CliReporter(streams, options.color);
    this.consola = createConsola({
      level: options.debug ? LogLevels.debug : LogLevels.info,
      reporters: [this.reporter],
      // Identical lines are real output here (blank lines between tables, repeated log lines).
      throttle: 0,
    });
  }

  /** Values to mask from now on (short ones would mask ordinary words and are skipped). */
  addSecrets(values: Iterable<string | undefined>): void {
    this.reporter.addSecrets(values);
  }

  mask(text: string): string {
    return this.reporter.mask(text);
  }

  /** A result line on stdout. */
  print(text = ''): void {
    this.consola.log(text);
  }

  /** A progress or diagnostic line on stderr. */
  info(text: string): void {
    this.consola.info(text);
  }

  /** `✔ text` on stderr. */
  success(text: string): void {
    this.consola.success(text);
  }

  /** `! text` on stderr. */
  warn(text: string): void {
    this.consola.warn(text);
  }

  /** A line shown with --debug only; a function is called only then. */
  debug(text: string | (() => string)): void {
    if (this.options.debug) this.consola.debug(typeof text === 'function' ? text() : text);
  }

  /** Text as it comes on stdout (a followed log, a file), masked, no newline added. */
  write(text: string): void {
    this.reporter.raw(text);
  }

  json(value: unknown): void {
    this.consola.log(JSON.stringify(value, null, 2));
  }

  /** `✖ message`, then the detail lines and the hint, on stderr. */
  error(message: string, hint?: string, details: readonly string[] = []): void {
    this.consola.error({ message, ...(hint ? { hint } : {}), details });
  }

  /** An unexpected error: the stack, and a request to report it. */
  bug(error: unknown): void {
    this.consola.error({ message: `unexpected error: ${inspect(error)}`, details: ['this is a bug in inferstack: please report it with the output above.'] });
  }

  /** The spinner lines at the bottom of a terminal ({@link CliReporter.live}); `[]` removes them. */
  live(lines: readonly string[]): void {
    this.reporter.live(lines);
  }

  get isTTY(): boolean {
    return Boolean(this.streams.err.isTTY);
  }

  private paint(code: number, text: string): string {
    return this.options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
  red = (t: string) => this.paint(31, t);
  green = (t: string) => this.paint(32, t);
  yellow = (t: string) => this.paint(33, t);
  cyan = (t: string) => this.paint(36, t);
  dim = (t: string) => this.paint(2, t);
  bold = (t: string) => this.paint(1, t);
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => stripAnsi(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - stripAnsi(c).length))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** `41.2s`, `3m 05s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** A path as shown: relative to `cwd` when inside it. */
export function shownPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
