#!/usr/bin/env bash
# multi_edge.sh - several edge processes on one broker (docs/operations.md,
# "Several edge processes"): `espace up` (its edge is edge A) and a second
# `espace edge` process on the same data folder (edge B, over ipc to the
# broker of `espace up`). With `espace admin seed` accounts (one patient with
# two devices, a second patient, a professional the first patient granted
# agenda read+write), multi_edge.mjs checks that
#   - a write through edge A reaches, live, the patient's device on edge B
#     (and not the other patient's device on edge B);
#   - a professional's write (espace-pro agenda create, tcp + CURVE) reaches
#     the device on edge B;
#   - stopping edge B (SIGTERM) closes its connections, not edge A's: the
#     device on edge A still writes and receives its live event, a new
#     connection to A resumes its session.
# Then edge B must have exited 0 and `espace up` must still run and stop
# cleanly. Every wait is bounded. Needs ES_BIN and ES_SRC, node and
# clients/web/node_modules (scripts/web). Run by ctest as integration.multi_edge.
set -euo pipefail

ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
ES_SRC=${ES_SRC:?ES_SRC must name the source folder}
. "$(dirname "$0")/lib.sh"
es_need "$ESPACE" "$ESPACE_PRO"
command -v node >/dev/null || { echo "needs node"; exit 1; }
[[ -d $ES_SRC/clients/web/node_modules/ws ]] || { echo "run scripts/web first"; exit 1; }

es_up multi-edge edge
es_edge_port
EDGE_A=$EDGE_PORT

step "a second edge process (edge B) on the same data folder"
bg "$ESPACE" --config "$CONF" --edge-port 0 edge >"$ES_TMP/edge-b.out" 2>"$ES_TMP/edge-b.log"
B_PID=${ES_PIDS[-1]}
wait_until 10 grep -q "espace is up" "$ES_TMP/edge-b.out" ||
  { cat "$ES_TMP/edge-b.log" >&2; fail "edge B not up within 10 s"; }
EDGE_B=$(grep -o 'comp=edge event=listen host=[0-9.]* port=[0-9]*' "$ES_TMP/edge-b.log" |
  sed 's/.*port=//' | head -1)
[[ -n $EDGE_B && $EDGE_B != "$EDGE_A" ]] || fail "edge B port '$EDGE_B' (edge A $EDGE_A)"
grep -q "services    edge$" "$ES_TMP/edge-b.out" || fail "edge B summary: $(cat "$ES_TMP/edge-b.out")"

step "seed: 2 patients x 2 devices, 1 professional granted by the first"
ACC=$ES_TMP/accounts
run "${ES_ADMIN[@]}" seed --patients 2 --devices 2 --pros 1 --pro-patients 1 --out "$ACC"
[[ $RC -eq 0 ]] || fail "seed: $OUT"
RPPS=$(awk '$1 == "pro" { print $2; exit }' "$ACC")
PRO_HOME=$ES_TMP/pro
mkdir -m 700 "$PRO_HOME"
cp "$ACC.keys/$RPPS.key" "$PRO_HOME/curve.key"
ESPACE_PASSWORD=$(awk '$1 == "pro" { print $3; exit }' "$ACC") "$ESPACE_PRO" --home "$PRO_HOME" \
  --broker "tcp://127.0.0.1:$REQ" --broker-key "$BROKER_KEY" login --rpps "$RPPS" |
  grep -q "logged in as $RPPS" || fail "login $RPPS"

step "live events across edges; edge B stopped under edge A's connections"
ES_EDGE_A=$EDGE_A ES_EDGE_B=$EDGE_B ES_EDGE_B_PID=$B_PID ES_ACCOUNTS=$ACC \
  ESPACE_PRO=$ESPACE_PRO ES_PRO_HOME=$PRO_HOME \
  timeout -s KILL 120 node "$ES_SRC/test/integration/multi_edge.mjs" || fail "multi_edge.mjs failed"

es_reap "$B_PID" 50 || fail "edge B still running 5 s after SIGTERM"
[[ $REAPED_RC -eq 0 ]] || { cat "$ES_TMP/edge-b.log" >&2; fail "edge B exited $REAPED_RC"; }
kill -0 "$UP_PID" || fail "espace up died"
curl -sf --max-time 5 "http://127.0.0.1:$EDGE_A/healthz" >/dev/null || fail "edge A not healthy"

step "stop"
es_up_stop
echo "ok"
