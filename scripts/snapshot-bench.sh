#!/usr/bin/env bash
# snapshot-bench.sh: disk use and restart time of example/counter against uptime, with
# snapshots on and off (issue 5, "Snapshots and log compaction": both must stay flat).
#
#   scripts/snapshot-bench.sh [flags]            # from the repository, after building
#
# Flags (each also as --flag=value):
#   --build-dir DIR          where counter-server and counter-client were built (default build)
#   --log-storage KIND       rocksdb, segments or both (default both): one run of each
#   --duration-s N           seconds of load with snapshots on (default 600)
#   --baseline-duration-s N  seconds of load with snapshots off (default 90; 0: no baseline)
#   --sample-s N             seconds between samples (default 30)
#   --clients N              closed-loop load clients (default 64)
#   --margin N               --snapshot-log-index-margin with snapshots on (default 20000)
#   --interval-s N           --snapshot-interval-s with snapshots on (default 60)
#   --segment-bytes N        --log-segment-max-bytes for the segment store (default 262144)
#   --base-port N            replicas listen on 127.0.0.1:N..N+2 (default 29401; below 32768)
#   --work DIR               where data, logs and results.csv go (default a fresh mktemp dir)
#   --keep                   keep --work afterwards (default: remove it when it was a mktemp)
#
# Each run starts 3 counter-server processes on fresh data directories, puts `counter-client
# load` on them for the duration and every --sample-s seconds prints, per replica: the bytes of
# its whole data directory, of its log (DIR/log or DIR/log-segments) and of DIR/snapshot (du
# -sb), the bytes of its newest snapshot, its log's first and last index, its last snapshot
# index (from `counter-client status`), and how that disk use compares with what the replica
# logically holds (see "kept" below). Then it restarts the cluster twice and times each restart
# from starting the processes to the first successful `get` (a read through the log, so a
# leader was elected and has committed in its term):
#   - SIGTERM: clean shutdown of all three, then start all three;
#   - kill -9: all three SIGKILLed under a fresh 64-client load, then started again.
# After each restart it checks that the counter did not lose an acknowledged increment.
#
# kept = newest snapshot bytes + (last - first + 1) * 35, 35 bytes being one increment's log
# record (docs/log_format.md: 26-byte header + 9 bytes of data). The issue's target is
# dir < 2 * (snapshot + kept log tail); the summary checks it against the most the
# configuration lets a replica keep: snapshot + (margin + tail) entries, tail being
# NodeOptions.snapshot_log_tail_entries (1000, not a counter-server flag).
#
# Each restart line also says when each replica's node had started (storage opened, snapshot
# loaded, log recovered; from its log); the rest is the election and the first read.
#
# Exit codes: 0 done (whether or not the targets were met: the figures say), 1 a server did
# not start, a restart found no leader, or an acknowledged increment was lost, 2 bad usage.
# Everything it starts is stopped on exit, Ctrl-C included. Traffic goes to 127.0.0.1 only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$repo/scripts/lib/counter-cluster.sh"

build_dir=build
log_storages=both
duration_s=600
baseline_duration_s=90
sample_s=30
clients=64
margin=20000
interval_s=60
segment_bytes=262144
base_port=29401
work=
keep=0

readonly record_bytes=35 tail_entries=1000 restart_deadline_s=120

# shellcheck source=lib/script-flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/script-flags.sh"

while (($# > 0)); do
  flag=$1 value=
  if [[ $flag == --*=* ]]; then
    value=${flag#*=} flag=${flag%%=*}
  elif [[ $flag != --keep && $flag != --help ]]; then
    (($# >= 2)) || bad_usage "$flag needs a value"
    value=$2
    shift
  fi
  shift
  case $flag in
    --build-dir) build_dir=$value ;;
    --log-storage) log_storages=$value ;;
    --duration-s) need_int "$flag" "$value"; duration_s=$value ;;
    --baseline-duration-s) need_int "$flag" "$value"; baseline_duration_s=$value ;;
    --sample-s) need_int "$flag" "$value"; sample_s=$value ;;
    --clients) need_int "$flag" "$value"; clients=$value ;;
    --margin) need_int "$flag" "$value"; margin=$value ;;
    --interval-s) need_int "$flag" "$value"; interval_s=$value ;;
    --segment-bytes) need_int "$flag" "$value"; segment_bytes=$value ;;
    --base-port) need_int "$flag" "$value"; base_port=$value ;;
    --work) work=$value ;;
    --keep) keep=1 ;;
    --help) usage ;;
    *) bad_usage "unknown flag '$flag' (--help lists them)" ;;
  esac
