// A small block-style YAML writer for plain data (objects, arrays, strings, numbers, booleans,
// null): enough for prometheus.yml, deterministic, and safe for YAML 1.1 readers such as the
// go-yaml v2 Prometheus uses. Strings that a YAML 1.1 reader could take for something else
// (yes/no/on/off, numbers, timestamps, anything with indicators or spaces) are double-quoted
// with JSON escapes, which are valid YAML double-quoted escapes.

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@+-]*$/;
const DURATION = /^(\d+(ms|[smhdwy]))+$/;
const YAML11_KEYWORDS = /^(y|yes|n|no|true|false|on|off|null)$/i;

/** Whether `s` can be written without quotes and read back as the same string. */
function isPlainSafe(s: string): boolean {
  if (DURATION.test(s)) return true;
  return PLAIN.test(s) && !s.endsWith(':') && !YAML11_KEYWORDS.test(s);
}

function scalar(value: unknown, path: string): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return isPlainSafe(value) ? value : JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} cannot be written to YAML`);
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      throw new TypeError(`${path}: a ${typeof value} cannot be written to YAML`);
  }
}

function isCollection(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function isEmptyCollection(value: object): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

/** Entries of an object, skipping undefined values as JSON does. */
function entries(value: object): Array<[string, unknown]> {
  return Object.entries(value).filter(([, v]) => v !== undefined);
}

function inline(value: unknown, path: string): string {
  if (isCollection(value)) return Array.isArray(value) ? '[]' : '{}';
  return scalar(value, path);
}

function block(value: object, indent: string, path: string, seen: Set<object>): string[] {
  if (seen.has(value)) throw new TypeError(`${path}: circular structure`);
  seen.add(value);
  const lines: string[] = [];
  if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      const itemPath = `${path}[${i}]`;
      if (isCollection(item) && !isEmptyCollection(item)) {
        const inner = block(item, `${indent}  `, itemPath, seen);
        const first = inner[0] ?? '';
        lines.push(`${indent}- ${first.slice(indent.length + 2)}`, ...inner.slice(1));
      } else {
        lines.push(`${indent}- ${inline(item, itemPath)}`);
      }
    });
  } else {
    for (const [key, item] of entries(value)) {
      const itemPath = `${path}.${key}`;
      const k = scalar(key, itemPath);
      if (isCollection(item) && !isEmptyCollection(item)) {
        lines.push(`${indent}${k}:`, ...block(item, `${indent}  `, itemPath, seen));
      } else {
        lines.push(`${indent}${k}: ${inline(item, itemPath)}`);
      }
    }
  }
  seen.delete(value);
  return lines;
}

/** `value` as a YAML document (block style, two-space indentation, final newline). */
export function toYaml(value: unknown): string {
  if (isCollection(value) && !isEmptyCollection(value)) return `${block(value, '', '$', new Set()).join('\n')}\n`;
  return `${inline(value, '$')}\n`;
}
