# shellcheck shell=bash
# counter-cluster.sh: run a local cluster of counter-server processes from bash.
#
# Shared by scripts/demo.sh and tests/counter_process_test.sh. Source it, then:
#
#   cluster_init WORK_DIR SERVER_BIN CLIENT_BIN BASE_PORT [SIZE [ELECTION_TIMEOUT_MS]]
#   cluster_cleanup_on_exit        # trap: kill everything started here when the script ends
#   cluster_start I                # replica I (1..SIZE) on 127.0.0.1:BASE_PORT+I-1
#   cluster_wait_leader 20         # prints the leader's number, or fails after 20 s
#   cluster_kill I                 # SIGKILL (kill -9); its data survives
#   cluster_start I                # restart on the same data
#   cluster_wait_answering I 20    # until I answers status (e.g. after a restart)
#   cluster_wait_caught_up I 20    # until I has applied what the leader had committed
#   cluster_stop I                 # SIGTERM, and wait for a clean exit
#   cluster_start_joining I        # replica I (> SIZE) with --join: outside the configuration
#                                  # until a leader adds it (raft-cli add-peer)
#   cluster_cli COMMAND ARGS...    # raft-cli COMMAND --group G --conf <every replica> ARGS...
#
# Replicas 1..SIZE form the initial configuration (CLUSTER_CONF); joining replicas extend
# CLUSTER_COUNT, and status polls and leader searches cover every replica 1..CLUSTER_COUNT.
# CLUSTER_CLI (empty by default) is the raft-cli binary cluster_cli runs.
#
# CLUSTER_SERVER_ARGS (an array, empty by default) holds extra counter-server flags for every
# replica started after it is set, e.g. CLUSTER_SERVER_ARGS=(--log-storage segments).
#
# Replica I keeps its data in WORK_DIR/nodeI and appends its output to WORK_DIR/nodeI.log.
# Waits poll `counter-client status` until a condition holds or a deadline passes; nothing
# here sleeps to stand in for synchronisation. Functions return non-zero on failure and print
# why on stderr, so callers can `|| fail ...`.

CLUSTER_WORK=
CLUSTER_SERVER=
CLUSTER_CLIENT=
CLUSTER_BASE_PORT=
CLUSTER_SIZE=3
CLUSTER_ELECTION_TIMEOUT_MS=1000
CLUSTER_GROUP=counter
CLUSTER_CONF=
CLUSTER_COUNT=3        # Replicas 1..CLUSTER_COUNT exist (the initial ones and joiners).
CLUSTER_CLI=           # raft-cli, for cluster_cli.
CLUSTER_PIDS=()        # Indexed by replica number; empty while it is not running.
CLUSTER_EXTRA_PIDS=()  # Other background processes to end on cleanup (cluster_track).
CLUSTER_POLL_S=0.2     # How often waits re-check their condition.
CLUSTER_SERVER_ARGS=() # Extra counter-server flags (see above).

cluster_init() {
  CLUSTER_WORK=${1:?cluster_init: WORK_DIR}
  CLUSTER_SERVER=${2:?cluster_init: SERVER_BIN}
  CLUSTER_CLIENT=${3:?cluster_init: CLIENT_BIN}
  CLUSTER_BASE_PORT=${4:?cluster_init: BASE_PORT}
  CLUSTER_SIZE=${5:-3}
  CLUSTER_ELECTION_TIMEOUT_MS=${6:-1000}
  local i endpoints=()
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do endpoints+=("$(cluster_endpoint "$i")"); done
  CLUSTER_CONF=$(IFS=,; echo "${endpoints[*]}")
  CLUSTER_COUNT=$CLUSTER_SIZE
  CLUSTER_PIDS=()
  CLUSTER_EXTRA_PIDS=()
  mkdir -p "$CLUSTER_WORK"
  local bin
  for bin in "$CLUSTER_SERVER" "$CLUSTER_CLIENT"; do
    [[ -x $bin ]] || { echo "cluster_init: $bin is not an executable" >&2; return 1; }
  done
}

cluster_endpoint() { echo "127.0.0.1:$((CLUSTER_BASE_PORT + $1 - 1))"; }
cluster_log_file() { echo "$CLUSTER_WORK/node$1.log"; }
cluster_data_dir() { echo "$CLUSTER_WORK/node$1"; }

# "[12:34:56.7] message" on stdout.
cluster_say() { echo "[$(date +%T.%1N)] $*"; }