done
case $log_storages in
  both) log_storages="rocksdb segments" ;;
  rocksdb | segments) ;;
  *) bad_usage "--log-storage: '$log_storages' is none of rocksdb, segments, both" ;;
esac
((duration_s >= 1)) || bad_usage "--duration-s must be at least 1"
((sample_s >= 1)) || bad_usage "--sample-s must be at least 1"
((clients >= 1)) || bad_usage "--clients must be at least 1"
((base_port >= 1024 && base_port + 2 < 32768)) || bad_usage "--base-port must be in [1024, 32765]"

[[ $build_dir == /* ]] || build_dir="$repo/$build_dir"
server="$build_dir/example/counter/counter-server"
client="$build_dir/example/counter/counter-client"
for bin in "$server" "$client"; do
  [[ -x $bin ]] || bad_usage "$bin is not built (cmake --build $build_dir --target counter-server counter-client)"
done

remove_work=0
if [[ -z $work ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/snapshot-bench.XXXXXX")
  ((keep)) || remove_work=1
fi
mkdir -p "$work"
csv="$work/results.csv"

on_exit() {
  cluster_cleanup
  if ((remove_work)); then rm -rf "$work"; fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { cluster_say "$@"; }
fail() { cluster_fail_with_logs "$@"; }
now() { echo "$EPOCHREALTIME"; }
# Seconds from the now() value $1 to $2 (default: now), to a hundredth.
seconds_between() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.2f", b - a }'; }
# du -sb of a path, 0 if it does not exist; files vanishing under du (a snapshot being
# published) are not an error.
bytes_of() {
  [[ -e $1 ]] || { echo 0; return; }
  du -sb "$1" 2>/dev/null | awk '{ print $1; exit }' || echo 0
}
# Bytes in the files of the newest published snapshot under a replica's data directory (its
# state and meta file, not the directory's own block), 0 without one.
newest_snapshot_bytes() {
  local newest
  newest=$(find "$1/snapshot" -maxdepth 1 -name 'snapshot_*' -type d 2>/dev/null | sort | tail -n 1)
  if [[ -z $newest ]]; then
    echo 0
  else
    find "$newest" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
  fi
}
log_dir_of() {
  if [[ $1 == segments ]]; then echo "$2/log-segments"; else echo "$2/log"; fi
}
human() { numfmt --to=iec --suffix=B --format=%.1f "$1" 2>/dev/null || echo "$1"; }

# What a replica's log directory is made of, by kind of file: for RocksDB its write-ahead log
# (*.log), tables (*.sst), MANIFEST, OPTIONS and info LOG files; for segments, the segment
# files and log_meta. $1 log storage, $2 data directory.
log_breakdown() {
  local dir
  dir=$(log_dir_of "$1" "$2")
  find "$dir" -maxdepth 1 -type f -printf '%f %s\n' 2>/dev/null | awk '
    { kind = $1
      if (kind ~ /^[0-9]+\.log$/) kind = "wal(*.log)"
      else if (kind ~ /\.sst$/) kind = "sst"
      else if (kind ~ /^MANIFEST-/) kind = "MANIFEST"
      else if (kind ~ /^OPTIONS-/) kind = "OPTIONS"
      else if (kind ~ /^LOG/) kind = "LOG(info)"
      else if (kind ~ /^log_[0-9]+$/) kind = "segments"
      bytes[kind] += $2; files[kind]++ }
    END { for (k in bytes) printf "%s=%d B in %d file(s)  ", k, bytes[k], files[k]; print "" }'
}

# Starts all replicas and fails unless every process is up and a leader is elected.
start_cluster() {
  cluster_start_all || fail "could not start the replicas"
  cluster_wait_leader 30 >/dev/null || fail "no leader within 30 s of starting the replicas"
  local i
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    cluster_is_running "$i" || fail "replica $i exited right after starting"
  done
}

# The first successful `get` after a restart: prints "SECONDS VALUE"; fails, saying why on
# stderr, if a replica exits or restart_deadline_s pass. $1 is the now() value the restart
# began at.
wait_first_read() {
  local began=$1 value i
  while true; do
    if value=$("$client" --conf "$CLUSTER_CONF" --timeout-ms 500 get 2>/dev/null); then
      echo "$(seconds_between "$began") $value"
      return 0
    fi
    for ((i = 1; i <= CLUSTER_SIZE; i++)); do
      cluster_is_running "$i" || { echo "replica $i exited while restarting" >&2; return 1; }
    done
    if (($(awk -v s="$(seconds_between "$began")" -v d=$restart_deadline_s 'BEGIN { print (s > d) }'))); then
      echo "no successful get within $restart_deadline_s s" >&2
      return 1
    fi
    # A refused connection fails at once; do not spin on the cores the replicas need.
    sleep 0.05
  done
}

# Seconds from the now() value $1 to the moment each replica's node finished starting after it
# (its log's last "starting at term" line: storage opened, snapshot loaded, log recovered), as
# "a/b/c". The rest of a restart is the election and the first read.
ready_after() {
  local began=$1 i stamp out=()
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    stamp=$(grep 'starting at term' "$(cluster_log_file "$i")" | tail -n 1 | awk '{ print $2 }')
    out+=("$(awk -v stamp="$stamp" -v began="$began" 'BEGIN {
        split(stamp, hms, ":"); t = hms[1] * 3600 + hms[2] * 60 + hms[3]
        cmd = "date -d @" int(began) " +%H:%M:%S"; cmd | getline b; close(cmd)
        split(b, bh, ":"); s = bh[1] * 3600 + bh[2] * 60 + bh[3] + (began - int(began))
        d = t - s; if (d < -43200) d += 86400
        printf "%.2f", d }')")
  done
  (IFS=/; echo "${out[*]}")
}

# Prints the table header.
print_header() {
  printf '%7s %9s %5s %10s %10s %10s %10s %9s %11s %11s %8s\n' \
    t_s writes/s node dir log snap_dir snapshot first last snap_idx dir/kept
}

# One sample of every replica: a table row each, and a CSV line each. $1 run label, $2 log
# storage, $3 seconds since load start, $4 writes/s since the previous sample.
sample() {
  local label=$1 kind=$2 t=$3 rate=$4 status_text i ep dir first last snap_idx d l s n kept ratio
  status_text=$(cluster_status)
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    ep=$(cluster_endpoint "$i")
    dir=$(cluster_data_dir "$i")
    first=$(cluster_field "$status_text" "$ep" first)
    last=$(cluster_field "$status_text" "$ep" last)
    snap_idx=$(cluster_field "$status_text" "$ep" snapshot)
    d=$(bytes_of "$dir")
    l=$(bytes_of "$(log_dir_of "$kind" "$dir")")
    s=$(bytes_of "$dir/snapshot")
    n=$(newest_snapshot_bytes "$dir")
    ratio=-
    if [[ -n $first && -n $last ]]; then
      kept=$((n + (last - first + 1) * record_bytes))
      ((kept > 0)) && ratio=$(awk -v d="$d" -v k="$kept" 'BEGIN { printf "%.1f", d / k }')
    fi
    printf '%7s %9s %5s %10s %10s %10s %10s %9s %11s %11s %8s\n' "$t" "$rate" "$i" \
      "$(human "$d")" "$(human "$l")" "$(human "$s")" "$n" "${first:--}" "${last:--}" \
      "${snap_idx:--}" "$ratio"
    echo "$label,$kind,$t,$rate,$i,$d,$l,$s,$n,${first:-},${last:-},${snap_idx:-}" >>"$csv"
  done
}

# The highest commit index any replica reports (0 if none answers).
max_commit() {
  local status_text i c best=0
  status_text=$(cluster_status)
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    c=$(cluster_field "$status_text" "$(cluster_endpoint "$i")" commit)
    [[ -n $c ]] && ((c > best)) && best=$c
  done
  echo "$best"
}

# Largest data directory (bytes) among all samples of a run taken at or after $2 seconds.
max_dir_after() {
  awk -F, -v label="$1" -v from="$2" '$1 == label && $3 >= from && $6 > m { m = $6 } END { print m + 0 }' "$csv"
}

# One run: $1 label, $2 log storage, $3 snapshots (on|off), $4 load seconds.
run_once() {
  local label=$1 kind=$2 snapshots=$3 seconds=$4
  local run_work="$work/$label"
  rm -rf "$run_work"
  cluster_init "$run_work" "$server" "$client" "$base_port" 3 || fail "cluster_init"
  CLUSTER_SERVER_ARGS=(--log-storage "$kind" --log-segment-max-bytes "$segment_bytes")
  if [[ $snapshots == on ]]; then
    CLUSTER_SERVER_ARGS+=(--snapshot-interval-s "$interval_s" --snapshot-log-index-margin "$margin")
  else
    # 0 turns both triggers off: no snapshot is ever taken and the log is never truncated.
    CLUSTER_SERVER_ARGS+=(--snapshot-interval-s 0 --snapshot-log-index-margin 0)
  fi

  echo
  echo "== $label: log storage $kind, snapshots $snapshots, $clients clients for $seconds s"
  echo "   counter-server ${CLUSTER_SERVER_ARGS[*]}"
  start_cluster

  local load_out="$run_work/load.out" load_pid began last_t=0 last_commit t commit rate
  "$client" --conf "$CLUSTER_CONF" --timeout-ms 10000 load --clients "$clients" \
    --seconds "$seconds" >"$load_out" 2>"$run_work/load.err" &
  load_pid=$!
  cluster_track "$load_pid"
  began=$(now)
  last_commit=$(max_commit)
  print_header
  local next=$sample_s
  while kill -0 "$load_pid" 2>/dev/null; do
    # Sleep to the next sample point, or until the load ends, whichever comes first.
    while kill -0 "$load_pid" 2>/dev/null &&
      (($(awk -v s="$(seconds_between "$began")" -v n="$next" 'BEGIN { print (s < n) }'))); do
      sleep 0.5
    done
    kill -0 "$load_pid" 2>/dev/null || break
    t=$(seconds_between "$began")
    commit=$(max_commit)
    rate=$(awk -v c="$commit" -v p="$last_commit" -v t="$t" -v l="$last_t" \
      'BEGIN { printf "%.0f", (t > l) ? (c - p) / (t - l) : 0 }')
    sample "$label" "$kind" "${t%.*}" "$rate"
    last_t=$t last_commit=$commit
    next=$((next + sample_s))
  done
  local load_code=0
  wait "$load_pid" || load_code=$?
  ((load_code == 0)) || fail "counter-client load exited $load_code: $(tail -n 3 "$run_work/load.err")"
  local totals acked i
  totals=$(tail -n 1 "$load_out")
  acked=$(sed -n 's/.*acked=\([0-9]*\).*/\1/p' <<<"$totals")
  t=$(seconds_between "$began")
  commit=$(max_commit)
  sample "$label" "$kind" "${t%.*}" "$(awk -v c="$commit" -v p="$last_commit" -v t="$t" -v l="$last_t" \
    'BEGIN { printf "%.0f", (t > l) ? (c - p) / (t - l) : 0 }')"
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    echo "   replica $i log files: $(log_breakdown "$kind" "$(cluster_data_dir "$i")")"
  done
  say "load done: $totals ($(awk -v a="$acked" -v t="$t" 'BEGIN { printf "%.0f", a / t }') acked/s)"

  # Restart 1: SIGTERM all, start all, time to the first read.
  local r1 r2 value
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do cluster_stop "$i" 30 || fail "replica $i did not stop cleanly"; done
  local restart_began
  restart_began=$(now)
  cluster_start_all || fail "could not restart the replicas"
  r1=$(wait_first_read "$restart_began") || fail "restart after SIGTERM"
  value=${r1#* } r1=${r1%% *}
  ((value >= acked)) || fail "after the SIGTERM restart the counter is $value < $acked acknowledged increments"
  say "restart after SIGTERM: first successful get after $r1 s (value $value >= acked $acked);" \
    "replicas started after $(ready_after "$restart_began") s"

  # Restart 2: SIGKILL all under load, start all, time to the first read.
  "$client" --conf "$CLUSTER_CONF" --timeout-ms 10000 load --clients "$clients" --seconds 30 \
    >"$run_work/load2.out" 2>"$run_work/load2.err" &
  load_pid=$!
  cluster_track "$load_pid"
  sleep 10  # The schedule: let the second load run a while before the crash.
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do cluster_kill "$i"; done
  kill -TERM "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  restart_began=$(now)
  cluster_start_all || fail "could not restart the replicas"
  r2=$(wait_first_read "$restart_began") || fail "restart after kill -9"
  value=${r2#* } r2=${r2%% *}
  ((value >= acked)) || fail "after the kill -9 restart the counter is $value < $acked acknowledged increments"
  say "restart after kill -9 under load: first successful get after $r2 s (value $value);" \
    "replicas started after $(ready_after "$restart_began") s"
  t=$(seconds_between "$began")
  sample "$label" "$kind" "${t%.*}" "-"
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do cluster_stop "$i" 30 || fail "replica $i did not stop cleanly"; done
  echo "   after both restarts, replica 1 log files: $(log_breakdown "$kind" "$(cluster_data_dir 1)")"

  local max_late bound half=$((seconds / 2)) snap_max
  max_late=$(max_dir_after "$label" "$half")
  snap_max=$(awk -F, -v label="$label" '$1 == label && $9 > m { m = $9 } END { print m + 0 }' "$csv")
  bound=$((2 * (snap_max + (margin + tail_entries) * record_bytes)))
  summary+=("$(printf '%-22s %-9s %-4s %6s %12s %12s %12s %9s %9s' "$label" "$kind" "$snapshots" \
    "$seconds" "$(human "$(max_dir_after "$label" 0)")" "$(human "$max_late")" \
    "$([[ $snapshots == on ]] && human "$bound" || echo -)" "$r1" "$r2")")
}

echo "snapshot-bench: 3 counter-server replicas on 127.0.0.1:$base_port..$((base_port + 2)), $clients clients"
echo "  snapshots on: --snapshot-log-index-margin $margin --snapshot-interval-s $interval_s" \
  "(log tail kept below a snapshot: $tail_entries entries)"
echo "  segment store: --log-segment-max-bytes $segment_bytes"
echo "  work dir: $work (per-sample figures in $csv)"
echo "label,log_storage,t_s,writes_per_s,node,dir_bytes,log_bytes,snapshot_dir_bytes,newest_snapshot_bytes,first_index,last_index,last_snapshot_index" >"$csv"

summary=()
for kind in $log_storages; do
  run_once "snapshots-on-$kind" "$kind" on "$duration_s"
  if ((baseline_duration_s > 0)); then
    run_once "snapshots-off-$kind" "$kind" off "$baseline_duration_s"
  fi
done

echo
echo "== summary (dir: largest data directory of any replica; 'late': from half the load on;"
echo "   bound: 2 x (largest snapshot + ($margin + $tail_entries) entries x $record_bytes B);"
echo "   restarts: seconds from starting the processes to the first successful get)"
printf '%-22s %-9s %-4s %6s %12s %12s %12s %9s %9s\n' run log snap load_s max_dir max_dir_late \
  bound sigterm_s kill9_s
printf '%s\n' "${summary[@]}"
