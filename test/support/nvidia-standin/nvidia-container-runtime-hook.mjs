// Stand-in for the NVIDIA Container Toolkit's OCI prestart hook, for host b (the second Docker
// daemon of the tests, scripts/ensure-docker-b.sh), which has no GPU. See README.md here.
//
// Docker's daemon registers its `nvidia` device driver when `nvidia-container-runtime-hook` is on
// its PATH, and for a container asking for GPUs (`--gpus`, DeviceRequests) sets
// NVIDIA_VISIBLE_DEVICES in the container's environment and adds this program as a prestart hook
// (`nvidia-container-runtime-hook prestart`, the container's state as JSON on stdin). The real
// hook then mounts the GPUs' device nodes and the driver's tools, nvidia-smi among them, into the
// container. This one writes an `nvidia-smi` into the container's root file system that prints
// captured H200 rows (gpus.csv beside this program) for the GPUs the container was given,
// numbered from 0 as nvidia-smi numbers them inside a container. Without gpus.csv it fails as
// the real hook does on a machine without the driver.
import { readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[2] !== 'prestart') process.exit(0);
let rows;
try {
  rows = readFileSync(join(here, 'gpus.csv'), 'utf8').trim().split('\n');
} catch {
  process.stderr.write('nvidia-container-cli: initialization error: nvml error: driver not loaded\n');
  process.exit(1);
}
const state = JSON.parse(readFileSync(0, 'utf8'));
const config = JSON.parse(readFileSync(join(state.bundle, 'config.json'), 'utf8'));
const root = isAbsolute(config.root.path) ? config.root.path : join(state.bundle, config.root.path);
const visible = (config.process?.env ?? []).find((e) => e.startsWith('NVIDIA_VISIBLE_DEVICES='))?.slice('NVIDIA_VISIBLE_DEVICES='.length) ?? '';
const [header, ...gpus] = rows;
const byIndex = new Map(gpus.map((r) => [r.split(',')[0].trim(), r]));
const byUuid = new Map(gpus.map((r) => [r.split(',')[1].trim(), r]));
const wanted = visible === 'all' ? gpus : visible === '' || visible === 'none' || visible === 'void' ? [] : visible.split(',').map((id) => byIndex.get(id.trim()) ?? byUuid.get(id.trim()));
if (wanted.some((r) => r === undefined)) {
  process.stderr.write(`nvidia-container-cli: device error: ${visible}: unknown device\n`);
  process.exit(1);
}
// Inside the container the GPUs it sees are numbered 0, 1, ... in the order given.
const columns = header.split(',').map((h) => h.trim());
const names = columns.map((h) => h.replace(/ \[.*\]$/, ''));
const unitOf = columns.map((h) => /\[(.*)\]$/.exec(h)?.[1]);
const quote = (v) => `'${v.replace(/'/g, `'\\''`)}'`;
const values = wanted.map((r, g) =>
  r.split(',').map((cell, c) => {
    const v = cell.trim();
    const bare = c === 0 ? String(g) : unitOf[c] ? v.replace(new RegExp(` ${unitOf[c].replace(/[%]/g, '\\$&')}$`), '') : v;
    return `val_${g}_${c}=${quote(bare)}`;
  }),
);
// POSIX sh builtins only: the image may have no coreutils (the vLLM stand-in has none).
const script = [
  '#!/bin/sh',
  '# Written by the stand-in NVIDIA hook of the tests (test/support/nvidia-standin): captured',
  '# nvidia-smi rows of the GPUs this container was given. Imitates --query-gpu with --format=csv.',
  ...values.flat(),
  `gpus=${wanted.length}`,
  `column() { case "$1" in ${names.map((n, c) => `${n}) echo ${c};;`).join(' ')} *) return 1;; esac; }`,
  `unit() { case "$1" in ${unitOf.map((u, c) => (u ? `${c}) echo ${quote(u)};;` : '')).join(' ')} *) echo;; esac; }`,
  'query=; header=1; units=1',
  'for a in "$@"; do',
  '  case "$a" in --query-gpu=*) query=${a#--query-gpu=};; esac',
  '  case "$a" in --format=*noheader*) header=0;; esac',
  '  case "$a" in --format=*nounits*) units=0;; esac',
  'done',
  '[ -n "$query" ] || { echo "stand-in nvidia-smi: only --query-gpu=... --format=csv is imitated" >&2; exit 2; }',
  'IFS=,; set -- $query; IFS=" "',
  'for f in "$@"; do column "$f" >/dev/null || { echo "Field \\"$f\\" is not a valid field to query." >&2; exit 2; }; done',
  'if [ "$header" = 1 ]; then',
  '  line=; for f in "$@"; do c=$(column "$f"); u=$(unit "$c"); h=$f; [ "$units" = 1 ] && [ -n "$u" ] && h="$f [$u]"; line="$line${line:+, }$h"; done; echo "$line"',
  'fi',
  'g=0',
  'while [ "$g" -lt "$gpus" ]; do',
  '  line=; for f in "$@"; do c=$(column "$f"); eval "v=\\$val_${g}_${c}"; u=$(unit "$c"); [ "$units" = 1 ] && [ -n "$u" ] && v="$v $u"; line="$line${line:+, }$v"; done; echo "$line"',
  '  g=$((g + 1))',
  'done',
  '',
].join('\n');
mkdirSync(join(root, 'usr/bin'), { recursive: true });
writeFileSync(join(root, 'usr/bin/nvidia-smi'), script);
chmodSync(join(root, 'usr/bin/nvidia-smi'), 0o755);
