#!/usr/bin/env bash
# msg_cli.sh - end to end: `espace up` runs identity, consent and messaging;
# a patient (signed up with signup_load; the msg_patient helper logs in as
# the patient's phone, publishes an es_e2e bundle, reads, answers) and a
# professional with espace-pro: msg keys (encrypted store, wrong passphrase
# refused), a send without grant refused, then with a messaging grant a text
# and an attachment (over 64 KiB: several secretstream chunks and upload
# pieces) that the patient's device decrypts; the patient's answers (text
# and attachment) arrive through msg watch (broker notices, then fetch);
# msg inbox, read, list, safety; a closed conversation refuses replies;
# no plaintext in the data folder.
# Needs ES_BIN (build folder); run by ctest as integration.msg_cli.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"

HELPER="$ES_BIN/test/signup_load"
PATIENT_APP="$ES_BIN/test/msg_patient"
es_need "$ESPACE" "$ESPACE_PRO" "$HELPER" "$PATIENT_APP"
es_up msg-cli messaging

step "patient sign-up; professional keygen, create-pro, login"
es_signup "$HELPER" 2850675000000
RPPS=10001234567
P1=$ES_TMP/pro1
es_pro "$P1" "$RPPS" cabinet1
PRO=("$ESPACE_PRO" --home "$P1")
export ESPACE_PRO_PASSPHRASE='pass phrase of the cabinet'

step "msg keys: a new device store, registered and published"
run "${PRO[@]}" msg keys
[[ $RC -eq 0 && $OUT =~ device\ ([0-9a-f]{32}) ]] || fail "msg keys: rc=$RC $OUT"
DEVICE=${BASH_REMATCH[1]}
[[ $OUT == *"published identity, 100 one-time prekeys on the server"* ]] || fail "msg keys: $OUT"
STORE=$P1/messaging-$DEVICE.store
[[ -f $STORE && $(stat -c %a "$STORE") == 600 ]] || fail "store missing or not 0600"
run "${PRO[@]}" msg keys
[[ $RC -eq 0 && $OUT == *"keys up to date"* ]] || fail "msg keys again: rc=$RC $OUT"
ESPACE_PRO_PASSPHRASE=wrong run "${PRO[@]}" msg inbox
[[ $RC -eq 1 && $OUT == "error: UNAUTHENTICATED: wrong passphrase for $STORE"* ]] ||
  fail "wrong passphrase: rc=$RC $OUT"
run env -u ESPACE_PRO_PASSPHRASE "${PRO[@]}" msg inbox </dev/null
[[ $RC -eq 1 && $OUT == *"no passphrase"* ]] || fail "no passphrase: rc=$RC $OUT"

step "the patient's phone: login, bundle published"
echo "compte rendu de consultation $(date)" >"$ES_TMP/reply.txt"
mkdir "$ES_TMP/phone"
bg "$PATIENT_APP" device "$IPC" "$INS" 2 60 "$ES_TMP/phone" "$ES_TMP/reply.txt" \
  >"$ES_TMP/phone.out" 2>"$ES_TMP/phone.err"
PHONE_PID=${ES_PIDS[-1]}
wait_until 10 grep -q "^ready " "$ES_TMP/phone.out" ||
  fail "phone not ready: $(cat "$ES_TMP/phone.err")"

step "without a grant: refused with a precise message"
run "${PRO[@]}" msg send --patient "$INS" --text "Bonjour"
[[ $RC -eq 1 && $OUT == "error: PERMISSION_DENIED: "*"messaging:write"* ]] ||
  fail "send without grant: rc=$RC $OUT"
run "${PRO[@]}" msg send --text "Bonjour"
[[ $RC -eq 2 && $OUT == *"missing --conversation or --patient"* ]] || fail "no target: rc=$RC $OUT"
run "${PRO[@]}" msg send --conversation nothex --text "Bonjour"
[[ $RC -eq 1 && $OUT == *"INVALID_ARGUMENT"*"(field --conversation)"* ]] ||
  fail "bad conversation id: rc=$RC $OUT"

step "grant, send a text and an attachment"
run "$PATIENT_APP" grant "$IPC" "$PATIENT" "$RPPS"
[[ $RC -eq 0 && $OUT =~ ^granted\ [0-9a-f]{32}$ ]] || fail "grant: rc=$RC $OUT"
TEXT="Bonjour, vos résultats d'analyse sont normaux."
run "${PRO[@]}" msg send --patient "$INS" --text "$TEXT"
[[ $RC -eq 0 && $OUT =~ new\ conversation\ ([0-9a-f]{32}) && $OUT == *"to 1 device"* ]] ||
  fail "send: rc=$RC $OUT"
