// A small `curl` for the stand-in image, so the healthcheck that works in the real vLLM image
// (`curl -fsS http://localhost:8000/health`) works here too. Same exit codes and messages as curl
// for what a healthcheck meets: 0 ok, 22 HTTP >= 400 with -f, 7 connection refused, 28 timeout,
// 6 unknown host, 3 bad URL, 52/56 empty reply/reset, 2 unknown option.
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';

const USAGE_HINT = "curl: try 'curl --help' or 'curl --manual' for more information";

/** @returns {{ opts: object } | { exitCode: number, message: string }} */
export function parseCurlArgs(argv) {
  const opts = { fail: false, silent: false, showError: false, output: undefined, maxTime: undefined, connectTimeout: undefined, method: undefined, headers: [], data: undefined, include: false, head: false, writeOut: undefined, url: undefined };
  const withValue = new Set(['o', 'm', 'X', 'H', 'd', 'w', 'u', 'A', 'e', 'r']);
  const longs = {
    '--fail': 'f', '--silent': 's', '--show-error': 'S', '--output': 'o', '--max-time': 'm', '--request': 'X', '--header': 'H',
    '--data': 'd', '--data-raw': 'd', '--data-binary': 'd', '--include': 'i', '--head': 'I', '--write-out': 'w', '--location': 'L',
    '--insecure': 'k', '--verbose': 'v', '--user-agent': 'A', '--fail-with-body': 'f', '--url': '_url',
  };
  const ignoredLongWithValue = new Set(['--retry', '--retry-delay', '--retry-max-time']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw Object.assign(new Error(`curl: option ${a}: requires parameter\n${USAGE_HINT}`), { exitCode: 2 });
      return v;
    };
    try {
      if (a === '--connect-timeout') { opts.connectTimeout = Number(next()); continue; }
      if (ignoredLongWithValue.has(a)) { next(); continue; }
      if (a === '--retry-connrefused' || a === '--compressed' || a === '--no-progress-meter') continue;
      if (a.startsWith('--')) {
        const short = longs[a];
        if (!short) return { exitCode: 2, message: `curl: option ${a}: is unknown\n${USAGE_HINT}` };
        if (short === '_url') { opts.url = next(); continue; }
        apply(short, withValue.has(short) ? next() : undefined);
        continue;
      }
      if (a.startsWith('-') && a.length > 1) {
        for (let j = 1; j < a.length; j++) {
          const c = a[j];
          if (!'fsSomXHdiIwLkvAuer'.includes(c)) return { exitCode: 2, message: `curl: option -${c}: is unknown\n${USAGE_HINT}` };
          if (withValue.has(c)) {
            const rest = a.slice(j + 1);
            apply(c, rest !== '' ? rest : next());
            break;
          }
          apply(c);
        }
        continue;
      }
      opts.url = a;
    } catch (e) {
      return { exitCode: e.exitCode ?? 2, message: e.message };
    }
  }
  function apply(c, v) {
    switch (c) {
      case 'f': opts.fail = true; break;
      case 's': opts.silent = true; break;
      case 'S': opts.showError = true; break;
      case 'o': opts.output = v; break;
      case 'm': opts.maxTime = Number(v); break;
      case 'X': opts.method = v; break;
      case 'H': opts.headers.push(v); break;
      case 'd': opts.data = v; break;
      case 'i': opts.include = true; break;
      case 'I': opts.head = true; break;
      case 'w': opts.writeOut = v; break;
      case 'A': opts.headers.push(`User-Agent: ${v}`); break;
      default: break; // -L -k -v -u -e -r: accepted, no effect here
    }
  }
  if (!opts.url) return { exitCode: 2, message: `curl: no URL specified!\n${USAGE_HINT}` };
  return { opts };
}

export async function curl(argv) {
  const parsed = parseCurlArgs(argv);
  if (!('opts' in parsed)) {
    process.stderr.write(`${parsed.message}\n`);
    return parsed.exitCode;
  }
  const o = parsed.opts;
  const complain = (code, msg) => {
    if (!o.silent || o.showError) process.stderr.write(`curl: (${code}) ${msg}\n`);
    return code;
  };
  let url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(o.url) ? o.url : `http://${o.url}`);
  } catch {
    return complain(3, `URL rejected: Malformed input to a URL function`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return complain(1, `Protocol "${url.protocol.slice(0, -1)}" not supported`);
  const lib = url.protocol === 'https:' ? https : http;
  const headers = {};
  for (const h of o.headers) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const method = o.method ?? (o.head ? 'HEAD' : o.data !== undefined ? 'POST' : 'GET');
  if (o.data !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (code) => {
      if (!settled) {
        settled = true;
        resolve(code);
      }
    };
    const req = lib.request(url, { method, headers, autoSelectFamily: true, rejectUnauthorized: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (o.fail && status >= 400) {
        res.resume();
        return finish(complain(22, `The requested URL returned error: ${status}`));
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let out = Buffer.concat(chunks);
        if (o.include || o.head) {
          const head = [`HTTP/${res.httpVersion} ${status} ${res.statusMessage ?? ''}`];
          for (let i = 0; i < res.rawHeaders.length; i += 2) head.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
          out = Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), out]);
        }
        if (o.output && o.output !== '-') fs.writeFileSync(o.output, out);
        else process.stdout.write(out);
        if (o.writeOut) process.stdout.write(o.writeOut.replaceAll('%{http_code}', String(status).padStart(3, '0')).replaceAll('\\n', '\n'));
        finish(0);
      });
      res.on('error', () => finish(complain(56, 'Recv failure: Connection reset by peer')));
    });
    const timeoutMs = o.maxTime ? o.maxTime * 1000 : undefined;
    if (timeoutMs) {
      setTimeout(() => {
        req.destroy();
        finish(complain(28, `Operation timed out after ${Date.now() - started} milliseconds with 0 bytes received`));
      }, timeoutMs).unref();
    }
    req.on('error', (e) => {
      const ms = Date.now() - started;
      const code = /** @type {any} */ (e).code;
      if (code === 'ECONNREFUSED' || code === 'EADDRNOTAVAIL' || code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || /** @type {any} */ (e).errors) {
        return finish(complain(7, `Failed to connect to ${url.hostname} port ${url.port || (url.protocol === 'https:' ? 443 : 80)} after ${ms} ms: Couldn't connect to server`));
      }
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return finish(complain(6, `Could not resolve host: ${url.hostname}`));
      if (code === 'ECONNRESET') return finish(complain(56, 'Recv failure: Connection reset by peer'));
      if (e.message === 'socket hang up') return finish(complain(52, 'Empty reply from server'));
      return finish(complain(7, `Failed to connect to ${url.hostname} port ${url.port || 80} after ${ms} ms: ${e.message}`));
    });
    if (o.data !== undefined) req.write(o.data.startsWith('@') ? fs.readFileSync(o.data.slice(1)) : o.data);
    req.end();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  curl(process.argv.slice(2)).then((code) => process.exit(code));
}
