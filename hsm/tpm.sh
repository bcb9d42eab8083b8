#!/usr/bin/env bash
# A TPM 2.0 simulator stack for tests, the demo and developers: swtpm on
# loopback TCP, tpm2-abrmd on a private D-Bus session bus, and a tpm2-pkcs11
# store. Everything lives in DIR; several stacks may run side by side.
#
#   hsm/tpm.sh start DIR PORT                      swtpm on 127.0.0.1:PORT and PORT+1 (ctrl);
#                                                  prints KEY=VALUE env lines, also in DIR/env
#   hsm/tpm.sh token DIR LABEL USERPIN SOPIN       a tpm2-pkcs11 token in DIR/store; prints LABEL
#   hsm/tpm.sh stop DIR                            stops the PIDs in DIR/pids (idempotent)
set -euo pipefail

readonly TABRMD_TCTI=tabrmd:bus_type=session
readonly WAIT_TENTHS=100 # every readiness wait gives up after 10 s
STARTING= # DIR of a start in progress, for undo_start

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }
die() { echo "tpm.sh: $*" >&2; exit 1; }

# DIR ends up inside the env lines and the D-Bus address, which are neither
# quoted nor escaped, so only plain path characters are accepted.
abs_dir() {
  local dir
  dir=$(realpath -m -- "$1")
  [[ $dir =~ ^[A-Za-z0-9._/+-]+$ ]] || die "DIR must be a path of [A-Za-z0-9._/+-] only: $dir"
  printf '%s\n' "$dir"
}

