/** The repository root. */
export declare const REPO_ROOT: string;

/** Every published package: its folder under packages/ and its name. */
export declare const PACKAGES: ReadonlyArray<{ dir: string; name: string }>;

export interface PackedInstall {
  /** The temporary folder holding everything below. */
  root: string;
  tarballDir: string;
  /** The folder the tarballs were installed into (its own package.json, `"type": "module"`). */
  appDir: string;
  /** Package name → tarball path. */
  tarballs: Record<string, string>;
  /** `<appDir>/node_modules/.bin/serve`. */
  bin: string;
  /** Remove `root`. */
  cleanup(): Promise<void>;
}

/** Build (unless `build: false`), pack every package and npm-install the tarballs into an empty folder. */
export declare function packAndInstall(options?: { build?: boolean; log?: (line: string) => void }): Promise<PackedInstall>;
