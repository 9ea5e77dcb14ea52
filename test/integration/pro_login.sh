#!/usr/bin/env bash
# pro_login.sh - end to end: `espace up` on tcp+CURVE, a professional created by
# the operator, espace-pro keygen/login/whoami/logout, an unregistered key, a
# wrong password, a hot backup, and a clean stop on SIGTERM.
# Needs ES_BIN (build folder); run by ctest as integration.pro_login.
set -euo pipefail

ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"
PRO=$ESPACE_PRO
es_need "$ESPACE" "$PRO"

ES_TMP=$(mktemp -d /tmp/es-pro-login.XXXXXX)
TMP=$ES_TMP
es_ports

DATA=$TMP/data
export ESPACE_PWHASH=min
COMMON=(--data "$DATA" --no-sync)

step "espace up (ports $REQ $PUB $SUB)"
es_up_start "${COMMON[@]}" --req-port "$REQ" --pub-port "$PUB" --sub-port "$SUB" --edge-port 0 \
    --heartbeat-ms 200
grep -q "event=up" "$TMP/up.log" || fail "no event=up log line"
grep -qF -- "$BROKER_KEY" "$TMP/up.out" || fail "summary does not show the broker key"
ENDPOINT=tcp://127.0.0.1:$REQ

step "usage errors exit 2"
set +e
out=$("$ESPACE" "${COMMON[@]}" admin keys add --role pro 2>&1); rc=$?
set -e
[[ $rc -eq 2 && $out == "error: keys add: missing --name"* ]] || fail "usage error: rc=$rc $out"
set +e
out=$("$PRO" --home "$TMP/usage" login --device pc 2>&1); rc=$?
set -e
[[ $rc -eq 2 && $out == "error: login: missing --rpps"* ]] || fail "login usage: rc=$rc $out"

step "keygen + keys add + create-pro"
HOME1=$TMP/pro1
RPPS=10001234567
es_pro_setup "$HOME1" "$RPPS" cabinet-test
[[ ${#PRO_PUB} -eq 40 ]] || fail "bad pro key '$PRO_PUB'"
[[ $(stat -c %a "$HOME1/curve.key") == 600 ]] || fail "curve.key not 0600"
"$ESPACE" "${COMMON[@]}" admin keys list | grep -F -- "$PRO_PUB" | grep -q pro || fail "keys list"
set +e
out=$("$ESPACE" "${COMMON[@]}" admin keys add --role pro --name again --public "$PRO_PUB" 2>&1)
rc=$?
set -e
[[ $rc -eq 1 && $out == *"error: ALREADY_EXISTS"* ]] || fail "duplicate key: rc=$rc $out"

step "create-pro: a bad RPPS"
set +e
out=$(ESPACE_PASSWORD='correct horse battery staple' "$ESPACE" "${COMMON[@]}" admin create-pro \
    --rpps 123 --last-name X --first-name Y --profession Z 2>&1)
rc=$?
set -e
[[ $rc -eq 1 && $out == *"error: INVALID_ARGUMENT"*"(field rpps)"* ]] || fail "bad rpps: rc=$rc $out"

step "login + whoami"
out=$(ESPACE_PASSWORD='correct horse battery staple' "$PRO" --home "$HOME1" \
    --broker "$ENDPOINT" --broker-key "$BROKER_KEY" login --rpps "$RPPS" --device test-pc)
[[ $out == "logged in as $RPPS (session "*", expires "*")" ]] || fail "login said: $out"
[[ $(stat -c %a "$HOME1/session") == 600 ]] || fail "session not 0600"
grep -q "broker = $ENDPOINT" "$HOME1/config" || fail "login did not save the broker"
out=$("$PRO" --home "$HOME1" whoami)   # broker and key from the saved config
[[ $out == *"$RPPS"* && $out == *"Claire Martin"* && $out == *professional* ]] || \
    fail "whoami said: $out"

step "unregistered key: UNAVAILABLE, quickly"
HOME2=$TMP/pro2
"$PRO" --home "$HOME2" keygen >/dev/null 2>&1
start=$(date +%s%N)
set +e
out=$(ESPACE_PASSWORD='correct horse battery staple' "$PRO" --home "$HOME2" --timeout 1000 \
    --broker "$ENDPOINT" --broker-key "$BROKER_KEY" login --rpps "$RPPS" 2>&1)
rc=$?
set -e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[[ $rc -eq 1 && $out == "error: UNAVAILABLE: no answer from $ENDPOINT: it listens but refuses this software's key"* ]] ||
    fail "unregistered key: rc=$rc $out"
(( ms < 5000 )) || fail "unregistered key took $ms ms"

step "wrong password: UNAUTHENTICATED"
set +e
out=$(ESPACE_PASSWORD='not the password at all' "$PRO" --home "$TMP/pro3" \
    --broker "$ENDPOINT" --broker-key "$BROKER_KEY" login --rpps "$RPPS" 2>&1 </dev/null)
rc=$?
set -e
# pro3 has no keypair: it must say so, not hang
[[ $rc -eq 1 && $out == *"error: NOT_FOUND"*keygen* ]] || fail "no keypair: rc=$rc $out"
cp "$HOME1/curve.key" "$HOME1/curve.key.pub" "$TMP/pro3/"
set +e
out=$(ESPACE_PASSWORD='not the password at all' "$PRO" --home "$TMP/pro3" \
    --broker "$ENDPOINT" --broker-key "$BROKER_KEY" login --rpps "$RPPS" 2>&1)
rc=$?
set -e
[[ $rc -eq 1 && $out == "error: UNAUTHENTICATED: "* ]] || fail "wrong password: rc=$rc $out"
[[ ! -e $TMP/pro3/session ]] || fail "a failed login wrote a session"

step "backup while running"
"$ESPACE" "${COMMON[@]}" admin backup --out "$TMP/backup" >/dev/null
[[ -f $TMP/backup/identity/data.mdb && -f $TMP/backup/identity/store.key ]] ||
    fail "no identity store in the backup"
[[ -f $TMP/backup/broker/data.mdb && -f $TMP/backup/broker/curve.key ]] ||
    fail "no broker store or key in the backup"

step "logout, then the token is dead"
cp "$HOME1/session" "$TMP/old-session"
"$PRO" --home "$HOME1" logout | grep -q "logged out" || fail "logout"
[[ ! -e $HOME1/session ]] || fail "logout kept the session file"
set +e
out=$("$PRO" --home "$HOME1" whoami 2>&1); rc=$?
set -e
[[ $rc -eq 1 && $out == "error: UNAUTHENTICATED: "* ]] || fail "whoami after logout: rc=$rc $out"
cp "$TMP/old-session" "$HOME1/session"; chmod 600 "$HOME1/session"
set +e
out=$("$PRO" --home "$HOME1" whoami 2>&1); rc=$?
set -e
[[ $rc -eq 1 && $out == "error: UNAUTHENTICATED: "* ]] || fail "revoked token still works: rc=$rc $out"

step "keys remove"
"$ESPACE" "${COMMON[@]}" admin keys remove --public "$PRO_PUB" >/dev/null
"$ESPACE" "${COMMON[@]}" admin keys list 2>/dev/null | grep -qF -- "$PRO_PUB" && fail "key still listed"

step "SIGTERM: clean exit within 5 s"
es_up_stop
echo "PASS"
