import type { RepoFile } from './weights-select.js';

/*
 * The small Python program `serve pull` runs, with `python3 -c`, in a container of the model's
 * image (or a fallback image) on the model's host: the real huggingface_hub client of that image
 * lists a repo, reports what the cache holds, and downloads files into the cache the model mounts.
 * It prints JSON lines prefixed with PROGRAM_MARK on stdout (the client's own warnings go to
 * stderr). What it relies on in the client, per version: docs/upstream/huggingface-hub.md.
 *
 * Modes (the job, JSON, is its one argument; HF_TOKEN comes from the environment only):
 * - list: `HfApi().model_info(repo, revision, files_metadata=True)` (sizes and blob names),
 *   the safetensors index's weight_map (read from the cache, else downloaded to a temporary
 *   cache), the cache's state of every file, the cache disk's free space.
 * - check: the same without the network: the commit from `refs/<revision>` (or the revision
 *   itself when it is a commit), the file list from the client's cached tree
 *   (`trees/<commit>.json`, huggingface_hub >= 1.x), else from the snapshot folder.
 * - download: `snapshot_download(repo, revision, allow_patterns=<the exact paths>)`, while a
 *   thread reports the bytes of each file every `tickSeconds` (the blob, or the client's
 *   `<blob>[.<8 hex>].incomplete` file in `blobs/`). SIGTERM removes the temporary files of
 *   huggingface_hub >= 1.x this run started (they cannot be resumed); 0.x's resumable
 *   `<blob>.incomplete` stays.
 * Exit 0 done, 1 an error (reported), 3 no huggingface_hub in this image.
 */

/** The prefix of the program's report lines on stdout. */
export const PROGRAM_MARK = '@@inferstack ';

/** Exit code of the program when the image has python3 but no huggingface_hub. */
export const NO_CLIENT_EXIT = 3;

/** What the program is asked to do. */
export interface WeightsJob {
  mode: 'list' | 'check' | 'download';
  repo: string;
  /** Branch, tag or commit; unset: `main`. */
  revision?: string;
  /** The hub cache inside the container. */
  cacheDir: string;
  /** Index files whose `weight_map` the listing reports. */
  indexes?: string[];
  /** download: the commit the files were listed at. */
  commit?: string;
  /** download: the files to fetch (path, size, blob name). */
  files?: Array<Pick<RepoFile, 'path' | 'size' | 'blob'>>;
  /** download: how often it reports bytes. @default 0.5 */
  tickSeconds?: number;
}

/** The cache disk, as `statvfs` inside the container sees it. */
export interface CacheDisk {
  /** The hub cache path in the container. */
  path: string;
  /** Bytes an unprivileged writer may still use (`f_bavail`). */
  freeBytes: number;
  totalBytes: number;
  /** The filesystem's device number (`st_dev`): models whose caches share it share the space. */
  device: number;
}

/** What the program reports of a repo (list and check modes). */
export interface WeightsListing {
  repo: string;
  revision: string;
  /** The commit the revision resolves to; `null` when the cache knows none (check mode). */
  commit: string | null;
  /** What `refs/<revision>` holds in the cache, when the revision is a branch or tag. */
  ref: string | null;
  /** Where the file list came from: the Hub, the client's cached tree, the snapshot folder, or nowhere. */
  source: 'hub' | 'tree-cache' | 'snapshot' | 'none';
  files: RepoFile[];
  /** `weight_map` shard lists of the index files that exist. */
  indexes: Record<string, string[]>;
  /** The Hub's `gated` field (`auto`, `manual` or false), online only. */
  gated?: string | false | null;
  disk: CacheDisk;
  /** The repo's folder in the cache (inside the container). */
  cache: string;
}

/** An exception the program caught, as it reports it (the token is never in it). */
export interface ProgramError {
  type: string;
  module: string;
  status: number | null;
  errno: number | null;
  message: string;
  causes: string[];
}

