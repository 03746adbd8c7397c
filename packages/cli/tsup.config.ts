import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const require = createRequire(import.meta.url);

/**
 * The bin is bundled: `serve status` and a no-op `serve up` must start fast, and resolving
 * hundreds of files of dockerode's dependency tree took most of their time. Everything reached
 * through a dynamic import stays lazy: `serve --help` evaluates only citty and the commands'
 * definitions, a command evaluates the libraries when it runs, and dockerode is evaluated only
 * when Docker is contacted. Bundled CommonJS modules are evaluated only when first required, so
 * we also make sure the heavy parts we rarely or never need are not required at start:
 * - dockerode's BuildKit session and BuildKit progress decoder (gRPC + protobuf): inferstack
 *   never builds images, and follows pull progress through docker-modem;
 * - docker-modem's SSH transport: loaded only for `DOCKER_HOST=ssh://...`; ssh2 (with native
 *   parts) stays an ordinary dependency, required then;
 * - what dockerode and docker-modem require at their start but use only for some calls: Node's
 *   https (with tls and crypto; TLS daemons only), tar-fs and zlib (image builds, archives), and
 *   `debug` (docker-modem's trace, printed only with DEBUG set, whose every request it also
 *   formatted beforehand): each is required on first use (docs/startup.md measures what they cost
 *   every command that talks to Docker).
 */
const LAZY: Array<{ importer: RegExp; module: RegExp }> = [
  { importer: /[\\/]docker-modem[\\/]lib[\\/]http\.js$/, module: /^https$/ },
  { importer: /[\\/]dockerode[\\/]lib[\\/]util\.js$/, module: /^(tar-fs|zlib)$/ },
];
const lean: Plugin = {
  name: 'inferstack-lean',
  setup(build) {
    build.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (args) => (/[\\/]dockerode[\\/]/.test(args.importer) ? { path: `dockerode-${args.path.slice(2)}`, namespace: 'lean' } : undefined));
    build.onResolve({ filter: /^\.\/ssh$/ }, (args) =>
      /[\\/]docker-modem[\\/]/.test(args.importer) ? { path: require.resolve('./ssh', { paths: [args.resolveDir] }), namespace: 'lean-ssh' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lean' }, () => ({
      contents: 'module.exports = function () { throw new Error("image builds with BuildKit are not supported by inferstack"); }; module.exports.followProgress = module.exports;',
      loader: 'js',
    }));
    // A module whose exports are read through a proxy that requires it on first use.
    build.onResolve({ filter: /^[a-z@][a-z0-9@/._-]*$/ }, (args) => {
      if (args.namespace === 'lean-lazy' || !LAZY.some((l) => l.importer.test(args.importer) && l.module.test(args.path))) return undefined;
      return { path: isBuiltin(args.path) ? args.path : require.resolve(args.path, { paths: [args.resolveDir] }), namespace: 'lean-lazy' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lean-lazy' }, (args) => ({
      contents: `var real; function load() { return real || (real = require(${JSON.stringify(args.path)})); } module.exports = new Proxy({}, { get: function (_, key) { return load()[key]; }, has: function (_, key) { return key in load(); } });`,
      loader: 'js',
      resolveDir: '/',
    }));
    // docker-modem's trace: `require('debug')('modem')` is called at its start; debug itself is
    // required at the first trace line when DEBUG is set.
    build.onResolve({ filter: /^debug$/ }, (args) =>
      /[\\/]docker-modem[\\/]lib[\\/]/.test(args.importer) ? { path: require.resolve('debug', { paths: [args.resolveDir] }), namespace: 'lean-debug' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lean-debug' }, (args) => ({
      contents: `module.exports = function (ns) { var real; return function () { if (!real) { if (!process.env.DEBUG) return; real = require(${JSON.stringify(args.path)})(ns); } return real.apply(this, arguments); }; };`,
      loader: 'js',
      resolveDir: '/',
    }));
    // ...and docker-modem formats every request for that trace (util.inspect) before it calls it.
    build.onLoad({ filter: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const eager = "debug('Sending: %s', util.inspect(options, {";
      if (!text.includes(eager)) throw new Error(`${args.path} no longer has the trace line tsup.config.ts makes lazy: look at it again`);
      return { contents: text.replace(eager, `process.env.DEBUG && ${eager}`), loader: 'js' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lean-ssh' }, (args) => ({
      contents: `var real; module.exports = function (opt) { real = real || require(${JSON.stringify(args.path)}); return real(opt); };`,
      loader: 'js',
      resolveDir: '/',
    }));
  },
};

/**
 * The libraries are bundled from their TypeScript sources, not their builds: esbuild then keeps
 * each source file a module of its own, evaluated with what imports it. The point is the parser of
 * models.yaml (yaml, valibot: `loadConfig` loads it only when it parses): `serve status` and a
 * no-op `serve up`, whose config the CLI's cache of parsed configs answers, start without it.
 *
 * One more step is needed for that. esbuild evaluates a module with the command that imports
 * the package's index, whether or not the command uses that export; `@inferstack/config`'s
 * index exports `parseConfig` and `modelsJsonSchema`, which hold the parser. So every importer
 * but those that use them gets the index without those two exports: one that used them anyway
 * fails the build ("No matching export"), it never ships the parser by mistake. The same holds
 * for `@inferstack/stack`'s index (it exports `initProject`, which parses): the module that opens
 * a stack for the commands (src/context.ts) gets `openStack` (and `hasSeveralHosts`) alone, and
 * status, plan and up import no value from `@inferstack/stack` themselves (test/bundle.test.ts
 * checks that they evaluate no parser).
 */
