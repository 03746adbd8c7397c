import { readSource } from './_source-text.js';
import { ConfigValidationError, type ConfigIssue } from './errors.js';
import type { SourceLocation } from './types.js';

/** The parsed contents of a `.env` file. */
export interface EnvFile {
  /** File as given (used in issues). */
  file: string;
  /** Variables in file order; a name given twice keeps the last value, as shells and compose do. */
  values: Record<string, string>;
  /** Where each variable was (last) set. */
  locations: Record<string, SourceLocation>;
}

/** Options of {@link parseEnvFile}. */
export interface ParseEnvFileOptions {
  /**
   * Looked up for `${NAME}` references not set earlier in the file. Matches python-dotenv,
   * which the reference tool used.
   * @default {}
   */
  env?: Record<string, string | undefined>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `.env` text: `NAME=value` lines, `#` comments, an optional `export ` prefix, single
 * quotes (literal) and double quotes (`\n`, `\t`, `\"`, `\\` escapes; may span lines),
 * unquoted values ending at ` #`, and `${NAME}` / `${NAME:-default}` references in unquoted and
 * double-quoted values. Never throws: lines that do not parse come back as issues.
 */
export function parseEnvFile(
  text: string,
  file: string,
  options: ParseEnvFileOptions = {},
): EnvFile & { issues: ConfigIssue[] } {
  const env = options.env ?? {};
  const values: Record<string, string> = {};
  const locations: Record<string, SourceLocation> = {};
  const issues: ConfigIssue[] = [];
  const lines = text.split(/\r?\n/);
  const issue = (line: number, column: number, message: string, hint: string, path: string[] = []) =>
    issues.push({ file, line, column, path, code: 'env-syntax', message, hint });
  const lookup = (name: string): string | undefined =>
    Object.hasOwn(values, name) ? values[name] : env[name];

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? '';
    let pos = raw.length - raw.trimStart().length;
    let rest = raw.slice(pos);
    if (rest === '' || rest.startsWith('#')) continue;
    const exported = /^export[ \t]+/.exec(rest);
    if (exported) {
      pos += exported[0].length;
      rest = raw.slice(pos);
    }
    const eq = rest.indexOf('=');
    if (eq < 0) {
      // Never quote the line: in a .env it is likely a secret ("HF_TOKEN hf_...", a pasted key).
      issue(lineNo, pos + 1, 'expected NAME=value, got a line without "="', 'write NAME=value, or start the line with # to make it a comment');
      continue;
    }
    const name = rest.slice(0, eq).trimEnd();
    if (!NAME.test(name)) {
      issue(
        lineNo,
        pos + 1,
        `${JSON.stringify(truncate(name))} is not a valid variable name`,
        'names use letters, digits and _ and do not start with a digit; no spaces around the name',
      );
      continue;
    }
    const location: SourceLocation = { file, line: lineNo, column: pos + 1 };
    let vpos = pos + eq + 1;
    while (raw[vpos] === ' ' || raw[vpos] === '\t') vpos++;
    const quote = raw[vpos];
    if (quote === "'" || quote === '"') {
      // Quoted values may span lines: collect until the closing quote.
      let buf = '';
      let j = vpos + 1;
      let line = i;
      let current = raw;
      let closed = false;
      for (;;) {
        while (j < current.length) {
          const c = current[j];
          if (quote === '"' && c === '\\' && j + 1 < current.length) {
            const n = current[j + 1] ?? '';
            buf += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n === '"' || n === '\\' || n === '$' ? n : `\\${n}`;
            j += 2;
            continue;
          }
          if (c === quote) {
            closed = true;
            break;
          }
          buf += c;
          j++;
        }
        if (closed || line + 1 >= lines.length) break;
        buf += '\n';
        line++;
        current = lines[line] ?? '';
        j = 0;
      }
      if (!closed) {
        issue(lineNo, vpos + 1, `value of ${name} has no closing ${quote}`, `end the value with ${quote} (a value may span lines only inside quotes)`, [name]);
        break; // the rest of the file is inside the quote
      }
      const after = current.slice(j + 1);
      if (after.trim() !== '' && !/^\s+#/.test(after)) {
        issue(line + 1, j + 2, `unexpected text after the closing ${quote} of ${name}`, 'remove it, or put a space before a # comment', [name]);
      }
      i = line;
      values[name] = quote === '"' ? expand(buf, lookup) : buf;
      locations[name] = location;
      continue;
    }
    let value = raw.slice(vpos);
    const comment = /\s#/.exec(value);
    if (comment) value = value.slice(0, comment.index);
    value = value.trimEnd();
    values[name] = expand(value, lookup);
    locations[name] = location;
  }
  return { file, values, locations, issues };
}

function expand(value: string, lookup: (name: string) => string | undefined): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
    const found = lookup(name);
    return found !== undefined && found !== '' ? found : (fallback ?? '');
  });
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * Reads and parses a `.env` file (see {@link parseEnvFile}).
 *
 * @param file Path of the file; also the name used in issues.
 * @throws {@link ConfigFileError} when the file does not exist or cannot be read.
 * @throws {@link ConfigValidationError} listing every line that does not parse.
 */
export async function readEnvFile(file: string, options: ParseEnvFileOptions = {}): Promise<EnvFile> {
  const decoded = await readSource(file, file);
  if (decoded.issue) throw new ConfigValidationError([decoded.issue]);
  const { issues, ...parsed } = parseEnvFile(decoded.text, file, options);
  if (issues.length > 0) throw new ConfigValidationError(issues);
  return parsed;
}
