#!/usr/bin/env bash
# edge_flood.sh - issue 11 section 1 on the real system: `espace up` (every
# part, the edge on a free port) at the production password-hashing cost
# unless ES_FLOOD_PWHASH says otherwise; edge_flood.mjs floods identity with
# sign-ups and wrong log-ins through the edge (10 websocket connections on
# 127.0.0.1) and over ipc (signup_load run) for 8 s, while a patient logs in
# through the edge from 127.0.0.2; after the flood a patient is served from
# the flooding address within 5 s. Needs ES_BIN and ES_SRC, node, and
# clients/web/node_modules (scripts/web). Run by ctest as
# integration.edge_flood.
set -euo pipefail

ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
ES_SRC=${ES_SRC:?ES_SRC must name the source folder}
. "$(dirname "$0")/lib.sh"
LOAD=$ES_BIN/test/signup_load
es_need "$ESPACE" "$LOAD"
command -v node >/dev/null || { echo "needs node"; exit 1; }
[[ -d $ES_SRC/clients/web/node_modules/ws ]] || { echo "run scripts/web first"; exit 1; }

ES_TMP=$(mktemp -d /tmp/es-edge-flood.XXXXXX)
CONF=$ES_TMP/espace.conf
# es_conf's 200 ms heartbeats would let the broker take identity, busy
# hashing on a loaded machine, for dead ("worker died"): issue 11 section 1,
# the broker's part. The default heartbeat here.
cat >"$CONF" <<CONF
data_dir = $ES_TMP/data
edge_port = 0
tcp = false
no_sync = true
CONF
export ESPACE_PWHASH=${ES_FLOOD_PWHASH:-interactive}

step "espace up (password hashing: $ESPACE_PWHASH)"
es_up_start --config "$CONF"
es_edge_port

step "flood through the edge and over ipc; log-ins during and after"
ES_EDGE_PORT=$EDGE_PORT ES_DATA=$ES_TMP/data ESPACE=$ESPACE ES_LOAD=$LOAD \
  timeout -s KILL 120 node "$ES_SRC/test/integration/edge_flood.mjs" || fail "edge_flood.mjs failed"
kill -0 "$UP_PID" || fail "espace up died"

step "stop"
es_up_stop
echo "ok"
