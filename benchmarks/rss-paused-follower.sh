#!/usr/bin/env bash
# rss-paused-follower.sh: the memory of example/counter's replicas under load while one
# follower is paused (SIGSTOP): the leader must keep serving, its log cache must stay within
# its bound, and nothing may grow without bound while the paused follower falls behind.
#
#   benchmarks/rss-paused-follower.sh [flags]     # from the repository, after building
#
# Flags (each also as --flag=value):
#   --build-dir DIR       where counter-server and counter-client were built (default build)
#   --log-storage KIND    rocksdb or segments (default segments, the servers' default)
#   --duration-s N        seconds of load with the follower paused (default 600)
#   --sample-s N          seconds between samples (default 10)
#   --clients N           closed-loop load clients (default 64)
#   --margin-mb N         the fixed margin of the check below (default 64)
#   --base-port N         replicas listen on 127.0.0.1:N..N+2 (default 29421; below 32768)
#   --work DIR            data, logs and samples.csv (default a fresh mktemp dir, removed after)
#
# It starts 3 counter-server processes, waits for a leader, records each replica's resident
# memory at rest (VmRSS, after the election), pauses one follower, and puts `counter-client
# load` on the cluster for --duration-s. Every --sample-s seconds it prints the writes/s since
# the previous sample and the VmRSS of the leader and of the live follower. Then it resumes the
# paused follower, waits until it has caught up, and checks that no acknowledged increment was
# lost.
#
# The check: each live replica's peak VmRSS during the load must stay below its VmRSS at rest
# + the log cache bound (NodeOptions.log_cache_max_bytes, 64 MiB; a count of each entry's whole
# footprint, not its payload) + --margin-mb, and with the RocksDB store its memtables
# (RocksDB's defaults, which the log store keeps: 2 x 64 MiB write buffers), and with the
# segment store its in-memory index (4 bytes per entry of the log, docs/log_format.md; the
# run takes no snapshot, so every entry written stays in the log). The margin is for what is
# not an entry: socket buffers, the allocator's caches and free lists. It also prints the growth over the second
# half of the run, which a leak would show.
#
# Exit codes: 0 the check held and the follower caught up, 1 it did not (or a server failed,
# or an increment was lost), 2 bad usage. Everything it starts is stopped on exit, Ctrl-C
# included. Traffic goes to 127.0.0.1 only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$repo/scripts/lib/counter-cluster.sh"
# shellcheck source=scripts/lib/script-flags.sh
source "$repo/scripts/lib/script-flags.sh"

build_dir=build
log_storage=segments
duration_s=600
sample_s=10
clients=64
margin_mb=64
base_port=29421
work=
cache_mb=64  # NodeOptions.log_cache_max_bytes; counter-server has no flag for it.

while (($# > 0)); do
  flag=$1
  value=
  if [[ $flag == --*=* ]]; then
    value=${flag#*=}
    flag=${flag%%=*}
  elif [[ $flag == --help || $flag == -h ]]; then
    usage
  else
    (($# >= 2)) || bad_usage "$flag needs a value"
    value=$2
    shift
  fi
  shift
  case $flag in
    --build-dir) build_dir=$value ;;
    --log-storage)
      [[ $value == rocksdb || $value == segments ]] ||
        bad_usage "--log-storage: '$value' is not rocksdb or segments"
      log_storage=$value
      ;;
    --duration-s) need_int "$flag" "$value" && duration_s=$value ;;
    --sample-s) need_int "$flag" "$value" && sample_s=$value ;;
    --clients) need_int "$flag" "$value" && clients=$value ;;
    --margin-mb) need_int "$flag" "$value" && margin_mb=$value ;;
    --base-port) need_int "$flag" "$value" && base_port=$value ;;
    --work) work=$value ;;
    *) bad_usage "unknown flag '$flag'" ;;
  esac
done
((duration_s > 0)) || bad_usage "--duration-s must be positive"
((sample_s > 0)) || bad_usage "--sample-s must be positive"
((clients > 0)) || bad_usage "--clients must be positive"
((base_port >= 1024 && base_port + 2 < 32768)) || bad_usage "--base-port must be in [1024, 32765]"

server=$build_dir/example/counter/counter-server
client=$build_dir/example/counter/counter-client
own_work=0
if [[ -z $work ]]; then
  work=$(mktemp -d /tmp/pontoon-rss-XXXXXX)
  own_work=1
fi
finish() {
  cluster_cleanup
  ((own_work)) && rm -rf "$work"
  return 0
}
trap finish EXIT
trap 'exit 130' INT TERM

