#!/usr/bin/env bash
# "Host b" for multi-host tests: a second, real Docker daemon on this machine, reachable the three
# ways a remote Docker host is (a unix socket, tcp with mutual TLS, ssh), and an sshd through which
# `ssh://` reaches daemon A or B. Run as root after the main daemon (scripts/ensure-docker.sh) is up
# and the test images are built; safe to run again (it only does what is missing).
#
#   bash scripts/ensure-docker-b.sh          # start (or check) everything, print the endpoints
#   bash scripts/ensure-docker-b.sh check    # change nothing; exit 1 naming what `start` would do
#   bash scripts/ensure-docker-b.sh status   # the endpoints, exit 1 when B does not answer
#   bash scripts/ensure-docker-b.sh stop     # stop B's dockerd and the sshd, remove the bridge and firewall chain
#                                            # (B's images stay for the next start)
#   bash scripts/ensure-docker-b.sh purge    # stop, then remove B's data root and the generated keys
#
# What it sets up (override with the variables in parentheses):
# - bridge `dockerb` with 172.31.250.1/24 (DOCKER_B_BRIDGE, DOCKER_B_BRIDGE_CIDR): B's default
#   bridge and the address other hosts reach B's published ports on;
# - dockerd with its own data root, exec root (so its own containerd), pid file and config file,
#   listening on unix:///var/run/docker-b.sock and tcp://127.0.0.1:12376 (DOCKER_B_TLS_PORT) with
#   --tlsverify (a CA, a server and a client certificate generated with openssl). It runs with
#   --iptables=false: a dockerd that manages iptables flushes and recreates the DOCKER chains on
#   start, which would drop daemon A's port mappings. Published ports of B therefore go through
#   docker-proxy alone, and user networks of B get their own address pool (DOCKER_B_ADDRESS_POOL)
#   so they never overlap A's. It also runs with --live-restore: without it, a restart of B
#   deletes docker0, daemon A's bridge (see ensure_dockerd). Its own /etc/docker (a private mount
#   namespace) gives it a daemon ID of its own, and a UTS namespace the host name docker-b;
# - a firewall chain INFERSTACK-DOCKER-B, jumped to from FORWARD, that lets B's containers talk to
#   each other on the same bridge (A's FORWARD policy is DROP and bridged frames pass iptables);
# - the images B needs (DOCKER_B_IMAGES), copied from daemon A with docker save | docker load when
#   B does not have the same image id;
# - Debian's openssh-server on 127.0.0.1 only, key-only login for root with a generated key
#   (restricted to connections from 127.0.0.1), host key pinned in a generated known_hosts:
#   port 12222 (DOCKER_B_SSH_PORT) runs remote commands with DOCKER_HOST=B's socket, port 12223
#   (DOCKER_A_SSH_PORT) with the default socket (daemon A). `ssh://` clients run
#   `docker system dial-stdio` there;
# - a stand-in for the NVIDIA Container Toolkit's hook on B's PATH (test/support/nvidia-standin):
#   B then takes `--gpus` requests and shows its containers two GPUs, as captured nvidia-smi
#   rows of an H200, so placement over hosts is tested on a machine without GPUs. Daemon A has
#   no such hook: its GPUs are read with a stand-in nvidia-smi on serve's PATH in the tests;
# - endpoints.json in the state directory (INFERSTACK_DOCKER_B_DIR, default
#   ~/.cache/inferstack/docker-b), which test/support/docker-b.ts reads.
set -euo pipefail

