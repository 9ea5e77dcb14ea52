#!/usr/bin/env bash
# edge_port_taken.sh - `espace up` whose edge port is already taken says so
# ("port N is already in use"), stops every part and exits 1: no crash (it
# used to die of SIGSEGV in the edge's teardown, the lws libuv plugin
# unloaded with its handles still on the loop).
# Needs ES_BIN (build folder); run by ctest as integration.edge_port_taken.
set -euo pipefail

ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"
es_need "$ESPACE"
command -v python3 >/dev/null || { echo "needs python3"; exit 1; }

ES_TMP=$(mktemp -d /tmp/es-edge-port.XXXXXX)
export ESPACE_PWHASH=min

step "a listener holds a port"
PORT=$(free_port) || fail "no free port"
bg python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("listening", flush=True)
time.sleep(120)
' "$PORT" >"$ES_TMP/holder.out"
wait_until 5 grep -q listening "$ES_TMP/holder.out" || fail "the holder did not listen"

step "espace up --edge-port $PORT"
run timeout -s KILL 60 "$ESPACE" --data "$ES_TMP/data" --no-sync --no-tcp --edge-port "$PORT" up
echo "$OUT" | tail -n 5
[[ $RC -eq 1 ]] || fail "espace up exited $RC (1 expected; 139 = SIGSEGV, 137 = hung)"
grep -q "port $PORT is already in use" <<<"$OUT" || fail "no 'port $PORT is already in use'"
grep -q "part 'edge' failed" <<<"$OUT" || fail "no part failure line"
! grep -q "espace is up" <<<"$OUT" || fail "said it was up"

step "the same port free: espace up serves and stops cleanly"
kill -9 "${ES_PIDS[-1]}"
wait_until 5 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$PORT)" || fail "port still held"
es_up_start --data "$ES_TMP/data" --no-sync --no-tcp --edge-port "$PORT"
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" || fail "the edge does not listen on $PORT"
es_up_stop
echo "ok"
