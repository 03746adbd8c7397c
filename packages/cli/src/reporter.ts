import { inspect } from 'node:util';
import type { ConsolaReporter, LogObject } from 'consola/core';

/** Where the CLI writes. Progress and errors go to `err`, results (tables, JSON) to `out`. */
export interface Streams {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** A log object as `Output.error` sends it: the message, then detail lines and a hint. */
interface ErrorFields {
  hint?: string;
  details?: readonly string[];
}

const SYMBOL: Partial<Record<LogObject['type'], { text: string; colour: number }>> = {
  success: { text: '✔', colour: 32 },
  ready: { text: '✔', colour: 32 },
  warn: { text: '!', colour: 33 },
  error: { text: '✖', colour: 31 },
  fatal: { text: '✖', colour: 31 },
  fail: { text: '✖', colour: 31 },
};

/**
 * The one place the CLI's output reaches the terminal: consola hands every line to it.
 *
 * - `log` lines are results (tables, JSON) and go to stdout; everything else (progress, warnings,
 *   errors, debug lines) to stderr, so `--json` leaves nothing but JSON on stdout.
 * - Every secret value it was given is masked in every byte it writes. Secrets should never
 *   reach output in the first place; this is the last guard for messages that quote a daemon,
 *   a server or an error.
 * - On a terminal it keeps a live region at the bottom of stderr (the spinners): a line that
 *   stays is written above it, and it is drawn again below.
 */
export class CliReporter implements ConsolaReporter {
  private readonly secrets: string[] = [];
  private liveLines: readonly string[] = [];
  private drawn = 0;

  constructor(
    private readonly streams: Streams,
    private readonly color: boolean,
  ) {}

  /** Values to mask from now on; ones under 6 characters would mask ordinary words and are skipped. */
  addSecrets(values: Iterable<string | undefined>): void {
    for (const v of values) if (v && v.length >= 6 && !this.secrets.includes(v)) this.secrets.push(v);
    // The longest first: a secret that contains another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  log(logObj: LogObject): void {
    const fields = logObj as LogObject & ErrorFields;
    const text = logObj.args.map((a: unknown) => (typeof a === 'string' ? a : inspect(a, { colors: false, depth: 6 }))).join(' ');
    const symbol = SYMBOL[logObj.type];
    const lines = [logObj.type === 'debug' || logObj.type === 'trace' ? this.paint(2, `debug: ${text}`) : symbol ? `${this.paint(symbol.colour, symbol.text)} ${text}` : text];
    for (const d of fields.details ?? []) lines.push(`  ${d}`);
    if (fields.hint) lines.push(`  ${this.paint(2, '→')} ${fields.hint}`);
    const stream = logObj.type === 'log' ? this.streams.out : this.streams.err;
    this.clearLive();
    stream.write(this.mask(`${lines.join('\n')}\n`));
    this.drawLive();
  }

  /** Text as it comes (a followed log's chunks, a file's text) on stdout, masked, no newline added. */
  raw(text: string): void {
    this.clearLive();
    this.streams.out.write(this.mask(text));
    this.drawLive();
  }

  /**
   * Replace the live region (a terminal's spinner lines) with `lines`; `[]` removes it. The
   * caller draws only on a terminal.
   */
  live(lines: readonly string[]): void {
    this.clearLive();
    this.liveLines = lines;
    this.drawLive();
  }

  private clearLive(): void {
    if (this.drawn === 0) return;
    this.streams.err.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private drawLive(): void {
    if (this.liveLines.length === 0) return;
    this.streams.err.write(this.mask(this.liveLines.map((l) => `${l}\n`).join('')));
    this.drawn = this.liveLines.length;
  }

  private paint(code: number, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
}