cluster_init "$work" "$server" "$client" "$base_port" 3 || exit 1
CLUSTER_SERVER_ARGS=(--log-storage "$log_storage")
fail() {
  echo "rss-paused-follower: $*" >&2
  exit 1
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

cluster_start_all
leader=$(cluster_wait_leader 30) || fail "no leader within 30 s"
paused=$(((leader % 3) + 1))
live=$((6 - leader - paused))
# The state machine and the first entries of the term are in place before "at rest".
"$client" --conf "$CLUSTER_CONF" incr 1 >/dev/null || fail "the first increment failed"
rest_leader=$(rss_kb "${CLUSTER_PIDS[leader]}")
rest_live=$(rss_kb "${CLUSTER_PIDS[live]}")
cluster_say "leader n$leader, live follower n$live, paused follower n$paused; at rest:" \
  "leader $((rest_leader / 1024)) MiB, follower $((rest_live / 1024)) MiB;" \
  "$log_storage log, $clients clients, ${duration_s} s"
kill -STOP "${CLUSTER_PIDS[paused]}"

"$client" --conf "$CLUSTER_CONF" load --clients "$clients" --seconds "$duration_s" \
  >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
cluster_track "$load_pid"

samples=$work/samples.csv
echo "seconds,writes_per_s,leader_rss_kb,follower_rss_kb" >"$samples"
peak_leader=0
peak_live=0
half_leader=0
start=$SECONDS
last_count=0
last_t=0
printf '%8s %10s %14s %16s\n' seconds writes/s "leader MiB" "follower MiB"
while kill -0 "$load_pid" 2>/dev/null; do
  sleep "$sample_s"  # The sampling period, not a wait for a condition.
  t=$((SECONDS - start))
  # Asked of the leader alone: a client trying the paused replica first would wait it out.
  count=$("$client" --conf "$(cluster_endpoint "$leader")" --timeout-ms 2000 get 2>/dev/null ||
    echo "$last_count")
  rate=$(((count - last_count) / (t > last_t ? t - last_t : 1)))
  last_count=$count
  last_t=$t
  l=$(rss_kb "${CLUSTER_PIDS[leader]}")
  f=$(rss_kb "${CLUSTER_PIDS[live]}")
  ((l > peak_leader)) && peak_leader=$l
  ((f > peak_live)) && peak_live=$f
  ((half_leader == 0 && t >= duration_s / 2)) && half_leader=$l
  echo "$t,$rate,$l,$f" >>"$samples"
  printf '%8d %10d %14d %16d\n' "$t" "$rate" "$((l / 1024))" "$((f / 1024))"
done
cluster_load_totals "$load_pid" "$work/load.out" "$work/load.err" || fail "the load failed"
end_leader=$(rss_kb "${CLUSTER_PIDS[leader]}")

kill -CONT "${CLUSTER_PIDS[paused]}"
cluster_say "resumed n$paused; waiting for it to catch up"
cluster_wait_caught_up "$paused" 120 >/dev/null || fail "n$paused did not catch up within 120 s"
final=$("$client" --conf "$CLUSTER_CONF" get) || fail "the final get failed"
cluster_check_count "$((final - 1))" || fail "the count is wrong"  # -1: the first increment.

memtable_mb=0
[[ $log_storage == rocksdb ]] && memtable_mb=128  # write_buffer_size 64 MiB x 2 buffers.
# The segment store keeps 4 bytes per entry of its log in memory (docs/log_format.md); no
# snapshot truncates the log during the run, so that is 4 bytes per entry written.
index_mb=0
[[ $log_storage == segments ]] && index_mb=$(((final * 4 + 1048575) / 1048576))
bound_kb=$(((cache_mb + memtable_mb + index_mb + margin_mb) * 1024))
ok=1
for role in leader live; do
  rest_var=rest_$role
  peak_var=peak_$role
  rest=${!rest_var}
  peak=${!peak_var}
  verdict=held
  if ((peak > rest + bound_kb)); then
    verdict=EXCEEDED
    ok=0
  fi
  name=$role
  [[ $role == live ]] && name=follower
  echo "$name: at rest $((rest / 1024)) MiB, peak $((peak / 1024)) MiB, bound" \
    "$(((rest + bound_kb) / 1024)) MiB (rest + ${cache_mb} MiB cache" \
    "$( ((memtable_mb > 0)) && echo "+ ${memtable_mb} MiB memtables ")$( ((index_mb > 0)) &&
      echo "+ ${index_mb} MiB segment index ")+ ${margin_mb} MiB margin): $verdict"
done
echo "leader growth over the second half: $(((end_leader - half_leader) / 1024)) MiB" \
  "($((half_leader / 1024)) -> $((end_leader / 1024)) MiB)"
echo "acked $CLUSTER_ACKED, unknown $CLUSTER_UNKNOWN, final $((final - 1)); n$paused caught up"
echo "samples: $samples"
((ok)) || exit 1