dir=${INFERSTACK_DOCKER_B_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/inferstack/docker-b}
bridge=${DOCKER_B_BRIDGE:-dockerb}
bridge_cidr=${DOCKER_B_BRIDGE_CIDR:-172.31.250.1/24}
bridge_ip=${bridge_cidr%/*}
pool=${DOCKER_B_ADDRESS_POOL:-10.250.0.0/16}
data_root=${DOCKER_B_DATA_ROOT:-/var/lib/docker-b}
exec_root=/var/run/docker-b
pidfile=/var/run/docker-b.pid
sock=/var/run/docker-b.sock
tls_port=${DOCKER_B_TLS_PORT:-12376}
ssh_port_b=${DOCKER_B_SSH_PORT:-12222}
ssh_port_a=${DOCKER_A_SSH_PORT:-12223}
images=${DOCKER_B_IMAGES:-inferstack-test/vllm-standin:latest inferstack-test/node:20 inferstack-test/node-exporter:1.5}
chain=INFERSTACK-DOCKER-B
tls_dir=$dir/tls
ssh_dir=$dir/ssh
sshd_pidfile=/var/run/inferstack-docker-b-sshd.pid

log() { echo "ensure-docker-b: $*"; }
die() { echo "ensure-docker-b: $*" >&2; exit 1; }
b() { docker -H "unix://$sock" "$@"; }
b_answers() { b version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The pid in a pid file if that process is alive and runs `name` (never trust a stale file).
live_pid() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  echo "$pid"
}

ensure_bridge() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
  fi
  if ! ip -4 addr show dev "$bridge" | grep -q "inet $bridge_cidr "; then
    ip addr add "$bridge_cidr" dev "$bridge"
  fi
  ip link set "$bridge" up
}

ensure_tls() {
  mkdir -p "$tls_dir/client"
  chmod 700 "$dir" "$tls_dir"
  [ -s "$tls_dir/server-cert.pem" ] && [ -s "$tls_dir/client/cert.pem" ] && return 0
  log "generating a test CA and server/client certificates in $tls_dir"
  local ec=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
  (
    cd "$tls_dir"
    umask 077
    openssl genpkey "${ec[@]}" -out ca-key.pem 2>/dev/null
    openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 -subj '/CN=inferstack docker-b test CA' \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out ca.pem
    openssl genpkey "${ec[@]}" -out server-key.pem 2>/dev/null
    openssl req -new -key server-key.pem -subj '/CN=docker-b' -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,IP:%s,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$bridge_ip" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -sha256 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl genpkey "${ec[@]}" -out client/key.pem 2>/dev/null
    openssl req -new -key client/key.pem -subj '/CN=inferstack-test-client' -out client.csr
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -sha256 \
      -extfile client.ext -out client/cert.pem 2>/dev/null
    # The docker CLI's DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem in one directory.
    cp ca.pem client/ca.pem
    rm -f server.csr client.csr server.ext client.ext
    chmod 644 ca.pem server-cert.pem client/ca.pem client/cert.pem
  )
}

# The stand-in NVIDIA hook B's dockerd finds on its PATH, and the two GPUs it shows (captured
# H200 rows: packages/docker-ops/test-fixtures/nvidia-smi). Rewritten on each start (cheap).
nvidia_dir=$dir/nvidia
ensure_nvidia_standin() {
  local repo node fixture
  repo=$(cd "$(dirname "$0")/.." && pwd)
  node=$(command -v node) || die "node is not installed (the stand-in NVIDIA hook runs on it)"
  fixture=$repo/packages/docker-ops/test-fixtures/nvidia-smi/query-gpu-idle.csv
  mkdir -p "$nvidia_dir"
  cp "$repo/test/support/nvidia-standin/nvidia-container-runtime-hook.mjs" "$nvidia_dir/hook.mjs"
  # The runtime runs a hook with an empty environment: absolute paths only.
  printf '#!/bin/sh\nexec "%s" "%s/hook.mjs" "$@"\n' "$node" "$nvidia_dir" >"$nvidia_dir/nvidia-container-runtime-hook"
  chmod 755 "$nvidia_dir/nvidia-container-runtime-hook"
  { head -n 1 "$fixture"; sed -n 2p "$fixture"; sed -n 2p "$fixture" | sed 's/^0,/1,/'; } >"$nvidia_dir/gpus.csv"
}

# Whether the running B registered the stand-in NVIDIA driver (it reads its PATH once, at start).
b_has_nvidia() {
  local pid
  pid=$(live_pid "$pidfile" dockerd) || return 1
  tr '\0' '\n' <"/proc/$pid/environ" | grep -q "^PATH=$nvidia_dir:"
}

ensure_dockerd() {
  ensure_nvidia_standin
  if b_answers && ! b_has_nvidia; then
    log "daemon B runs without the stand-in NVIDIA hook: restarting it"
    stop_all
    ensure_bridge
  fi
  if b_answers; then
    log "daemon B already answers on $sock"
    return 0
  fi
  live_pid "$pidfile" dockerd >/dev/null && die "dockerd B (pid $(cat "$pidfile")) runs but does not answer on $sock; see $dir/dockerd.log, or run '$0 stop'"
  command -v dockerd >/dev/null 2>&1 || die "dockerd is not installed (run scripts/ensure-docker.sh first)"
  mkdir -p "$data_root" "$exec_root"
  # An empty config file: /etc/docker/daemon.json belongs to daemon A.
  [ -f "$dir/daemon.json" ] || echo '{}' >"$dir/daemon.json"
  # Docker 20.10 derives the daemon ID from /etc/docker/key.json (no flag moves it): B gets its own
  # /etc/docker in a private mount namespace, so it has an ID of its own as a second host would,
  # and a UTS namespace with the host name docker-b. Its container mounts stay in that namespace.
  mkdir -p /etc/docker "$dir/etc-docker"
  chmod 700 "$dir/etc-docker"
  # --live-restore is not optional: a dockerd that finds its old default network on start, with
  # default address pools set and live restore off, deletes the interface *docker0* - daemon A's
  # bridge, whatever --bridge says (moby's "clear stale bridge network" step). The guard below
  # puts docker0 back as it was should that ever happen anyway.
  local docker0_before
  docker0_before=$(docker0_state)
  log "starting dockerd B (log: $dir/dockerd.log)"
  # setsid: the daemon must outlive this script and the shell that ran it.
  PATH="$nvidia_dir:$PATH" setsid unshare --mount --uts --propagation private \
    sh -c 'hostname docker-b && mount --bind "$0" /etc/docker && exec "$@"' "$dir/etc-docker" dockerd \
    --config-file "$dir/daemon.json" \
    --data-root "$data_root" --exec-root "$exec_root" --pidfile "$pidfile" \
    -H "unix://$sock" -H "tcp://127.0.0.1:$tls_port" \
    --tlsverify --tlscacert "$tls_dir/ca.pem" --tlscert "$tls_dir/server-cert.pem" --tlskey "$tls_dir/server-key.pem" \
    --bridge "$bridge" --iptables=false --ip-masq=false \
    --default-address-pool "base=$pool,size=24" --live-restore \
    >"$dir/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 120); do
    if b_answers; then
      log "daemon B ready ($(b version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), name $(b info --format '{{.Name}}'))"
      [ "$(b info --format '{{.ID}}')" != "$(docker info --format '{{.ID}}')" ] || die "daemon B has the same ID as daemon A"
      restore_docker0 "$docker0_before"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$dir/dockerd.log" >&2 || true
  die "dockerd B did not answer within 60 s; see $dir/dockerd.log"
}

# "mac cidr" of daemon A's default bridge, empty when it has none.
docker0_state() {
  local mac cidr
  mac=$(cat /sys/class/net/docker0/address 2>/dev/null) || return 0
  cidr=$(ip -4 -o addr show dev docker0 | awk '{print $4; exit}')
  echo "$mac $cidr"
}

restore_docker0() {
  local before=$1
  [ -n "$before" ] && [ -z "$(docker0_state)" ] || return 0
  echo "ensure-docker-b: WARNING: docker0 (daemon A's bridge) disappeared while B started; recreating it ($before)" >&2
  ip link add docker0 type bridge
  ip link set docker0 address "${before% *}"
  ip addr add "${before#* }" dev docker0
  ip link set docker0 up
}

# B runs without iptables management, and A's FORWARD policy is DROP: accept frames bridged
# between two containers of B (same bridge; B's networks stay isolated from each other and from A).
ensure_firewall() {
  local net=${bridge_ip%.*}.0/${bridge_cidr#*/}
  iptables -N "$chain" 2>/dev/null || iptables -F "$chain"
  iptables -A "$chain" -i "$bridge" -o "$bridge" -s "$net" -d "$net" -j ACCEPT
  # "bridged" (in and out on the same bridge) keeps B's networks apart from each other.
  if ! iptables -A "$chain" -m physdev --physdev-is-bridged -s "$pool" -d "$pool" -j ACCEPT 2>/dev/null; then
    log "WARNING: no iptables physdev match: containers on B's own networks cannot reach each other"
  fi
  iptables -A "$chain" -j RETURN
  iptables -C FORWARD -j "$chain" 2>/dev/null || iptables -I FORWARD 1 -j "$chain"
}