/** One report line of the program. */
export type ProgramEvent =
  | { e: 'client'; version: string; python: string }
  | { e: 'no-client'; python: string; message: string }
  | ({ e: 'listing' } & WeightsListing)
  | { e: 'progress'; files: Array<[path: string, bytes: number, complete: boolean]> }
  | { e: 'done'; commit: string; missing: string[] }
  | { e: 'warning'; message: string }
  | { e: 'cancelled' }
  | ({ e: 'error' } & ProgramError);

/** A report line of the program, or `undefined` for any other output. */
export function parseProgramLine(line: string): ProgramEvent | undefined {
  const at = line.indexOf(PROGRAM_MARK);
  if (at < 0) return undefined;
  try {
    const raw = JSON.parse(line.slice(at + PROGRAM_MARK.length)) as Record<string, unknown>;
    if (typeof raw.e !== 'string') return undefined;
    if (raw.e === 'listing' && raw.disk && typeof raw.disk === 'object') {
      const d = raw.disk as { path: string; free: number; total: number; device: number };
      raw.disk = { path: d.path, freeBytes: d.free, totalBytes: d.total, device: d.device } satisfies CacheDisk;
    }
    return raw as ProgramEvent;
  } catch {
    return undefined;
  }
}

/** The program (Python 3.8+, huggingface_hub 0.3x to 2.x), run as `python3 -c WEIGHTS_PROGRAM <job>`. */
export const WEIGHTS_PROGRAM = String.raw`
import glob, json, os, re, shutil, signal, sys, tempfile, threading

MARK = "@@inferstack "
TOKEN = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or ""


def scrub(value):
    text = str(value)
    return text.replace(TOKEN, "***") if TOKEN else text


def emit(event, **fields):
    fields["e"] = event
    sys.stdout.write(MARK + json.dumps(fields) + "\n")
    sys.stdout.flush()


def describe(error):
    chain, cause = [], error.__cause__ or error.__context__
    while cause is not None and len(chain) < 5:
        chain.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    response = getattr(error, "response", None)
    return {"type": type(error).__name__, "module": type(error).__module__, "status": getattr(response, "status_code", None),
            "errno": error.errno if isinstance(error, OSError) else None, "message": scrub(error)[:2000], "causes": chain}


job = json.loads(sys.argv[1])
try:
    import huggingface_hub
except Exception as error:
    emit("no-client", python=sys.version.split()[0], message=scrub(error))
    sys.exit(3)
emit("client", version=getattr(huggingface_hub, "__version__", "unknown"), python=sys.version.split()[0])

REPO = job["repo"]
REVISION = job.get("revision") or "main"
CACHE = job["cacheDir"]
FOLDER = os.path.join(CACHE, "models--" + REPO.replace("/", "--"))
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def disk():
    path = CACHE
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return {"path": CACHE, "free": st.f_bavail * st.f_frsize, "total": st.f_blocks * st.f_frsize, "device": os.stat(path).st_dev}


def blob_names():
    try:
        return os.listdir(os.path.join(FOLDER, "blobs"))
    except OSError:
        return []


def state(commit, entry, names):
    pointer = os.path.join(FOLDER, "snapshots", commit, entry["path"]) if commit else None
    size = entry.get("size")
    if pointer and os.path.isfile(pointer):
        have = os.path.getsize(pointer)
        if size is None or have == size:
            return have, True
    blob, done = entry.get("blob"), 0
    if blob:
        for name in names:
            if name == blob or (name.startswith(blob + ".") and name.endswith(".incomplete")):
                try:
                    done = max(done, os.path.getsize(os.path.join(FOLDER, "blobs", name)))
                except OSError:
                    pass
    return done, False


def read_ref(revision):
    if COMMIT.match(revision):
        return revision
    try:
        with open(os.path.join(FOLDER, "refs", revision)) as f:
            return f.read().strip() or None
    except OSError:
        return None


def weight_files(path):
    with open(path) as f:
        weight_map = json.load(f).get("weight_map") or {}
    return sorted(set(str(v) for v in weight_map.values()))


def indexes(commit, files, online):
    out, names = {}, set(f["path"] for f in files)
    for name in job.get("indexes") or []:
        if name not in names:
            continue
        pointer = os.path.join(FOLDER, "snapshots", commit, name)
        try:
            if os.path.isfile(pointer):
                out[name] = weight_files(pointer)
            elif online:
                from huggingface_hub import hf_hub_download
                tmp = tempfile.mkdtemp(prefix="inferstack-index-")
                try:
                    out[name] = weight_files(hf_hub_download(REPO, name, revision=commit, cache_dir=tmp))
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
        except Exception as error:
            emit("warning", message="cannot read " + name + ": " + scrub(error))
    return out


def listing(commit, files, source, online, gated=None):
    names = blob_names()
    for f in files:
        f["bytes"], f["complete"] = state(commit, f, names)
    ref = None if REVISION == commit else read_ref(REVISION)
    emit("listing", repo=REPO, revision=REVISION, commit=commit, ref=ref, source=source, files=files, gated=gated,
         indexes=indexes(commit, files, online) if commit else {}, disk=disk(), cache=FOLDER)


def list_online():
    from huggingface_hub import HfApi
    info = HfApi().model_info(REPO, revision=REVISION, files_metadata=True)
    files = []
    for s in info.siblings or []:
        lfs = s.lfs
        sha = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)) if lfs else None
        files.append({"path": s.rfilename, "size": s.size, "blob": sha or s.blob_id})
    gated = getattr(info, "gated", None)
    listing(info.sha, files, "hub", True, gated if isinstance(gated, (str, bool)) else None)


def list_offline():
    commit = read_ref(REVISION)
    if commit is None:
        return listing(None, [], "none", False)
    try:
        with open(os.path.join(FOLDER, "trees", commit + ".json")) as f:
            tree = json.load(f)
        if tree.get("format_version") == 1 and isinstance(tree.get("files"), dict):
            files = [{"path": p, "size": v.get("size"), "blob": v.get("lfs_sha256") or v.get("blob_id")} for p, v in tree["files"].items()]
            return listing(commit, files, "tree-cache", False)
    except (OSError, ValueError, AttributeError):
        pass
    root = os.path.join(FOLDER, "snapshots", commit)
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            target = os.readlink(full) if os.path.islink(full) else None
            files.append({"path": os.path.relpath(full, root), "size": os.path.getsize(full) if os.path.exists(full) else None,
                          "blob": os.path.basename(target) if target else None})
    listing(commit, files, "snapshot" if files else "none", False)


def download():
    from huggingface_hub import snapshot_download
    files, commit = job["files"], job["commit"]
    at_start = set(blob_names())
    stop, last = threading.Event(), {}

    def tick():
        names, changed = blob_names(), []
        for f in files:
            now = state(commit, f, names)
            if last.get(f["path"]) != now:
                last[f["path"]] = now
                changed.append([f["path"], now[0], now[1]])
        if changed:
            emit("progress", files=changed)

    def watch():
        while not stop.wait(job.get("tickSeconds") or 0.5):
            tick()

    def terminate(signum, frame):
        for name in blob_names():
            if name not in at_start and re.match(r"^.+\.[0-9a-f]{8}\.incomplete$", name):
                try:
                    os.unlink(os.path.join(FOLDER, "blobs", name))
                except OSError:
                    pass
        emit("cancelled")
        os._exit(143)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    threading.Thread(target=watch, daemon=True).start()
    try:
        path = snapshot_download(REPO, revision=REVISION, cache_dir=CACHE, allow_patterns=[glob.escape(f["path"]) for f in files])
    finally:
        stop.set()
    tick()
    got, names = os.path.basename(os.path.normpath(path)), blob_names()
    emit("done", commit=got, missing=[f["path"] for f in files if not state(got, f, names)[1]])


try:
    mode = job["mode"]
    if mode == "list":
        list_online()
    elif mode == "check":
        list_offline()
    elif mode == "download":
        download()
    else:
        raise ValueError("unknown mode " + mode)
except Exception as error:
    emit("error", **describe(error))
    sys.exit(1)
`;
