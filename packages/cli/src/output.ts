import { isAbsolute, relative } from 'node:path';
import { inspect } from 'node:util';

/** Where the CLI writes. Progress and errors go to `err`, results (tables, JSON) to `out`. */
export interface Streams {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/**
 * Writes lines with every known secret value masked. Secrets should never reach output in the
 * first place; this is the last guard for messages that quote a daemon or server.
 */
export class Output {
  private readonly secrets: string[] = [];

  constructor(
    readonly streams: Streams,
    readonly options: { color: boolean; debug: boolean },
  ) {}

  /** Values to mask from now on (short ones would mask ordinary words and are skipped). */
  addSecrets(values: Iterable<string | undefined>): void {
    for (const v of values) if (v && v.length >= 6 && !this.secrets.includes(v)) this.secrets.push(v);
    this.secrets.sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  /** A result line on stdout. */
  print(text = ''): void {
    this.streams.out.write(`${this.mask(text)}\n`);
  }

  /** A progress or diagnostic line on stderr. */
  info(text: string): void {
    this.streams.err.write(`${this.mask(text)}\n`);
  }

  debug(text: string | (() => string)): void {
    if (this.options.debug) this.info(this.dim(`debug: ${typeof text === 'function' ? text() : text}`));
  }

  json(value: unknown): void {
    this.streams.out.write(`${this.mask(JSON.stringify(value, null, 2))}\n`);
  }

  error(message: string, hint?: string, details: string[] = []): void {
    this.info(`${this.red('✖')} ${message}`);
    for (const d of details) this.info(`  ${d}`);
    if (hint) this.info(`  ${this.dim('→')} ${hint}`);
  }

  /** An unexpected error: the stack, and a request to report it. */
  bug(error: unknown): void {
    this.info(`${this.red('✖')} unexpected error: ${inspect(error)}`);
    this.info('  this is a bug in inferstack: please report it with the output above.');
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
