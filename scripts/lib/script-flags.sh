# shellcheck shell=bash
# script-flags.sh: usage helpers for scripts with `--flag value` command lines.
#
# Shared by scripts/snapshot-bench.sh and benchmarks/compare-etcd.sh. Source it, then:
#
#   usage                  # prints the script's header comment (line 2 up to `set -euo`), exit 2
#   bad_usage MESSAGE...   # "<script name>: MESSAGE" on stderr, exit 2
#   need_int FLAG VALUE    # bad_usage unless VALUE is a whole number
#
# Exit code 2 for usage errors, with one line naming the flag (DESIGN.md, "Failure contract").

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
bad_usage() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}
need_int() {
  [[ $2 =~ ^[0-9]+$ ]] || bad_usage "$1: '$2' is not a whole number"
}
