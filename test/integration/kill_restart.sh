#!/usr/bin/env bash
# A service killed with SIGKILL while requests flow: callers get UNAVAILABLE
# (never a hang); once restarted it serves again, and no acknowledged write is
# lost. Broker and identity run as separate processes; identity and the load
# client both reach the broker over loopback tcp with CURVE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ES_TMP=$(mktemp -d)
D=$ES_TMP/data
es_conf "$ES_TMP/espace.conf"
export ESPACE_PWHASH=min
LOAD="$ES_BIN/test/signup_load"

bg "$ESPACE" broker --config "$ES_TMP/espace.conf"
wait_until 10 test -S "$D/run/bus.ipc" || fail "broker did not start"
BKEY=$("$ESPACE" admin --config "$ES_TMP/espace.conf" keys show)

# Keys: one for the identity worker (role service), one for the load client (role pro).
"$ESPACE" admin --config "$ES_TMP/espace.conf" keys gen --out "$ES_TMP/identity.key" >/dev/null
"$ESPACE" admin --config "$ES_TMP/espace.conf" keys gen --out "$ES_TMP/client.key" >/dev/null
"$ESPACE" admin --config "$ES_TMP/espace.conf" keys add --role service --name identity-1 \
  --public "$(cat "$ES_TMP/identity.key.pub")"
"$ESPACE" admin --config "$ES_TMP/espace.conf" keys add --role pro --name load \
  --public "$(cat "$ES_TMP/client.key.pub")"

start_identity() {
  bg "$ESPACE" identity --config "$ES_TMP/espace.conf" \
    --broker "tcp://127.0.0.1:$REQ" --broker-key "$BKEY" --key "$ES_TMP/identity.key"
  IDENTITY_PID=${ES_PIDS[-1]}
}
start_identity
EP="tcp://127.0.0.1:$REQ"

# The service answers before the load starts.
wait_until 10 "$LOAD" run "$EP" 1 "$ES_TMP/warmup" "$BKEY" "$ES_TMP/client.key" \
  || fail "identity did not come up"

# 8 s of sign-ups; identity is killed at 2 s and restarted at 4 s.
"$LOAD" run "$EP" 8 "$ES_TMP/acked" "$BKEY" "$ES_TMP/client.key" >"$ES_TMP/load.out" &
LOAD_PID=$!
sleep 2
kill -9 "$IDENTITY_PID"
sleep 2
start_identity
wait "$LOAD_PID" || fail "load client failed"
cat "$ES_TMP/load.out"

unavailable=$(sed -E 's/.* unavailable=([0-9]+).*/\1/' "$ES_TMP/load.out")
ok_after=$(sed -E 's/.*ok_after_unavailable=([0-9]+).*/\1/' "$ES_TMP/load.out")
[ "$unavailable" -gt 0 ] || fail "no caller saw UNAVAILABLE while identity was dead"
[ "$ok_after" -gt 0 ] || fail "identity did not serve again after its restart"

# Every acknowledged sign-up is still there after the crash.
"$LOAD" verify "$EP" "$ES_TMP/acked" "$BKEY" "$ES_TMP/client.key" || fail "acknowledged writes lost"
echo "kill_restart: ok"
