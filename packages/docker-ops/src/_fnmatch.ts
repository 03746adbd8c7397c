/**
 * Python's `fnmatch.fnmatch` on POSIX, which huggingface_hub (`filter_repo_objects`) and vLLM use
 * to pick a repo's files: `*` matches anything, `/` included; `?` one character; `[...]` a class,
 * `[!...]` its complement; everything else literally; the whole name must match. Mirrored here so
 * that the choice of files is made (and tested) on our side exactly as the client will apply it.
 */
export function fnmatch(name: string, pattern: string): boolean {
  return translate(pattern).test(name);
}

const cache = new Map<string, RegExp>();

function translate(pattern: string): RegExp {
  const known = cache.get(pattern);
  if (known) return known;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      // A class runs to the first `]` that is not its first character; without one, `[` is literal.
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, j);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m, at: number) => (m === ']' && at === 0 ? '\\]' : `\\${m}`))}]`;
      i = j;
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  const regex = new RegExp(`^(?:${out})$`, 's');
  cache.set(pattern, regex);
  return regex;
}
