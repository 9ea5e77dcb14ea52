#!/usr/bin/env bash
# load_smoke.sh - espace-load against a running `espace up`: `espace admin
# seed` makes 4 bench patients (2 devices each, tokens in a 0600 accounts
# file) and 2 professionals (CURVE keys registered, each granted agenda
# read+write by 2 patients); a second seed of the same accounts works.
# espace-load agenda runs 8 connections at 40 writes/s for 3 s, and its JSON
# summary must report every write delivered to the other device, no error,
# no loss; fanout runs 12 connections of one patient (each write reaches all
# 12); pro runs the 2 professionals over tcp + CURVE with libespace (every
# write acknowledged; to patients who granted nothing: PERMISSION_DENIED);
# the connect scenario holds 20 authenticated connections and reports server
# memory. relay (messaging through the edge: the two devices of each patient
# in the conversation seed started) runs 8 devices at 20 messages/s for 2 s
# in both modes, e2e (X3DH + Double Ratchet) and opaque, and must report
# every message sent, stored (acked) and delivered exactly once, with the
# receiving devices' queue Acks; a relay whose messages cannot all arrive
# (patients without a conversation) fails its sends. With Prosody installed,
# relay --target xmpp (plain, then XEP-0198 acks) against a throwaway one
# delivers every message once, and exits 3 with messages lost when that
# server is stopped (SIGSTOP) mid-run. A bad accounts file and a closed port make
# espace-load fail.
# Behaviour, not speed: benchmarks live in test/bench/run.
# Needs ES_BIN (build folder); run by ctest as integration.load_smoke.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"

LOAD="$ES_BIN/clients/load/espace-load"
es_need "$ESPACE" "$LOAD"

es_up load-smoke
es_edge_port

step "seed 4 patients and 2 professionals, twice"
ACC=$ES_TMP/accounts
run "${ES_ADMIN[@]}" seed --patients 4 --pros 2 --pro-patients 2 --out "$ACC"
[[ $RC -eq 0 ]] || fail "seed: $OUT"
run "${ES_ADMIN[@]}" seed --patients 4 --pros 2 --pro-patients 2 --out "$ACC"
[[ $RC -eq 0 ]] || fail "second seed: $OUT"
[[ $(stat -c %a "$ACC") == 600 ]] || fail "accounts file mode $(stat -c %a "$ACC")"
[[ $(grep -c '^patient ' "$ACC") -eq 4 ]] || fail "accounts file: $(cat "$ACC")"
[[ $(grep -c '^pro [0-9]\{11\} [^ ]* [0-9a-f]\{32\},[0-9a-f]\{32\}$' "$ACC") -eq 2 ]] ||
  fail "pro lines: $(grep '^pro' "$ACC")"
