#!/usr/bin/env bash
# The whole pipeline on loopback, from an existing build: the dev broker, intake, adjudication and
# payout (when built), a generated demo year loaded through the public APIs, the year's report,
# and a table of where each API and /metrics listens. Stays up until Ctrl-C (SIGINT) or SIGTERM,
# then stops every process it started (SIGTERM, bounded wait, SIGKILL) and exits 0 when all of
# them stopped cleanly. Builds nothing.
#
#   deploy/local/run.sh [--build-dir DIR] [--run-dir DIR] [--members N] [--year YYYY] [--no-wait]
#
#   --build-dir DIR  where the binaries are (default: build; env CLAIMS_BUILD_DIR)
#   --run-dir DIR    the run folder, wiped and recreated on every run (default: .run/local/cluster;
#                    env CLAIMS_RUN_DIR): logs/, data/, keys/, the report and the summary
#   --members N      demo members (default 2000; env CLAIMS_DEMO_MEMBERS)
#   --year YYYY      the demo's plan year; the services run at its December 15 (default 2025)
#   --no-wait        stop everything right after printing (env CLAIMS_LOCAL_NO_WAIT=1)
#
# Exit codes: 0 everything ran and stopped cleanly; 1 a step failed (its log is printed);
# 2 bad usage or missing binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."

build_dir=${CLAIMS_BUILD_DIR:-build}
run_dir=${CLAIMS_RUN_DIR:-.run/local/cluster}
members=${CLAIMS_DEMO_MEMBERS:-2000}
year=2025
no_wait=${CLAIMS_LOCAL_NO_WAIT:-0}
readonly start_timeout=60 # seconds for each process to come up and report healthy
readonly stop_timeout=15  # seconds for each process to exit after SIGTERM
readonly demo_timeout=600 # seconds the demo load may take

usage() { # EXIT_CODE
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit "$1"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=${2:?--build-dir needs a value}; shift 2 ;;
    --run-dir) run_dir=${2:?--run-dir needs a value}; shift 2 ;;
    --members) members=${2:?--members needs a value}; shift 2 ;;
    --year) year=${2:?--year needs a value}; shift 2 ;;
    --no-wait) no_wait=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $members =~ ^[0-9]+$ ]] || { echo "run.sh: --members must be a number" >&2; exit 2; }
[[ $year =~ ^20[0-9][0-9]$ ]] || { echo "run.sh: --year must be YYYY (2000-2099)" >&2; exit 2; }
business_date="$year-12-15"

bin_devbroker=$build_dir/services/devbroker/devbroker
bin_intake=$build_dir/services/intake/intake
bin_adjudication=$build_dir/services/adjudication/adjudication
bin_payout=$build_dir/services/payout/payout
bin_claimsctl=$build_dir/tools/claimsctl/claimsctl
bin_demo=$build_dir/tools/demo/claims_demo
missing=()
for b in "$bin_devbroker" "$bin_intake" "$bin_adjudication" "$bin_demo"; do
  [ -x "$b" ] || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: not built: ${missing[*]}" >&2
  echo "  build them first, e.g.: cmake --build $build_dir --target claims_devbroker intake" \
    "adjudication payout claimsctl claims_demo" >&2
  exit 2
fi

# One run per run folder at a time; the lock file sits beside the folder, which is wiped.
mkdir -p "$(dirname "$run_dir")"
run_dir=$(realpath -m "$run_dir")
exec 9>"$run_dir.lock"
if ! flock -n 9; then
  echo "run.sh: another run.sh is using $run_dir; stop it first (Ctrl-C)" >&2
  exit 2
fi

# Wipe only a folder this script made (it holds the marker) or an empty one.
if [ -d "$run_dir" ] && [ ! -f "$run_dir/.claims-local-run" ] &&
  [ -n "$(ls -A "$run_dir" 2>/dev/null)" ]; then
  echo "run.sh: $run_dir exists and is not a run folder of this script;" \
    "choose another --run-dir" >&2
  exit 2
fi
# Processes a previous run left behind (run.sh itself killed with SIGKILL): stopped by pid, and
# only when their command line still names this run folder.
if [ -f "$run_dir/pids" ]; then
  while read -r name pid; do
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$run_dir"; then
      echo "run.sh: stopping $name (pid $pid) left by an earlier run"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 $((stop_timeout * 10))); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(tac "$run_dir/pids") # the last started first, the broker last
