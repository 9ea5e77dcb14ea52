#!/usr/bin/env bash
# docs_check.sh - docs/operations.md and the binaries agree: every option and
# config key `espace --help` lists is documented, every key the settings
# table documents is one the binary reads (and the reverse), and every
# command of `espace --commands` and `espace-pro --commands` appears in the
# docs. No server is needed. Needs ES_BIN and ES_SRC; run by ctest as
# integration.docs_check.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
ES_SRC=${ES_SRC:?ES_SRC must name the source folder}
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR # an unexpected stop says where

OPS=$ES_SRC/docs/operations.md
[[ -f $OPS ]] || fail "missing $OPS"
ES_TMP=$(mktemp -d "${TMPDIR:-/tmp}/es-docs-check.XXXXXX")
cd "$ES_TMP"

step "every option of espace --help is in docs/operations.md"
HELP=$("$ESPACE" --help)
mapfile -t FLAGS < <(grep -oE '^  --[a-z-]+' <<<"$HELP" | sed 's/^  //')
(( ${#FLAGS[@]} >= 15 )) || fail "espace --help lists only ${#FLAGS[@]} options"
for f in "${FLAGS[@]}"; do
  grep -qF -- "\`$f" "$OPS" || fail "option $f of espace --help is not in docs/operations.md"
done

step "config keys: the binary's list, the settings table, what the binary reads"
mapfile -t KEYS < <(sed -n '/^config file/,$p' <<<"$HELP" | tail -n +2 | sed 's/^  //; s/the keys //' |
  tr ' ' '\n' | grep -E '^[a-z_]+$')
(( ${#KEYS[@]} >= 15 )) || fail "espace --help lists only ${#KEYS[@]} config keys"
# the settings table: the one whose header is "| key | flag | default | meaning |"
SETTINGS=$(awk '/^\| key \| flag \| default \| meaning \|/{t=1; next} t && !/^\|/{exit} t' "$OPS")
mapfile -t DOCUMENTED < <(grep -oE '^\| `[a-z_]+` \|' <<<"$SETTINGS" | sed 's/^| `//; s/` |$//')
# (here-strings, not pipes: grep -q ending early would SIGPIPE the writer under pipefail)
KEYS_LIST=$(printf '%s\n' "${KEYS[@]}")
DOCUMENTED_LIST=$(printf '%s\n' "${DOCUMENTED[@]}")
for k in "${KEYS[@]}"; do
  grep -qx -- "$k" <<<"$DOCUMENTED_LIST" ||
    fail "config key $k of espace --help is not in the settings table of docs/operations.md"
done
for k in "${DOCUMENTED[@]}"; do
  grep -qx -- "$k" <<<"$KEYS_LIST" ||
    fail "docs/operations.md documents config key $k that espace --help does not list"
  # the binary reads it: an empty value is "bad value", not "unknown key"
  echo "$k =" >"$ES_TMP/k.conf"
  run "$ESPACE" --config "$ES_TMP/k.conf" no-such-command
  [[ $RC -eq 2 && $OUT == *"bad value for $k"* ]] || fail "espace does not read key $k: $OUT"
done

step "every command is documented"
for bin in "$ESPACE" "$ESPACE_PRO"; do
  run "$bin" --commands
  [[ $RC -eq 0 ]] || fail "$bin --commands: rc=$RC"
  mapfile -t CMDS <<<"$OUT"
  for c in "${CMDS[@]}"; do
    c=${c#admin }
    grep -qE -- "(^|[\` ])$c( |\`|$)" "$ES_SRC"/docs/*.md ||
      fail "$(basename "$bin") command '$c' is in no page of docs/"
  done
done
echo "PASS"