[[ $(stat -c %a "$ACC.keys") == 700 && $(ls "$ACC.keys"/*.key | wc -l) -eq 2 ]] ||
  fail "keys folder: $(ls -l "$ACC.keys")"
[[ $(stat -c %a "$(ls "$ACC.keys"/*.key | head -1)") == 600 ]] || fail "key file mode"
[[ $("${ES_ADMIN[@]}" keys list | grep -c ' pro .*bench-') -eq 2 ]] || fail "pro keys not registered"
run "${ES_ADMIN[@]}" seed --patients 0 --out "$ACC.x"
[[ $RC -eq 2 ]] || fail "seed --patients 0 should be a usage error"
run "${ES_ADMIN[@]}" seed --patients 2 --pros 1 --pro-patients 3 --out "$ACC.x"
[[ $RC -eq 2 ]] || fail "seed --pro-patients over --patients should be a usage error"

# json_num FILE KEY...: the value at that path of the JSON file (jq).
json_num() {
  local f=$1 path=""
  shift
  for k in "$@"; do path+=".$k"; done
  jq -r "$path" "$f"
}

step "agenda: 8 connections, 40 writes/s, 3 s"
J=$ES_TMP/agenda.json
run timeout 60 "$LOAD" agenda --port "$EDGE_PORT" --accounts "$ACC" --conns 8 --rate 40 \
  --duration 3 --drain 3 --server-pid "$UP_PID" --json "$J" --quiet
[[ $RC -eq 0 ]] || fail "espace-load agenda exited $RC: $OUT"
echo "$OUT"
[[ $(json_num "$J" sent) -eq 120 ]] || fail "sent $(json_num "$J" sent), not 120"
[[ $(json_num "$J" delivered) -eq 120 ]] || fail "delivered $(json_num "$J" delivered)"
[[ $(json_num "$J" acked) -eq 120 ]] || fail "acked $(json_num "$J" acked)"
[[ $(json_num "$J" errors) -eq 0 ]] || fail "errors $(json_num "$J" errors)"
[[ $(json_num "$J" lost) -eq 0 ]] || fail "lost $(json_num "$J" lost)"
[[ $(json_num "$J" latency_us deliver count) -eq 120 ]] || fail "latency count"
[[ $(json_num "$J" latency_us deliver p99) -gt 0 ]] || fail "p99 is 0"
[[ $(json_num "$J" server cpu_us) -ge 0 ]] || fail "no server CPU"
[[ $(json_num "$J" server rss_kib) -gt 0 ]] || fail "no server RSS"

step "fanout: 12 connections of one patient, 5 writes/s, 2 s"
J=$ES_TMP/fanout.json
run timeout 60 "$LOAD" fanout --port "$EDGE_PORT" --accounts "$ACC" --conns 12 --rate 5 \
  --duration 2 --drain 3 --server-pid "$UP_PID" --json "$J" --quiet
[[ $RC -eq 0 ]] || fail "espace-load fanout exited $RC: $OUT"
echo "$OUT"
[[ $(json_num "$J" sent) -eq 10 ]] || fail "fanout sent $(json_num "$J" sent), not 10"
[[ $(json_num "$J" acked) -eq 10 ]] || fail "fanout acked $(json_num "$J" acked)"
[[ $(json_num "$J" deliveries_expected) -eq 120 ]] || fail "expected $(json_num "$J" deliveries_expected)"
[[ $(json_num "$J" delivered) -eq 120 ]] || fail "fanout delivered $(json_num "$J" delivered)"
[[ $(json_num "$J" errors) -eq 0 && $(json_num "$J" lost) -eq 0 ]] || fail "fanout errors or lost"
[[ $(json_num "$J" server cpu_ns_per_delivery) -gt 0 ]] || fail "no CPU per delivery"

step "pro: 2 professionals over tcp + CURVE, 20 writes/s, 2 s"
PRO_ARGS=(--broker "tcp://127.0.0.1:$REQ" --broker-key "$BROKER_KEY" --conns 2 --rate 20
  --duration 2 --drain 1 --quiet)
J=$ES_TMP/pro.json
run timeout 60 "$LOAD" pro --accounts "$ACC" "${PRO_ARGS[@]}" --server-pid "$UP_PID" --json "$J"
[[ $RC -eq 0 ]] || fail "espace-load pro exited $RC: $OUT"
echo "$OUT"
[[ $(json_num "$J" sent) -eq 40 ]] || fail "pro sent $(json_num "$J" sent), not 40"
[[ $(json_num "$J" acked) -eq 40 ]] || fail "pro acked $(json_num "$J" acked)"
[[ $(json_num "$J" errors) -eq 0 ]] || fail "pro errors $(json_num "$J" errors)"
[[ $(json_num "$J" conns auth_ok) -eq 2 ]] || fail "pro logins $(json_num "$J" conns auth_ok)"
[[ $(json_num "$J" latency_us ack count) -eq 40 ]] || fail "pro latency count"
# the first professional names patients who granted it nothing: consent refuses
cp -r "$ACC.keys" "$ES_TMP/swap.keys"
P1=$(grep '^pro ' "$ACC" | head -1 | cut -d' ' -f2)
P2PATIENTS=$(grep '^pro ' "$ACC" | sed -n 2p | cut -d' ' -f4)
grep '^patient ' "$ACC" >"$ES_TMP/swap"
echo "pro $P1 $(grep '^pro ' "$ACC" | head -1 | cut -d' ' -f3) $P2PATIENTS" >>"$ES_TMP/swap"
J=$ES_TMP/denied.json
run timeout 60 "$LOAD" pro --accounts "$ES_TMP/swap" "${PRO_ARGS[@]}" --json "$J"
[[ $RC -eq 0 ]] || fail "espace-load pro (no grant) exited $RC: $OUT"
[[ $(json_num "$J" acked) -eq 0 ]] || fail "writes without a grant were acknowledged"
[[ $(json_num "$J" error_detail PERMISSION_DENIED) -eq 40 ]] ||
  fail "no grant: $(jq -c .error_detail "$J")"

for mode in e2e opaque; do
  step "relay $mode: 8 devices (4 patients), 20 messages/s, 2 s"
  J=$ES_TMP/relay-$mode.json
  run timeout 60 "$LOAD" relay --mode "$mode" --port "$EDGE_PORT" --accounts "$ACC" --conns 8 \
    --rate 20 --duration 2 --drain 3 --server-pid "$UP_PID" --json "$J" --quiet
  [[ $RC -eq 0 ]] || fail "espace-load relay --mode $mode exited $RC: $OUT"
  echo "$OUT"
  [[ $(json_num "$J" mode) == "$mode" ]] || fail "mode $(json_num "$J" mode)"
  for k in sent acked delivered deliveries_expected; do
    [[ $(json_num "$J" $k) -eq 40 ]] || fail "relay $mode: $k $(json_num "$J" $k), not 40"
  done
  for k in lost duplicates undecryptable errors; do
    [[ $(json_num "$J" $k) -eq 0 ]] || fail "relay $mode: $k $(json_num "$J" $k)"
  done
  [[ $(json_num "$J" latency_us deliver count) -eq 40 ]] || fail "relay latency count"
  [[ $(json_num "$J" latency_us ack count) -eq 40 ]] || fail "relay ack latency count"
  [[ $(json_num "$J" device_acks) -gt 0 ]] || fail "relay $mode: no queue Ack"
  [[ $(json_num "$J" server cpu_us) -ge 0 ]] || fail "relay: no server CPU"
done
# the patients past the fourth have no conversation: their pairs never get
# ready, their messages fail, and the run says so
run "${ES_ADMIN[@]}" seed --patients 2 --first 100 --out "$ES_TMP/nomsg"
[[ $RC -eq 0 ]] || fail "seed without pros: $OUT"
J=$ES_TMP/relay-none.json
run timeout 60 "$LOAD" relay --mode opaque --port "$EDGE_PORT" --accounts "$ES_TMP/nomsg" \
  --conns 4 --rate 10 --duration 1 --drain 1 --json "$J" --quiet
[[ $RC -eq 0 ]] || fail "relay without conversations exited $RC: $OUT"
[[ $(json_num "$J" delivered) -eq 0 && $(json_num "$J" errors) -eq 10 ]] ||
  fail "relay without conversations: $(jq -c '{delivered, errors}' "$J")"

# the XMPP target against a throwaway Prosody (test/bench/prosody), when
# the bench's Prosody is installed (scripts/setup installs it)
if command -v prosody >/dev/null; then
  step "relay xmpp: 8 devices on Prosody, 20 messages/s, 2 s, plain and with XEP-0198 acks"
  mkdir -p "$ES_TMP/prosody"
  XHTTP=$(free_port); XC2S=$(free_port)
  bg "$ES_SRC/test/bench/prosody" "$ES_TMP/prosody" "$XHTTP" "$XC2S" 8 >"$ES_TMP/prosody.out" 2>&1
  wait_until 20 grep -q "Serving 'websocket'" "$ES_TMP/prosody/prosody.log" ||
    fail "prosody did not start: $(cat "$ES_TMP/prosody.out")"
  for qos in 0 1; do
    J=$ES_TMP/xmpp-$qos.json
    run timeout 60 "$LOAD" relay --target xmpp --qos "$qos" --port "$XHTTP" \
      --path /xmpp-websocket --conns 8 --rate 20 --duration 2 --drain 3 --json "$J" --quiet
    [[ $RC -eq 0 ]] || fail "espace-load relay --target xmpp --qos $qos exited $RC: $OUT"
    [[ $(json_num "$J" delivered) -eq 40 && $(json_num "$J" lost) -eq 0 &&
       $(json_num "$J" duplicates) -eq 0 && $(json_num "$J" errors) -eq 0 ]] ||
      fail "xmpp qos $qos: $(jq -c '{sent, delivered, lost, duplicates, errors}' "$J")"
    [[ $(json_num "$J" acked) -eq $((qos * 40)) ]] || fail "xmpp qos $qos: acked $(json_num "$J" acked)"
  done
  # a server that stops answering mid-run: messages are lost, espace-load exits 3
  XPID=$(cat "$ES_TMP/prosody/prosody.pid")
  J=$ES_TMP/xmpp-stopped.json
  "$LOAD" relay --target xmpp --port "$XHTTP" --path /xmpp-websocket --conns 8 --rate 20 \
    --duration 3 --drain 1 --json "$J" --quiet >"$ES_TMP/stopped.out" 2>&1 &
  LPID=$!
  sleep 1.5
  kill -STOP "$XPID"
  RC=0
  wait "$LPID" || RC=$?
  kill -CONT "$XPID"
  [[ $RC -eq 3 ]] || fail "messages lost: espace-load should exit 3, got $RC: $(cat "$ES_TMP/stopped.out")"
  [[ $(json_num "$J" lost) -gt 0 ]] || fail "lost $(json_num "$J" lost)"
else
  step "relay xmpp: skipped (no prosody; scripts/setup installs it)"
fi

step "connect: 20 authenticated connections"
J=$ES_TMP/connect.json
run timeout 60 "$LOAD" connect --port "$EDGE_PORT" --accounts "$ACC" --conns 20 --hold 1 \
  --server-pid "$UP_PID" --json "$J" --quiet --source 127.0.0.1
[[ $RC -eq 0 ]] || fail "espace-load connect exited $RC: $OUT"
[[ $(json_num "$J" connect peak_open) -eq 20 ]] || fail "peak_open $(json_num "$J" connect peak_open)"
[[ $(json_num "$J" conns auth_ok) -eq 20 ]] || fail "auth_ok $(json_num "$J" conns auth_ok)"

step "failures are reported"
echo "patient nothex" >"$ES_TMP/bad"
run "$LOAD" agenda --port "$EDGE_PORT" --accounts "$ES_TMP/bad" --conns 2 --quiet
[[ $RC -eq 1 ]] || fail "a malformed accounts file should exit 1, got $RC"
run "$LOAD" agenda --port "$EDGE_PORT" --conns 2
[[ $RC -eq 2 ]] || fail "no --accounts should be a usage error, got $RC"
# tokens that do not authenticate: every write fails, none is delivered
sed -E 's/^(patient [0-9a-f]{32} [0-9]{15} [^ ]+) .*/\1 bad-token bad-token/' "$ACC" >"$ES_TMP/badtok"
J=$ES_TMP/badtok.json
run timeout 60 "$LOAD" agenda --port "$EDGE_PORT" --accounts "$ES_TMP/badtok" --conns 2 \
  --rate 10 --duration 1 --drain 0 --json "$J" --quiet
[[ $RC -eq 0 ]] || fail "bad tokens run exited $RC: $OUT"
[[ $(json_num "$J" delivered) -eq 0 ]] || fail "delivered with bad tokens"
[[ $(json_num "$J" conns auth_failed) -eq 2 ]] || fail "auth_failed $(json_num "$J" conns auth_failed)"
[[ $(json_num "$J" errors) -ge 10 ]] || fail "errors $(json_num "$J" errors)"

es_up_stop
echo "PASS"