# Says FAIL with the message, shows the last lines of every replica's log, and exits 1.
cluster_fail_with_logs() {
  cluster_say "FAIL: $*"
  local i
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    [[ -f $(cluster_log_file "$i") ]] || continue
    echo "      --- last lines of $(cluster_log_file "$i")"
    tail -n 5 "$(cluster_log_file "$i")" | sed 's/^/      /'
  done
  exit 1
}

cluster_is_running() {
  local pid=${CLUSTER_PIDS[$1]:-}
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# Every replica's endpoint, 1..CLUSTER_COUNT, comma-separated.
cluster_all_endpoints() {
  local i endpoints=()
  for ((i = 1; i <= CLUSTER_COUNT; i++)); do endpoints+=("$(cluster_endpoint "$i")"); done
  (IFS=,; echo "${endpoints[*]}")
}

# Starts replica I in the background with the membership flags given (restarting it if it was
# killed: same data directory).
cluster_launch() {
  local i=$1
  shift
  if cluster_is_running "$i"; then
    echo "cluster_start: replica $i is already running (pid ${CLUSTER_PIDS[i]})" >&2
    return 1
  fi
  local log
  log=$(cluster_log_file "$i")
  echo "==== $(date '+%F %T') starting replica $i $*" >>"$log"
  "$CLUSTER_SERVER" --group "$CLUSTER_GROUP" --peer "$(cluster_endpoint "$i")" "$@" \
    --data "$(cluster_data_dir "$i")" \
    --election-timeout-ms "$CLUSTER_ELECTION_TIMEOUT_MS" "${CLUSTER_SERVER_ARGS[@]}" \
    >>"$log" 2>&1 &
  CLUSTER_PIDS[i]=$!
}

# Starts replica I of the initial configuration (1..SIZE).
cluster_start() { cluster_launch "$1" --conf "$CLUSTER_CONF"; }

# Starts replica I (> SIZE) with --join; a restart on its data may use --join again.
cluster_start_joining() {
  local i=$1
  ((i > CLUSTER_COUNT)) && CLUSTER_COUNT=$i
  cluster_launch "$i" --join
}

# raft-cli COMMAND for the cluster's group, asking every replica.
cluster_cli() {
  local command=$1
  shift
  [[ -x $CLUSTER_CLI ]] || { echo "cluster_cli: CLUSTER_CLI '$CLUSTER_CLI' is not an executable" >&2; return 2; }
  "$CLUSTER_CLI" "$command" --group "$CLUSTER_GROUP" --conf "$(cluster_all_endpoints)" "$@"
}

# Runs `raft-cli COMMAND ARGS... --timeout-ms CLUSTER_CLI_TIMEOUT_MS` (cluster_cli), echoing
# the command and, indented, its output (also left in WORK/cli.out and WORK/cli.err); returns
# raft-cli's exit code.
CLUSTER_CLI_TIMEOUT_MS=30000
cluster_run_cli() {
  cluster_say "raft-cli $*"
  local code=0
  cluster_cli "$@" --timeout-ms "$CLUSTER_CLI_TIMEOUT_MS" >"$CLUSTER_WORK/cli.out" \
    2>"$CLUSTER_WORK/cli.err" || code=$?
  sed 's/^/    /' "$CLUSTER_WORK/cli.out" "$CLUSTER_WORK/cli.err"
  return "$code"
}

# The replica number of ENDPOINT (ip:port), or nothing.
cluster_number_of() {
  local i
  for ((i = 1; i <= CLUSTER_COUNT; i++)); do
    [[ $(cluster_endpoint "$i") == "$1" ]] && { echo "$i"; return 0; }
  done
  return 1
}

cluster_start_all() {
  local i
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do cluster_start "$i" || return 1; done
}

# SIGKILLs replica I and reaps it. Its data directory survives, as after a crash.
cluster_kill() {
  local i=$1 pid=${CLUSTER_PIDS[$1]:-}
  [[ -n $pid ]] || { echo "cluster_kill: replica $i is not running" >&2; return 1; }
  # Reaped at once, with the shell's "Killed" notice silenced.
  { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  CLUSTER_PIDS[i]=
  echo "==== $(date '+%F %T') replica $i killed with SIGKILL" >>"$(cluster_log_file "$i")"
}

# SIGTERMs replica I and waits up to DEADLINE_S (default 15) for it to exit; fails if it does
# not exit, or exits with a non-zero code.
cluster_stop() {
  local i=$1 deadline_s=${2:-15} pid=${CLUSTER_PIDS[$1]:-}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local end=$((SECONDS + deadline_s))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= end)); then
      echo "cluster_stop: replica $i (pid $pid) did not exit within ${deadline_s} s of SIGTERM" >&2
      return 1
    fi
    sleep "$CLUSTER_POLL_S"
  done
  local code=0
  wait "$pid" 2>/dev/null || code=$?
  CLUSTER_PIDS[i]=
  if ((code != 0)); then
    echo "cluster_stop: replica $i exited with code $code after SIGTERM" >&2
    return 1
  fi
}

