import { createRequire } from 'node:module';
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
  esbuildPlugins: [lean],
  esbuildOptions(options) {
    options.conditions = ['node', 'import', 'default'];
  },
  // Grafana's dashboards and provisioning files travel with the bin (serve mounts them).
  onSuccess: 'mkdir -p dist/grafana && cp -r ../prometheus-sync/dashboards ../prometheus-sync/provisioning dist/grafana/',
  banner: { js: "import { createRequire as __inferstackCreateRequire } from 'node:module'; const require = __inferstackCreateRequire(import.meta.url);" },
});