# The module's place depends on the architecture (multiarch) and distribution.
find_module() {
  local arch cand
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
  for cand in "/usr/lib/$arch/pkcs11/libtpm2_pkcs11.so" "/usr/lib/$arch/libtpm2_pkcs11.so.1" \
    /usr/lib/*/pkcs11/libtpm2_pkcs11.so /usr/lib64/pkcs11/libtpm2_pkcs11.so \
    /usr/lib/pkcs11/libtpm2_pkcs11.so /usr/local/lib/pkcs11/libtpm2_pkcs11.so; do
    [ -e "$cand" ] && { printf '%s\n' "$cand"; return; }
  done
  die "libtpm2_pkcs11.so not found (Debian: apt-get install libtpm2-pkcs11-1)"
}

# tpm2-tools and tpm2-pkcs11 reach tpm2-abrmd through this TCTI library, which
# no Debian package depends on.
check_tabrmd_tcti() {
  local so
  for so in /usr/lib/*/libtss2-tcti-tabrmd.so.0 /usr/lib64/libtss2-tcti-tabrmd.so.0 \
    /usr/lib/libtss2-tcti-tabrmd.so.0 /usr/local/lib/libtss2-tcti-tabrmd.so.0; do
    [ -e "$so" ] && return
  done
  die "libtss2-tcti-tabrmd.so.0 not found (Debian: apt-get install libtss2-tcti-tabrmd0)"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A zombie counts as gone: our daemons are orphans, and init may reap them late.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Polls CHECK every 0.1 s while PID lives; on failure shows the component's log.
wait_for() {
  local what=$1 pid=$2 log=$3 i
  shift 3
  for ((i = 0; i < WAIT_TENTHS; i++)); do
    "$@" >/dev/null 2>&1 && return
    alive "$pid" || { tail -n 20 "$log" >&2; die "$what exited before answering (log: $log)"; }
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  die "$what did not answer within $((WAIT_TENTHS / 10)) s (log: $log)"
}

record_pid() { echo "$2" >>"$1/pids"; }

# A bus of our own so that parallel stacks (each owning com.intel.tss2.Tabrmd)
# never meet, with no service activation and nothing from the user's session.
start_dbus() {
  local dir=$1 listen out
  listen="unix:path=$dir/bus"
  # sun_path holds 108 bytes; long DIRs fall back to a socket in TMPDIR.
  [ ${#listen} -lt 100 ] || listen="unix:tmpdir=${TMPDIR:-/tmp}"
  cat >"$dir/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>$listen</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
  # --fork returns once the bus listens; it prints the address, then the PID.
  out=$(dbus-daemon --config-file="$dir/dbus.conf" --fork --print-address=1 --print-pid=1 \
    </dev/null 2>"$dir/dbus.log") || { cat "$dir/dbus.log" >&2; die "dbus-daemon failed"; }
  DBUS_PID=$(sed -n 2p <<<"$out")
  DBUS_ADDR=$(sed -n 1p <<<"$out")
  [[ $DBUS_PID =~ ^[0-9]+$ ]] || die "dbus-daemon printed no PID: $out"
  record_pid "$dir" "$DBUS_PID"
}

start_swtpm() {
  local dir=$1 port=$2
  mkdir -p "$dir/swtpm"
  swtpm socket --tpm2 --flags not-need-init,startup-clear \
    --tpmstate "dir=$dir/swtpm" \
    --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
    --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
    </dev/null >"$dir/swtpm.log" 2>&1 &
  record_pid "$dir" $!
  wait_for swtpm $! "$dir/swtpm.log" swtpm_ioctl --tcp "127.0.0.1:$((port + 1))" -c
}

start_abrmd() {
  local dir=$1 port=$2 root=()
  # abrmd refuses to run as root unless told to; tests in containers run as root.
  [ "$(id -u)" -ne 0 ] || root=(--allow-root)
  DBUS_SESSION_BUS_ADDRESS=$DBUS_ADDR tpm2-abrmd --session "${root[@]}" \
    --tcti="swtpm:host=127.0.0.1,port=$port" </dev/null >"$dir/abrmd.log" 2>&1 &
  record_pid "$dir" $!
  # Answering means a TPM command went the whole way: client -> bus -> abrmd -> swtpm.
  wait_for tpm2-abrmd $! "$dir/abrmd.log" \
    env DBUS_SESSION_BUS_ADDRESS="$DBUS_ADDR" tpm2_getcap -T "$TABRMD_TCTI" properties-fixed
}

# Each stack starts with the dictionary-attack counter at 0. A simulator killed
# without TPM2_Shutdown after a PIN was used counts one failure at its next
# start (3 = lockout, CKR_PIN_LOCKED, 1000 s per decrement), so crashed test
# runs reusing DIR would otherwise lock the token. Lockout auth is empty here.
clear_lockout() {
  DBUS_SESSION_BUS_ADDRESS=$DBUS_ADDR tpm2_dictionarylockout -T "$TABRMD_TCTI" --clear-lockout \
    >>"$1/abrmd.log" 2>&1 || die "tpm2_dictionarylockout --clear-lockout failed"
}

write_env() {
  local dir=$1 module=$2
  {
    echo "DBUS_SESSION_BUS_ADDRESS=$DBUS_ADDR"
    echo "TPM2_PKCS11_STORE=$dir/store"
    echo "TPM2_PKCS11_TCTI=$TABRMD_TCTI"
    echo "TPM2TOOLS_TCTI=$TABRMD_TCTI"
    echo "TRUSTLINK_PKCS11_MODULE=$module"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
}

# A half-started stack is stopped again, so nothing is left behind on error.
undo_start() { [ -z "$STARTING" ] || cmd_stop "$STARTING" >/dev/null 2>&1 || true; }

cmd_start() {
  local dir port module
  dir=$(abs_dir "$1")
  port=$2
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65534)); then
    die "PORT must be 1024..65534: $port"
  fi
  [ -z "$(live_pids "$dir")" ] || die "a stack is running in $dir; run: $0 stop $dir"
  port_in_use "$port" && die "127.0.0.1:$port is in use"
  port_in_use $((port + 1)) && die "127.0.0.1:$((port + 1)) is in use"
  check_tabrmd_tcti
  module=$(find_module)
  mkdir -p "$dir/store"
  : >"$dir/pids"
  STARTING=$dir
  trap undo_start EXIT
  trap 'exit 130' INT TERM
  start_dbus "$dir"
  start_swtpm "$dir" "$port"
  start_abrmd "$dir" "$port"
  clear_lockout "$dir"
  echo "$port" >"$dir/port"
  write_env "$dir" "$module"
  STARTING=
  cat "$dir/env"
}

# Exports DIR/env's KEY=VALUE lines (not sourced: they are data, not shell).
load_env() {
  local dir=$1 key value
  [ -s "$dir/env" ] || die "$dir/env missing: run: $0 start $dir PORT"
  while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z0-9_]+$ ]] && export "$key=$value"
  done <"$dir/env"
}

