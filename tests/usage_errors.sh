# expect_usage_error, for the example programs' flag tests: a refused command line exits 2 with
# one line on stderr that names the offending flag (DESIGN.md, "Failure contract").
#
# Source it after setting $work to a scratch directory; end with usage_error_summary.

failures=0
checks=0

# expect_usage_error NAME EXPECTED_TEXT COMMAND...
expect_usage_error() {
  local name=$1 expected=$2
  shift 2
  checks=$((checks + 1))
  local stderr_file="$work/stderr" code
  # A command line that is wrongly accepted would start a server; the timeout ends it.
  timeout 10 "$@" >/dev/null 2>"$stderr_file"
  code=$?
  local lines
  lines=$(wc -l <"$stderr_file")
  if [[ $code -ne 2 ]]; then
    echo "FAIL $name: exit code $code, expected 2; stderr: $(cat "$stderr_file")"
    failures=$((failures + 1))
  elif ! grep -qF -- "$expected" "$stderr_file"; then
    echo "FAIL $name: stderr does not mention '$expected': $(cat "$stderr_file")"
    failures=$((failures + 1))
  elif [[ $lines -ne 1 ]]; then
    echo "FAIL $name: expected one line on stderr, got $lines: $(cat "$stderr_file")"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(cat "$stderr_file")"
  fi
}

usage_error_summary() {
  echo "$((checks - failures))/$checks command lines refused as expected"
  [[ $failures -eq 0 ]]
}