CONV=${BASH_REMATCH[1]}
run "${PRO[@]}" msg list
[[ $RC -eq 0 && $OUT == "$CONV  "*"  $PATIENT  open  1 professional" ]] || fail "list: rc=$RC $OUT"
head -c 150000 /dev/urandom | base64 >"$ES_TMP/bilan.txt"
run "${PRO[@]}" msg attach --conversation "$CONV" --file "$ES_TMP/bilan.txt" --text "Le bilan"
[[ $RC -eq 0 && $OUT == "sent "*" to 1 device" ]] || fail "attach: rc=$RC $OUT"

step "msg watch gets the patient's answers live"
bg "${PRO[@]}" msg watch --count 2 --seconds 40 --out "$ES_TMP/received" \
  >"$ES_TMP/watch.out" 2>"$ES_TMP/watch.err"
WATCH_PID=${ES_PIDS[-1]}
es_reap "$PHONE_PID" 400 || fail "the phone is still running"
[[ $REAPED_RC -eq 0 ]] || fail "phone exited $REAPED_RC: $(cat "$ES_TMP/phone.err")"
grep -qx "message $TEXT" "$ES_TMP/phone.out" || fail "phone output: $(cat "$ES_TMP/phone.out")"
grep -qx "message Le bilan" "$ES_TMP/phone.out" || fail "phone output: $(cat "$ES_TMP/phone.out")"
grep -qx "attachment bilan.txt $(stat -c %s "$ES_TMP/bilan.txt")" "$ES_TMP/phone.out" ||
  fail "phone attachment: $(cat "$ES_TMP/phone.out")"
cmp -s "$ES_TMP/bilan.txt" "$ES_TMP/phone/bilan.txt" || fail "the attachment differs"
grep -qx "replied" "$ES_TMP/phone.out" || fail "phone did not reply"
es_reap "$WATCH_PID" 300 || fail "watch still running after the answers"
[[ $REAPED_RC -eq 0 ]] || fail "watch exited $REAPED_RC: $(cat "$ES_TMP/watch.err")"
grep -q "^watching pro.$RPPS.device.$DEVICE.messaging" "$ES_TMP/watch.err" ||
  fail "watch topic: $(cat "$ES_TMP/watch.err")"
grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} \+0[12]:00  $CONV  patient:$PATIENT  Merci docteur, bien reçu$" \
  "$ES_TMP/watch.out" || fail "watch output: $(cat "$ES_TMP/watch.out")"
grep -q "^  attachment reply.txt -> $ES_TMP/received/[0-9a-f]\{32\}-reply.txt$" "$ES_TMP/watch.out" ||
  fail "watch attachment: $(cat "$ES_TMP/watch.out")"
cmp -s "$ES_TMP/reply.txt" "$ES_TMP"/received/*-reply.txt || fail "the answer's attachment differs"
[[ $(stat -c %a "$ES_TMP"/received/*-reply.txt) == 600 ]] || fail "attachment not 0600"

step "msg inbox: receipts only; msg read: the thread"
run "${PRO[@]}" msg inbox
[[ $RC -eq 0 && ( $OUT == "no new messages" || $OUT == *"receipt "*"received by patient:$PATIENT"* ) ]] ||
  fail "inbox: rc=$RC $OUT"
run "${PRO[@]}" msg read --conversation "$CONV"
[[ $RC -eq 0 && $(grep -c "" <<<"$OUT") -eq 6 ]] || fail "read: rc=$RC $OUT"
[[ $OUT == *"> rpps:$RPPS  $TEXT"* && $OUT == *"patient:$PATIENT  Merci docteur, bien reçu"* &&
   $OUT == *"attachment bilan.txt ("*" bytes)"* ]] || fail "read content: $OUT"

step "msg safety: one number per patient device"
run "${PRO[@]}" msg safety --conversation "$CONV"
[[ $RC -eq 0 && $OUT =~ ^patient:$PATIENT\ \ device\ [0-9a-f]{32}\ \ ([0-9]{5}\ ){11}[0-9]{5}$ ]] ||
  fail "safety: rc=$RC $OUT"

step "closed: no more replies"
run "${PRO[@]}" msg close --conversation "$CONV"
[[ $RC -eq 0 && $OUT == "closed $CONV" ]] || fail "close: rc=$RC $OUT"
run "${PRO[@]}" msg send --conversation "$CONV" --text "Encore un mot"
[[ $RC -eq 1 && $OUT == "error: FAILED_PRECONDITION: the conversation is closed"* ]] ||
  fail "send after close: rc=$RC $OUT"

step "no plaintext at rest"
! grep -rq "résultats d'analyse" "$ES_TMP/data" "$P1" || fail "plaintext in the data folder"
! grep -rq "Merci docteur" "$ES_TMP/data" "$P1" || fail "plaintext of the answer at rest"

es_up_stop
echo "PASS"
