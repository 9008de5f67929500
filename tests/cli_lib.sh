# Shared by the CLI test scripts (sourced, never run): a scratch folder $tmp
# removed on exit, the pass/fail counters, and check / fail.
# CLI_ONE_LINE=1 before sourcing: a command expected to fail must also print
# exactly one line (the project's rule for bad input).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # name, expected exit ("0" or "nonzero"), pattern in stderr/stdout, command...
  local name=$1 want=$2 pattern=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" != 0 ] && [ $rc -eq 0 ]; } || ! grep -q -- "$pattern" <<<"$out"; then
    fail "$name (exit $rc): $(tail -n 3 <<<"$out")"
  elif [ "${CLI_ONE_LINE:-0}" = 1 ] && [ "$want" != 0 ] && [ "$(wc -l <<<"$out")" -ne 1 ]; then
    fail "$name: the error is not one line: $out"
  else
    passed=$((passed + 1))
  fi
}
