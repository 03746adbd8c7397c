import { readFile, stat } from 'node:fs/promises';
import { ConfigFileError, type ConfigIssue } from './errors.js';

/** Largest `models.yaml` or `.env` accepted; real ones are a few kilobytes. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Text of a source file, or the one issue that stops it from being read as text. */
export type DecodedSource = { text: string; issue?: undefined } | { text?: undefined; issue: ConfigIssue };

/**
 * Reads a file as text (see {@link decodeSource}); an oversized file is refused before it is
 * read. File-system failures become {@link ConfigFileError}.
 */
export async function readSource(path: string, shownAs: string): Promise<DecodedSource> {
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new ConfigFileError(shownAs, 'not-a-file', { hint: 'give the path of a file, not a directory' });
    }
    if (info.size > MAX_FILE_BYTES) return decodeSource('', shownAs, info.size);
    return decodeSource(await readFile(path), shownAs);
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigFileError(shownAs, 'not-found', { hint: 'check the path', cause: error });
    }
    const hint = code === 'ELOOP' ? 'it is a loop of symbolic links; point the link at a file' : 'check the file permissions';
    throw new ConfigFileError(shownAs, 'unreadable', { hint, cause: error });
  }
}

/**
 * Turns file bytes into text, refusing oversized files and invalid UTF-8 with an issue that
 * points at the first bad byte. A UTF-8 byte order mark is dropped.
 */
export function decodeSource(input: string | Uint8Array, file: string, knownSize?: number): DecodedSource {
  const size = knownSize ?? (typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength);
  if (size > MAX_FILE_BYTES) {
    return {
      issue: {
        file,
        line: 1,
        column: 1,
        path: [],
        code: 'file-too-large',
        message: `file is ${(size / 1024 / 1024).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
        hint: 'this is not a configuration file; check the path',
      },
    };
  }
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      const { line, column } = firstInvalidUtf8(input);
      return {
        issue: {
          file,
          line,
          column,
          path: [],
          code: 'not-utf8',
          message: 'file is not valid UTF-8 text',
          hint: 'save the file as UTF-8 (it may be binary, or in another encoding such as Latin-1 or UTF-16)',
        },
      };
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Valid UTF-8, but no environment variable or argv can hold it (the kernel would cut it).
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const lines = text.slice(0, nul).split('\n');
    return {
      issue: {
        file,
        line: lines.length,
        column: (lines.at(-1)?.length ?? 0) + 1,
        path: [],
        code: 'nul-byte',
        message: 'file contains a NUL byte',
        hint: 'remove it: no setting, flag or environment variable can hold one (the file may be binary or UTF-16)',
      },
    };
  }
  return { text };
}

/** Line and column (1-based, in characters) of the first byte that breaks UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): { line: number; column: number } {
  let line = 1;
  let column = 1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    let len = 0;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) len = 3;
    else if (b >= 0xf0 && b <= 0xf4) len = 4;
    if (len === 0 || i + len > bytes.length) return { line, column };
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k] ?? 0;
      if ((c & 0xc0) !== 0x80) return { line, column };
    }
    // Overlong and surrogate forms are invalid too; TextDecoder agrees, so re-check the slice.
    if (len > 1) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(i, i + len));
      } catch {
        return { line, column };
      }
    }
    if (b === 0x0a) {
      line += 1;
      column = 1;
    } else {
      column += 1;
    }
    i += len;
  }
  return { line, column };
}
