import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const require = createRequire(import.meta.url);

/**
 * The bin is bundled: `serve status` and a no-op `serve up` must start fast, and resolving
 * hundreds of files of dockerode's dependency tree took most of their time. Split at every
 * dynamic import: `serve --help` loads only citty and the commands' definitions, a command loads
 * the libraries when it runs, and dockerode is loaded only when Docker is contacted.
 * Bundled CommonJS modules are evaluated only when first required, so we also make sure the
 * heavy parts we rarely or never need are not required at start:
 * - dockerode's BuildKit session and BuildKit progress decoder (gRPC + protobuf): inferstack
 *   never builds images, and follows pull progress through docker-modem;
 * - docker-modem's SSH transport: loaded only for `DOCKER_HOST=ssh://...`; ssh2 (with native
 *   parts) stays an ordinary dependency, required then.
 */
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
    build.onLoad({ filter: /.*/, namespace: 'lean-ssh' }, (args) => ({
      contents: `var real; module.exports = function (opt) { real = real || require(${JSON.stringify(args.path)}); return real(opt); };`,
      loader: 'js',
      resolveDir: '/',
    }));
  },
};

/**
 * The libraries are bundled from their TypeScript sources, not their builds: esbuild then splits
 * them per source file and leaves out what a command does not reach. The point is the parser of
 * models.yaml (yaml, valibot: `loadConfig` loads it only when it parses): `serve status` and a
 * no-op `serve up`, whose config the CLI's cache of parsed configs answers, start without it.
 *
 * One more step is needed for that. esbuild puts a module in the chunks of every command that
 * imports the package's index, whether or not the command uses that export; `@inferstack/config`'s
 * index exports `parseConfig` and `modelsJsonSchema`, which hold the parser. So every importer
 * but those that use them gets the index without those two exports: one that used them anyway
 * fails the build ("No matching export"), it never ships the parser by mistake. The same holds
 * for `@inferstack/stack`'s index (it exports `initProject`, which parses): the module that opens
 * a stack for the commands (src/context.ts) gets `openStack` (and `hasSeveralHosts`) alone, and the
commands import no value from `@inferstack/stack` themselves (test/bundle.test.ts checks both).
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

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  splitting: true,
  target: 'node20',
  platform: 'node',
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  // Everything in one bundle (see above) but ssh2.
  noExternal: [/^(?!ssh2$).*/],
  external: ['ssh2'],
  esbuildPlugins: [librarySources, lean],
  esbuildOptions(options) {
    options.conditions = ['node', 'import', 'default'];
    options.minifyWhitespace = true;
    options.minifySyntax = true;
  },
  // Grafana's dashboards and provisioning files travel with the bin (serve mounts them).
  onSuccess: 'mkdir -p dist/grafana && cp -r ../prometheus-sync/dashboards ../prometheus-sync/provisioning dist/grafana/',
  banner: { js: "import { createRequire as __inferstackCreateRequire } from 'node:module'; const require = __inferstackCreateRequire(import.meta.url);" },
});
