// What `pnpm pack` and `pnpm publish` put in a published package.json.
//
// @inferstack/serve lists the libraries it bundles (@inferstack/*) as exact `dependencies`
// (`workspace:*`) in the workspace: that is how changesets learns that serve ships their code,
// so that releasing any of them releases serve too (see packages/cli/README.md, "Versioning").
// Its bin carries them in its bundle, so the published manifest drops them: users install
// serve and ssh2, not a second copy of every library.
module.exports = {
  hooks: {
    beforePacking(pkg) {
      if (pkg.name !== '@inferstack/serve' || !pkg.dependencies) return pkg;
      pkg.dependencies = Object.fromEntries(Object.entries(pkg.dependencies).filter(([name]) => !name.startsWith('@inferstack/')));
      return pkg;
    },
  },
};