# Stops (SIGTERM, then waits) and starts replica I.
cluster_restart() {
  cluster_stop "$1" || return 1
  cluster_start "$1"
}

# Registers another background process (e.g. a load client) for cleanup.
cluster_track() { CLUSTER_EXTRA_PIDS+=("$1"); }

# Ends everything this library started: tracked processes and replicas, SIGTERM first, SIGKILL
# for whatever is still there after a short grace period.
cluster_cleanup() {
  local pids=() pid i
  for pid in "${CLUSTER_EXTRA_PIDS[@]}" "${CLUSTER_PIDS[@]}"; do
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  ((${#pids[@]} == 0)) && return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local end=$((SECONDS + 5))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for i in "${!CLUSTER_PIDS[@]}"; do CLUSTER_PIDS[i]=; done
  CLUSTER_EXTRA_PIDS=()
}

# Installs cluster_cleanup on EXIT, and turns INT/TERM into an exit (which runs it).
cluster_cleanup_on_exit() {
  trap cluster_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# `counter-client status` for the whole cluster: one line per replica ("unreachable" for the
# ones that do not answer). Always succeeds; the text says what is known.
cluster_status() {
  "$CLUSTER_CLIENT" --conf "$(cluster_all_endpoints)" --timeout-ms 1000 status 2>/dev/null || true
}

# The value of KEY (role, term, leader, last, commit, applied, first, snapshot, value) in the
# status line of ENDPOINT within STATUS_TEXT; empty if the replica is unreachable.
cluster_field() {
  local status_text=$1 endpoint=$2 key=$3
  awk -v ep="$endpoint" -v key="$key" '$1 == ep {
      for (f = 2; f <= NF; f++) {
        n = index($f, "=")
        if (n > 0 && substr($f, 1, n - 1) == key) { print substr($f, n + 1); exit }
      }
    }' <<<"$status_text"
}

# From one status poll: the number of the replica that leads at the highest term any replica
# reports, if it does lead. Prints nothing (and fails) if there is no such leader.
cluster_leader_in() {
  local status_text=$1 i role term max_term=0 leader=
  for ((i = 1; i <= CLUSTER_COUNT; i++)); do
    term=$(cluster_field "$status_text" "$(cluster_endpoint "$i")" term)
    [[ -n $term ]] && ((term > max_term)) && max_term=$term
  done
  for ((i = 1; i <= CLUSTER_COUNT; i++)); do
    role=$(cluster_field "$status_text" "$(cluster_endpoint "$i")" role)
    term=$(cluster_field "$status_text" "$(cluster_endpoint "$i")" term)
    [[ $role == leader && $term == "$max_term" ]] && leader=$i
  done
  [[ -n $leader ]] && echo "$leader"
}

cluster_leader() { cluster_leader_in "$(cluster_status)"; }

# Polls until a leader is known and prints its number; fails after DEADLINE_S seconds.
# With NOT_I, a leader other than replica NOT_I is required.
cluster_wait_leader() {
  local deadline_s=${1:-20} not_i=${2:-} end leader
  end=$((SECONDS + deadline_s))
  while ((SECONDS < end)); do
    leader=$(cluster_leader) || leader=
    if [[ -n $leader && $leader != "$not_i" ]]; then
      echo "$leader"
      return 0
    fi
    sleep "$CLUSTER_POLL_S"
  done
  echo "cluster_wait_leader: no leader${not_i:+ other than replica $not_i} within ${deadline_s} s" >&2
  return 1
}

# Polls until replica I answers status; fails after DEADLINE_S seconds.
cluster_wait_answering() {
  local i=$1 deadline_s=${2:-20} end
  end=$((SECONDS + deadline_s))
  while ((SECONDS < end)); do
    [[ -n $(cluster_field "$(cluster_status)" "$(cluster_endpoint "$i")" role) ]] && return 0
    sleep "$CLUSTER_POLL_S"
  done
  echo "cluster_wait_answering: replica $i did not answer within ${deadline_s} s" >&2
  return 1
}

# Waits until replica I has applied everything the leader had committed when the wait began
# (under load the leader keeps committing; this is the point I must reach to have caught up).
# Fails after DEADLINE_S seconds, printing how far it got.
cluster_wait_caught_up() {
  local i=$1 deadline_s=${2:-30} end status_text leader target='' applied=''
  end=$((SECONDS + deadline_s))
  while ((SECONDS < end)); do
    status_text=$(cluster_status)
    if [[ -z $target ]]; then
      leader=$(cluster_leader_in "$status_text") || leader=
      [[ -n $leader ]] && target=$(cluster_field "$status_text" "$(cluster_endpoint "$leader")" commit)
    fi
    applied=$(cluster_field "$status_text" "$(cluster_endpoint "$i")" applied)
    if [[ -n $target && -n $applied ]] && ((applied >= target)); then
      echo "$target"
      return 0
    fi
    sleep "$CLUSTER_POLL_S"
  done
  echo "cluster_wait_caught_up: replica $i applied ${applied:-nothing} of the leader's commit" \
    "index ${target:-(no leader seen)} within ${deadline_s} s" >&2
  return 1
}

# Waits for the `counter-client load` process PID, whose stdout went to OUT_FILE, and reads its
# last line "acked=A unknown=U failed=F [reads=R stale_reads=S read_failed=F]" into
# CLUSTER_ACKED, CLUSTER_UNKNOWN, CLUSTER_FAILED (and CLUSTER_READS, CLUSTER_STALE_READS,
# CLUSTER_READ_FAILED, 0 without reads).
# Fails (saying why, with ERR_FILE's text) if the load exited non-zero or printed no totals.
cluster_load_totals() {
  local pid=$1 out=$2 err=$3 code=0 totals
  wait "$pid" || code=$?
  if ((code != 0)); then
    echo "the load client exited with code $code: $(cat "$err")" >&2
    return 1
  fi
  totals=$(tail -n 1 "$out")
  if ! [[ $totals =~ ^acked=([0-9]+)\ unknown=([0-9]+)\ failed=([0-9]+)(\ reads=([0-9]+)\ stale_reads=([0-9]+)\ read_failed=([0-9]+))?$ ]]; then
    echo "the load printed no totals line: '$totals'" >&2
    return 1
  fi
  CLUSTER_ACKED=${BASH_REMATCH[1]}
  CLUSTER_UNKNOWN=${BASH_REMATCH[2]}
  CLUSTER_FAILED=${BASH_REMATCH[3]}
  # With --reads-per-write; 0 otherwise. (A stale read already made the load exit 4.)
  CLUSTER_READS=${BASH_REMATCH[5]:-0}
  CLUSTER_STALE_READS=${BASH_REMATCH[6]:-0}
  CLUSTER_READ_FAILED=${BASH_REMATCH[7]:-0}
}

# Checks a final count against the load's totals: acked <= FINAL <= acked + unknown, and
# something was acknowledged. Fails saying which bound broke.
cluster_check_count() {
  local final=$1 acked=$CLUSTER_ACKED unknown=$CLUSTER_UNKNOWN
  ((acked > 0)) || { echo "no increment was acknowledged" >&2; return 1; }
  ((acked <= final)) || { echo "LOST INCREMENTS: final count $final < acked $acked" >&2; return 1; }
  if ((final > acked + unknown)); then
    echo "EXTRA INCREMENTS: final count $final > acked $acked + unknown $unknown" >&2
    return 1
  fi
}

# Polls until every replica I... reports counter VALUE (after a linearizable get of VALUE, the
# leader's commit index covers every increment); prints the last status poll. Fails after
# DEADLINE_S seconds.
cluster_wait_all_hold() {
  local value=$1 deadline_s=$2 end status_text converged i
  shift 2
  end=$((SECONDS + deadline_s))
  while :; do
    status_text=$(cluster_status)
    converged=1
    for i in "$@"; do
      [[ $(cluster_field "$status_text" "$(cluster_endpoint "$i")" value) == "$value" ]] ||
        converged=0
    done
    ((converged)) && break
    if ((SECONDS >= end)); then
      echo "replicas $* do not all hold $value within ${deadline_s} s" >&2
      return 1
    fi
    sleep "$CLUSTER_POLL_S"
  done
  echo "$status_text"
}