fi
rm -rf "$run_dir"
mkdir -p "$run_dir/logs" "$run_dir/keys" "$run_dir/data"
touch "$run_dir/.claims-local-run"
logs=$run_dir/logs

# Throwaway dev keys (32 bytes as 64 hex digits), new on every run.
new_key() {
  if command -v openssl >/dev/null; then
    openssl rand -hex 32
  else
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'
    echo
  fi
}
(umask 077 && new_key >"$run_dir/keys/pseudonym.key" && new_key >"$run_dir/keys/master.key")

names=() # started processes, in start order
declare -A pid_of
stopping=0

# start NAME BINARY ARGS...: runs it in its own session (a Ctrl-C on the terminal reaches only
# this script, which then stops the processes in order), stdout and stderr into logs/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$logs/$name.log" 2>&1 9>&- &
  pid_of[$name]=$!
  names+=("$name")
  echo "$name ${pid_of[$name]}" >>"$run_dir/pids"
}

# True while NAME runs (a zombie, exited but not yet reaped, does not count).
alive() {
  local state
  state=$(awk '{print $3}' "/proc/${pid_of[$1]}/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# run_helper NAME COMMAND...: runs a client (the demo loader, claimsctl) in the background and
# waits for it, so that a signal is handled at once; stdout into $run_dir/NAME.txt, stderr into
# logs/NAME.log. Returns its exit code.
helper_pid=
run_helper() {
  local name=$1 code=0
  shift
  "$@" >"$run_dir/$name.txt" 2>"$logs/$name.log" 9>&- &
  helper_pid=$!
  wait "$helper_pid" || code=$?
  helper_pid=
  return $code
}

# Stops every started process, the last started first: SIGTERM, up to stop_timeout seconds, then
# SIGKILL. Returns 1 when one had to be killed or exited with a code other than 0.
stop_all() {
  local clean=0 i name pid code
  if [ -n "$helper_pid" ]; then
    kill -TERM "$helper_pid" 2>/dev/null || true
    wait "$helper_pid" 2>/dev/null || true
  fi
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do
    name=${names[$i]}
    pid=${pid_of[$name]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((stop_timeout * 10))); do
      alive "$name" || break
      sleep 0.1
    done
    if alive "$name"; then
      echo "run.sh: $name (pid $pid) did not stop within ${stop_timeout}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      clean=1
    fi
    code=0
    wait "$pid" 2>/dev/null || code=$?
    if [ "$code" -ne 0 ]; then
      echo "run.sh: $name exited with code $code (log: $logs/$name.log)" >&2
      clean=1
    fi
  done
  return $clean
}

# fail MESSAGE [NAME]: prints the message and the end of NAME's log, stops everything, exits 1.
fail() {
  echo "run.sh: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$logs/$2.log" ]; then
    echo "--- last lines of $logs/$2.log:" >&2
    tail -n 30 "$logs/$2.log" >&2
  fi
  stopping=1
  stop_all || true
  exit 1
}

on_signal() {
  [ "$stopping" -eq 1 ] && return
  stopping=1
  echo
  echo "stopping..."
  if stop_all; then
    echo "every process stopped cleanly; logs in $logs"
    exit 0
  fi
  exit 1
}
trap on_signal INT TERM

# wait_for_value NAME KEY: waits (bounded) for a line of NAME's log starting with KEY and prints
# the rest of it.
wait_for_value() {
  local name=$1 key=$2 line
  for _ in $(seq 1 $((start_timeout * 10))); do
    line=$(grep -m1 "^$key" "$logs/$name.log" 2>/dev/null || true)
    if [ -n "$line" ]; then
      echo "${line#"$key"}"
      return 0
    fi
    alive "$name" || return 1
    sleep 0.1
  done
  return 1
}

http_ok() { # PORT PATH
  if command -v curl >/dev/null; then
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1$2" 2>/dev/null
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
      printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3 &&
      head -n1 <&3 | grep -q " 200 "' "$1" "$2" 2>/dev/null
  fi
}

# wait_healthy NAME: its gRPC and metrics ports (printed on start, "grpc-port N", "metrics-port
# N"), then /healthz answering 200, all within start_timeout seconds.
declare -A grpc_port metrics_port
wait_healthy() {
  local name=$1
  grpc_port[$name]=$(wait_for_value "$name" "grpc-port ") ||
    fail "$name did not start (no gRPC port within ${start_timeout}s)" "$name"
  metrics_port[$name]=$(wait_for_value "$name" "metrics-port ") ||
    fail "$name did not open its metrics port" "$name"
  for _ in $(seq 1 $((start_timeout * 5))); do
    http_ok "${metrics_port[$name]}" /healthz && return 0
    alive "$name" || fail "$name exited" "$name"
    sleep 0.2
  done
  fail "$name did not report healthy on /healthz within ${start_timeout}s" "$name"
}

echo "run folder: $run_dir"
start devbroker "$bin_devbroker" --bootstrap-file "$run_dir/bootstrap"
bootstrap=
for _ in $(seq 1 $((start_timeout * 10))); do
  [ -s "$run_dir/bootstrap" ] && { bootstrap=$(head -n1 "$run_dir/bootstrap"); break; }
  alive devbroker || break
  sleep 0.1
done
[ -n "$bootstrap" ] || fail "the dev broker did not write its bootstrap address" devbroker

# Every service: the free loopback ports the kernel picks (each prints the ones it got), the
# demo's business date, plaintext with callers named by header.
common=(--bootstrap-servers "$bootstrap" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0
  --business-date "$business_date" --insecure-dev)
start intake "$bin_intake" "${common[@]}" --data-dir "$run_dir/data/intake" \
  --pseudonym-key-file "$run_dir/keys/pseudonym.key" --master-key-file "$run_dir/keys/master.key"
start adjudication "$bin_adjudication" "${common[@]}" --data-dir "$run_dir/data/adjudication" \
  --plans-dir config/plans
with_payout=0
if [ -x "$bin_payout" ]; then
  with_payout=1
  start payout "$bin_payout" "${common[@]}" --data-dir "$run_dir/data/payout" \
    --master-key-file "$run_dir/keys/master.key"
else
  echo "payout is not built ($bin_payout): running without payments"
fi
for name in "${names[@]:1}"; do wait_healthy "$name"; done

echo "loading the demo year $year ($members members)..."
demo_args=(--intake "127.0.0.1:${grpc_port[intake]}"
  --adjudication "127.0.0.1:${grpc_port[adjudication]}"
  --members "$members" --year "$year" --out-dir "$run_dir" --timeout "$demo_timeout")
[ "$with_payout" -eq 1 ] && demo_args+=(--payout "127.0.0.1:${grpc_port[payout]}")
run_helper summary "$bin_demo" "${demo_args[@]}" || fail "the demo load failed" summary
echo
cat "$run_dir/summary.txt"

# The year's report from a replay of the topics, when this claimsctl has the command.
echo
if [ -x "$bin_claimsctl" ] && "$bin_claimsctl" report --help >/dev/null 2>&1; then
  if run_helper report "$bin_claimsctl" report --bootstrap-servers "$bootstrap" --year "$year" \
    --plans-dir config/plans; then
    echo "== report (claimsctl report --year $year, replayed from the topics) =="
    cat "$run_dir/report.txt"
  else
    echo "claimsctl report failed (log: $logs/report.log); the summary above is the report"
  fi
else
  echo "claimsctl report is not built: the summary above is the report"
fi

echo
echo "== where it listens (loopback, plaintext --insecure-dev; callers name themselves with the"
echo "   x-claims-principal header, e.g. partner:P-DEMO, reviewer:r1, operator:o1) =="
printf '%-14s %-22s %-38s %s\n' service gRPC metrics log
for name in "${names[@]:1}"; do
  printf '%-14s %-22s %-38s %s\n' "$name" "127.0.0.1:${grpc_port[$name]}" \
    "http://127.0.0.1:${metrics_port[$name]}/metrics" "$logs/$name.log"
done
echo "Kafka (dev broker, log $logs/devbroker.log): bootstrap.servers=$bootstrap"
echo "run folder: $run_dir"

if [ "$no_wait" = 1 ]; then
  echo "stopping (--no-wait)..."
  stopping=1
  if stop_all; then
    echo "every process stopped cleanly"
    exit 0
  fi
  exit 1
fi

echo "up; Ctrl-C stops every process"
# Sleeps in the background so a signal is handled at once; a process that dies ends the run.
while true; do
  sleep 1 &
  wait $! || true
  for name in "${names[@]}"; do
    alive "$name" || fail "$name exited unexpectedly" "$name"
  done
done
