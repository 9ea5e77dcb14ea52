#!/usr/bin/env bash
# cli_help.sh - every command of espace and espace-pro has its own --help.
# The list comes from the binaries' own command tables (`--commands`), so a
# command added to a table is walked without touching this test. For each:
# `CMD --help` and `help CMD` exit 0 on stdout with a usage line naming the
# command and its entry of the manual. Then --version, and usage errors: one
# line that names what is wrong plus where the help is, never the manual.
# No server is needed. Needs ES_BIN; run by ctest as integration.cli_help.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR # an unexpected stop says where

es_need "$ESPACE" "$ESPACE_PRO"
ES_TMP=$(mktemp -d "${TMPDIR:-/tmp}/es-cli-help.XXXXXX")
cd "$ES_TMP" # no ./espace.conf of the caller's folder
export ESPACE_PRO_HOME=$ES_TMP/pro

# walk BINARY: --help of every command BINARY --commands lists.
walk() {
  local bin=$1 name cmd n=0 words
  name=$(basename "$bin")
  run "$bin" --commands
  [[ $RC -eq 0 && -n $OUT ]] || fail "$name --commands: rc=$RC $OUT"
  local -a cmds
  mapfile -t cmds <<<"$OUT"
  for cmd in "${cmds[@]}"; do
    read -ra words <<<"$cmd"
    run "$bin" "${words[@]}" --help
    [[ $RC -eq 0 ]] || fail "$name $cmd --help: rc=$RC $OUT"
    [[ $OUT == "usage: $name "*"$cmd"$'\n'* ]] || fail "$name $cmd --help: no usage line: $OUT"
    # the entry of the command: its words, two spaces in (admin: without "admin")
    local entry=${cmd#admin }
    grep -q "^  $entry\( \|$\)" <<<"$OUT" || fail "$name $cmd --help: no entry '$entry': $OUT"
    grep -q "^commands:" <<<"$OUT" && fail "$name $cmd --help prints the whole manual"
    local one=$OUT
    run "$bin" help "${words[@]}"
    [[ $RC -eq 0 && $OUT == "$one" ]] || fail "$name help $cmd differs from --help: $OUT"
    n=$((n + 1))
  done
  echo "$name: $n commands, each with its --help"
  WALKED=$n
}

step "every command's --help, from the command tables"
walk "$ESPACE"
(( WALKED >= 20 )) || fail "espace lists only $WALKED commands"
walk "$ESPACE_PRO"
(( WALKED >= 20 )) || fail "espace-pro lists only $WALKED commands"

step "families, the whole manual, help"
for args in "admin keys" "admin catalogue" "admin"; do
  read -ra w <<<"$args"
  run "$ESPACE" "${w[@]}" --help
  [[ $RC -eq 0 && $OUT == "usage: espace [options] admin"* ]] || fail "espace $args --help: rc=$RC $OUT"
done
run "$ESPACE_PRO" agenda --help
[[ $RC -eq 0 && $OUT == *"  agenda create "* && $OUT == *"  agenda watch "* && $OUT != *"  msg "* ]] ||
  fail "espace-pro agenda --help: rc=$RC $OUT"
for bin in "$ESPACE" "$ESPACE_PRO"; do
  run "$bin" --help
  [[ $RC -eq 0 && $OUT == "usage: "*"commands:"* ]] || fail "$bin --help: rc=$RC $OUT"
  run "$bin" help
  [[ $RC -eq 0 && $OUT == "usage: "*"commands:"* ]] || fail "$bin help: rc=$RC $OUT"
  run "$bin" -h
  [[ $RC -eq 0 && $OUT == "usage: "* ]] || fail "$bin -h: rc=$RC $OUT"
done

step "--version"
run "$ESPACE" --version
[[ $RC -eq 0 && $OUT =~ ^espace\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "espace --version: rc=$RC $OUT"
run "$ESPACE_PRO" --version
[[ $RC -eq 0 && $OUT =~ ^espace-pro\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "espace-pro --version: rc=$RC $OUT"

step "usage errors: what is wrong, where the help is, not the manual"
# expect_usage WANT CMD...: exit 2, first line WANT, then the pointer, nothing else.
expect_usage() {
  local want=$1
  shift
  run "$@"
  [[ $RC -eq 2 ]] || fail "$* gave rc=$RC: $OUT"
  [[ $(head -n1 <<<"$OUT") == "$want" ]] || fail "$*: first line '$(head -n1 <<<"$OUT")', wanted '$want'"
  [[ $(wc -l <<<"$OUT") -eq 2 && $(tail -n1 <<<"$OUT") == "see: "*" --help" ]] ||
    fail "$*: not one error and a pointer: $OUT"
}
expect_usage "error: unknown command 'frobnicate'" "$ESPACE_PRO" frobnicate
expect_usage "error: agenda: unknown command 'frobnicate'" "$ESPACE_PRO" agenda frobnicate
expect_usage "error: agenda create: missing --patient" "$ESPACE_PRO" agenda create --title x
expect_usage "error: agenda list: unknown option --bogus" "$ESPACE_PRO" agenda list --bogus 1
expect_usage "error: agenda list: --patient needs a value" "$ESPACE_PRO" agenda list --patient
expect_usage "error: unknown command 'frobnicate'" "$ESPACE" frobnicate
expect_usage "error: unknown command 'frobnicate'" "$ESPACE" admin frobnicate
expect_usage "error: keys: unknown command 'frobnicate'" "$ESPACE" admin keys frobnicate
expect_usage "error: keys gen: missing --out" "$ESPACE" admin keys gen
expect_usage "error: unknown command 'frobnicate'" "$ESPACE" help frobnicate
run "$ESPACE_PRO" msg keys --rotate
[[ $RC -ne 2 ]] || fail "a switch last on the line is not missing a value: $OUT"
run "$ESPACE_PRO" agenda create --help --patient
[[ $RC -eq 0 && $OUT == "usage: espace-pro [options] agenda create"* ]] ||
  fail "--help wins over a usage error: rc=$RC $OUT"
run "$ESPACE_PRO" agenda create --patient x --kind rdv --title t --start 2026-12-01T09:30 --end 2026-12-01T25:00
[[ $RC -eq 1 && $OUT == *"--end: '2026-12-01T25:00' is not a time"*"(field end)" ]] ||
  fail "a bad --end is named as such: rc=$RC $OUT"

step "a wrong broker port: no answer, nothing listens (not a key problem)"
run "$ESPACE_PRO" keygen
[[ $RC -eq 0 ]] || fail "keygen: rc=$RC $OUT"
PORT=$(free_port) || fail "no free port"
echo "token" >"$ESPACE_PRO_HOME/session"
run "$ESPACE_PRO" --broker "tcp://127.0.0.1:$PORT" --broker-key "$(cat "$ESPACE_PRO_HOME/curve.key.pub")" \
  --timeout 500 whoami
[[ $RC -eq 1 && $OUT == "error: UNAVAILABLE: no answer from tcp://127.0.0.1:$PORT: nothing listens there"* ]] ||
  fail "wrong port: rc=$RC $OUT"
echo "PASS"