const CONFIG_PARSER_EXPORTS = /^export (type )?\{[^}]*\} from '\.\/(parse-config|schema)\.js';$/gm;
const CONFIG_PARSER_USERS = [/[\\/]stack[\\/]src[\\/]verbs[\\/]init\.ts$/];
const librarySources: Plugin = {
  name: 'inferstack-library-sources',
  setup(build) {
    const dirs: Record<string, string> = { config: 'config', 'docker-ops': 'docker-ops', 'litellm-sync': 'litellm-sync', 'prometheus-sync': 'prometheus-sync', stack: 'stack' };
    build.onResolve({ filter: /^@inferstack\/[a-z-]+$/ }, (args) => {
      const dir = dirs[args.path.slice('@inferstack/'.length)];
      if (!dir) return undefined;
      const index = require.resolve(`../${dir}/src/index.ts`);
      if (dir === 'stack' && /[\\/]cli[\\/]src[\\/]context\.ts$/.test(args.importer)) return { path: require.resolve('../stack/src/stack.ts'), namespace: 'stack-open-only', sideEffects: false };
      if (dir === 'config' && !CONFIG_PARSER_USERS.some((re) => re.test(args.importer))) return { path: index, namespace: 'config-without-parser', sideEffects: false };
      // Their package.json says so too (`"sideEffects": false`); a plugin-resolved path must say it itself.
      return { path: index, sideEffects: false };
    });
    build.onLoad({ filter: /.*/, namespace: 'stack-open-only' }, (args) => ({
      // `hasSeveralHosts` too: the commands ask it, through context.ts, of every stack they open.
      contents: `export { openStack } from ${JSON.stringify(args.path)}; export { hasSeveralHosts } from ${JSON.stringify(join(dirname(args.path), 'hosts', 'hosts.ts'))};`,
      loader: 'ts',
      resolveDir: dirname(args.path),
    }));
    build.onLoad({ filter: /.*/, namespace: 'config-without-parser' }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replace(CONFIG_PARSER_EXPORTS, ''),
      loader: 'ts',
      resolveDir: dirname(args.path),
    }));
  },
};

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/** What the library and the bin's bundle share: the libraries from their sources, dockerode lean, Node 20. */
const shared = {
  target: 'node20',
  platform: 'node',
  // Everything in one bundle (see above) but ssh2.
  noExternal: [/^(?!ssh2$).*/],
  external: ['ssh2'],
  esbuildPlugins: [librarySources, lean],
  sourcemap: true,
} satisfies Options;

/**
 * Three builds (dist is emptied before them, in package.json: they run side by side):
 * - the library (`import { runCli } from '@inferstack/serve'`): ES modules, split at every
 *   dynamic import;
 * - the bin's program (src/cli.ts): one CommonJS file, dist/cli.cjs, because Node 20 can cache
 *   the compiled code of a script it is handed (V8's code cache) but not of an ES module: every
 *   run compiled every chunk it loaded, which was most of the start-up of `serve status`. Modules
 *   reached only through a dynamic import (each command, the parser of models.yaml) stay lazy:
 *   esbuild evaluates them when they are first imported;
 * - the bin itself (src/bin.ts, dist/serve.cjs): loads dist/cli.cjs with the code cache.
 */
export default defineConfig([
  {
    ...shared,
    entry: ['src/index.ts'],
    format: ['esm'],
    splitting: true,
    dts: { entry: 'src/index.ts' },
    esbuildOptions(options) {
      options.conditions = ['node', 'import', 'default'];
      options.minifyWhitespace = true;
      options.minifySyntax = true;
    },
    banner: { js: "import { createRequire as __inferstackCreateRequire } from 'node:module'; const require = __inferstackCreateRequire(import.meta.url);" },
  },
  {
    ...shared,
    entry: { cli: 'src/cli.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    // import.meta.url: the bundle's own file (the CLI finds package.json and Grafana's files from it).
    shims: true,
    esbuildOptions(options) {
      options.conditions = ['node', 'import', 'default'];
      // ssh2 stays outside; it is CommonJS: required, not imported.
      options.supported = { 'dynamic-import': false };
      options.legalComments = 'external';
      // Whitespace and syntax: less to read on every run; names kept for stack traces.
      options.minifyWhitespace = true;
      options.minifySyntax = true;
    },
    // The licence comments of what it bundles go to dist/cli.cjs.LEGAL.txt: the bundle itself is
    // then plain ASCII, which the bin reads as such (faster than decoding UTF-8; checked below).
    async onSuccess() {
      const text = readFileSync('dist/cli.cjs');
      const at = text.findIndex((byte) => byte > 0x7f);
      if (at !== -1) throw new Error(`dist/cli.cjs is not plain ASCII at byte ${at} (src/bin.ts reads it as latin1): ${text.subarray(Math.max(0, at - 60), at + 20).toString()}`);
      // Grafana's dashboards and provisioning files travel with the bin (serve mounts them).
      mkdirSync('dist/grafana', { recursive: true });
      for (const dir of ['dashboards', 'provisioning']) cpSync(`../prometheus-sync/${dir}`, `dist/grafana/${dir}`, { recursive: true });
    },
  },
  {
    entry: { serve: 'src/bin.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'node20',
    platform: 'node',
    // Part of the code cache's key: two builds of one size never share a cache.
    define: { __SERVE_VERSION__: JSON.stringify(pkg.version) },
  },
]);