ensure_images() {
  local image a_id b_id
  for image in $images; do
    a_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || {
      log "WARNING: $image is not on daemon A (run images/build.sh, then this script again); not copied"
      continue
    }
    b_id=$(b image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    if [ "$a_id" = "$b_id" ]; then
      log "$image: B has it (${a_id:7:12})"
      continue
    fi
    log "$image: copying from daemon A (${a_id:7:12})"
    docker save "$image" | b load -q >/dev/null
    # The previous copy, now untagged, is of no use on B.
    b image prune -f >/dev/null
  done
}

# The sshd config this script runs sshd with.
# UsePAM yes: root's password is locked on Debian, and sshd without PAM refuses locked accounts
# even for key logins. PAM's password paths stay unused (no password or keyboard-interactive auth).
sshd_config_text() {
  cat <<EOF
# Generated by scripts/ensure-docker-b.sh: test access to the local Docker daemons over ssh.
ListenAddress 127.0.0.1
Port $ssh_port_b
Port $ssh_port_a
HostKey $ssh_dir/ssh_host_ed25519_key
PidFile $sshd_pidfile
AuthorizedKeysFile $ssh_dir/authorized_keys
PermitRootLogin prohibit-password
AllowUsers root
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
Match LocalPort $ssh_port_b
  SetEnv DOCKER_HOST=unix://$sock
EOF
}

ensure_sshd() {
  if [ ! -x /usr/sbin/sshd ]; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || die "openssh-server is not installed"
    log "installing openssh-server from Debian's archive (its own service is not started)"
    # A policy-rc.d that refuses: the package's postinst must not start an sshd on port 22.
    local policy_added=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      policy_added=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  fi
  mkdir -p "$ssh_dir" /run/sshd
  chmod 700 "$ssh_dir"
  [ -s "$ssh_dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C inferstack-docker-b-test -f "$ssh_dir/id_ed25519"
  [ -s "$ssh_dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C inferstack-docker-b-host -f "$ssh_dir/ssh_host_ed25519_key"
  # restrict: no forwarding, no pty; from: loopback clients only.
  echo "from=\"127.0.0.1\",restrict $(cat "$ssh_dir/id_ed25519.pub")" >"$ssh_dir/authorized_keys"
  local host_key
  host_key=$(cut -d' ' -f1,2 "$ssh_dir/ssh_host_ed25519_key.pub")
  printf '[127.0.0.1]:%s %s\n[127.0.0.1]:%s %s\n' "$ssh_port_b" "$host_key" "$ssh_port_a" "$host_key" >"$ssh_dir/known_hosts"
  sshd_config_text >"$ssh_dir/sshd_config.new"
  /usr/sbin/sshd -t -f "$ssh_dir/sshd_config.new" || die "the generated sshd_config is invalid"
  local pid
  if pid=$(live_pid "$sshd_pidfile" sshd); then
    if cmp -s "$ssh_dir/sshd_config.new" "$ssh_dir/sshd_config"; then
      rm -f "$ssh_dir/sshd_config.new"
      log "sshd already runs (pid $pid)"
      return 0
    fi
    log "sshd config changed: restarting sshd"
    kill "$pid"
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  fi
  mv "$ssh_dir/sshd_config.new" "$ssh_dir/sshd_config"
  # sshd forks into the background itself once it listens; -E: its log goes to our file.
  setsid /usr/sbin/sshd -f "$ssh_dir/sshd_config" -E "$dir/sshd.log" </dev/null
  log "sshd listening on 127.0.0.1:$ssh_port_b (daemon B) and 127.0.0.1:$ssh_port_a (daemon A)"
}

# Prove the ssh path end to end with the docker CLI (it runs `docker system dial-stdio` remotely).
check_ssh() {
  local ssh_cmd="ssh -i $ssh_dir/id_ed25519 -o UserKnownHostsFile=$ssh_dir/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes"
  local name port want
  for port in "$ssh_port_b" "$ssh_port_a"; do
    if [ "$port" = "$ssh_port_b" ]; then want=$(b info --format '{{.ID}}'); else want=$(docker info --format '{{.ID}}'); fi
    name=$($ssh_cmd -p "$port" root@127.0.0.1 docker info --format '{{.ID}}' 2>&1) ||
      die "ssh to 127.0.0.1:$port failed: $name (see $dir/sshd.log)"
    [ "$name" = "$want" ] || die "ssh to 127.0.0.1:$port reaches daemon $name, expected $want"
  done
}

write_endpoints() {
  cat >"$dir/endpoints.json" <<EOF
{
  "bridgeAddress": "$bridge_ip",
  "unix": "unix://$sock",
  "tls": {
    "host": "tcp://127.0.0.1:$tls_port",
    "ca": "$tls_dir/client/ca.pem",
    "cert": "$tls_dir/client/cert.pem",
    "key": "$tls_dir/client/key.pem"
  },
  "ssh": {
    "b": "ssh://root@127.0.0.1:$ssh_port_b",
    "a": "ssh://root@127.0.0.1:$ssh_port_a",
    "privateKey": "$ssh_dir/id_ed25519",
    "knownHosts": "$ssh_dir/known_hosts"
  }
}
EOF
}

print_endpoints() {
  cat <<EOF
ensure-docker-b: endpoints (also in $dir/endpoints.json):
  unix:  DOCKER_HOST=unix://$sock
  tls:   DOCKER_HOST=tcp://127.0.0.1:$tls_port DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$tls_dir/client
  ssh:   ssh://root@127.0.0.1:$ssh_port_b (B), ssh://root@127.0.0.1:$ssh_port_a (A); key $ssh_dir/id_ed25519
  B's containers publish on $bridge_ip
EOF
}

# check: what `start` would do, without doing any of it; exit 1 naming the first part missing.
# Cheap (no ssh login): a script that runs before every test run can call it.
check_all() {
  local image a_id b_id
  b_answers || die "daemon B does not answer on $sock"
  [ -s "$dir/endpoints.json" ] || die "no $dir/endpoints.json"
  ip link show "$bridge" >/dev/null 2>&1 || die "no bridge $bridge"
  # Reading the firewall takes root; a user who may reach B's socket is trusted with the rest.
  if [ "$(id -u)" = 0 ]; then
    iptables -C FORWARD -j "$chain" >/dev/null 2>&1 || die "FORWARD does not jump to $chain"
    b_has_nvidia || die "daemon B runs without the stand-in NVIDIA hook"
  fi
  live_pid "$sshd_pidfile" sshd >/dev/null || die "sshd does not run"
  [ "$(sshd_config_text)" = "$(cat "$ssh_dir/sshd_config" 2>/dev/null)" ] || die "sshd runs with an outdated config"
  for image in $images; do
    a_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || die "$image is not on daemon A"
    b_id=$(b image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    [ "$a_id" = "$b_id" ] || die "B does not have daemon A's $image"
  done
}

stop_all() {
  local pid
  if pid=$(live_pid "$sshd_pidfile" sshd); then
    log "stopping sshd (pid $pid)"
    kill "$pid"
  fi
  if pid=$(live_pid "$pidfile" dockerd); then
    # With --live-restore, containers outlive their daemon: stop them first.
    local running
    running=$(b ps -q 2>/dev/null || true)
    if [ -n "$running" ]; then
      log "stopping B's running containers"
      # shellcheck disable=SC2086
      b stop -t 5 $running >/dev/null || true
    fi
    log "stopping dockerd B (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && die "dockerd B (pid $pid) did not exit within 30 s"
  fi
  while iptables -D FORWARD -j "$chain" 2>/dev/null; do :; done
  iptables -F "$chain" 2>/dev/null && iptables -X "$chain" 2>/dev/null || true
  if ip link show "$bridge" >/dev/null 2>&1; then
    ip link delete "$bridge"
  fi
  rm -f "$dir/endpoints.json"
}

case "${1:-start}" in
  start | stop | purge) [ "$(id -u)" = 0 ] || die "run as root (it starts a daemon, a bridge and an sshd)" ;;
esac

case "${1:-start}" in
  start)
    started=$(date +%s%N)
    ensure_bridge
    ensure_tls
    ensure_dockerd
    ensure_firewall
    ensure_images
    ensure_sshd
    check_ssh
    write_endpoints
    print_endpoints
    log "ready in $(( ($(date +%s%N) - started) / 1000000 )) ms"
    ;;
  check)
    check_all
    log "host b is set up"
    ;;
  status)
    b_answers || die "daemon B does not answer on $sock (run: bash scripts/ensure-docker-b.sh)"
    print_endpoints
    ;;
  stop)
    stop_all
    ;;
  purge)
    stop_all
    log "removing $data_root and $dir"
    rm -rf "$data_root" "$exec_root" "$dir"
    ;;
  *)
    die "usage: $0 [start|check|status|stop|purge]"
    ;;
esac