# Runs tpm2_ptool's entry point inside python. tpm2_ptool takes PINs only as
# --userpin/--sopin arguments; given as @TL_USERPIN / @TL_SOPIN here, they are
# taken from python's environment, which keeps them out of every argv that ps
# shows (beyond this script's own). The interpreter is tpm2_ptool's own: the
# one in PATH (pyenv, venv) may not see the distribution's tpm2_pkcs11 module.
ptool() {
  local tool py
  tool=$(command -v tpm2_ptool) || die "tpm2_ptool not found (Debian: apt-get install libtpm2-pkcs11-tools)"
  py=$(sed -n '1s/^#! *//p' "$tool")
  [ -x "${py%% *}" ] || py=python3
  # shellcheck disable=SC2086 # a shebang may carry an argument (/usr/bin/env python3)
  $py -c 'import os, sys
from tpm2_pkcs11.tpm2_ptool import main
secret = {"@TL_USERPIN", "@TL_SOPIN"}
sys.argv = ["tpm2_ptool"] + [os.environ.pop(a[1:]) if a in secret else a for a in sys.argv[1:]]
sys.exit(main())' "$@"
}

# One primary object per store, made on first use; prints its id.
primary_id() {
  local id
  id=$(ptool listprimaries | sed -n 's/^[ -]*id: *\([0-9]\+\)$/\1/p' | head -n 1)
  [ -n "$id" ] || id=$(ptool init | sed -n 's/^id: *\([0-9]\+\)$/\1/p')
  [ -n "$id" ] || die "tpm2_ptool init gave no primary id"
  printf '%s\n' "$id"
}

cmd_token() {
  local dir label=$2 pid
  dir=$(abs_dir "$1")
  load_env "$dir"
  pid=$(primary_id)
  if ptool listtokens --pid="$pid" | grep -qxF "  label: $label"; then
    die "token '$label' exists in $dir/store"
  fi
  TL_USERPIN=$3 TL_SOPIN=$4 ptool addtoken --pid="$pid" --label="$label" \
    --userpin @TL_USERPIN --sopin @TL_SOPIN >/dev/null
  printf '%s\n' "$label"
}

# Only our own kinds of process are signalled: a PID that has gone and been
# reused by something else since start is left alone.
ours() {
  local comm
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [[ $comm == swtpm || $comm == tpm2-abrmd || $comm == dbus-daemon ]]
}

# An orderly TPM2_Shutdown first, so that the next start does not count an
# authorization failure (see clear_lockout). Through abrmd if it is up (swtpm
# serves one connection at a time), else straight to swtpm.
tpm_shutdown() {
  local dir=$1 bus port
  bus=$(sed -n 's/^DBUS_SESSION_BUS_ADDRESS=//p' "$dir/env" 2>/dev/null) || true
  port=$(cat "$dir/port" 2>/dev/null) || true
  { [ -n "$bus" ] && DBUS_SESSION_BUS_ADDRESS=$bus timeout 5 tpm2_shutdown -T "$TABRMD_TCTI" 2>/dev/null; } ||
    { [ -n "$port" ] && timeout 5 tpm2_shutdown -T "swtpm:host=127.0.0.1,port=$port" 2>/dev/null; } ||
    echo "tpm.sh: no orderly TPM2_Shutdown; the next start resets the DA counter" >&2
}

# The recorded PIDs that still run one of our daemons.
live_pids() {
  local pid
  [ -f "$1/pids" ] || return 0
  for pid in $(grep -E '^[0-9]+$' "$1/pids" || true); do
    if ours "$pid" && alive "$pid"; then echo "$pid"; fi
  done
}

# TERM, up to 5 s for all to go, then KILL.
cmd_stop() {
  local dir pid i left
  local -a pids
  dir=$(abs_dir "$1")
  mapfile -t pids < <(live_pids "$dir")
  [ ${#pids[@]} -eq 0 ] || tpm_shutdown "$dir"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    left=0
    for pid in "${pids[@]}"; do alive "$pid" && left=1; done
    [ "$left" -eq 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -f "$dir/pids"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; cmd_start "$2" "$3" ;;
  token) [ $# -eq 5 ] || usage; cmd_token "$2" "$3" "$4" "$5" ;;
  stop) [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
  *) usage ;;
esac
