#!/usr/bin/env bash
# agenda_cli.sh - end to end: `espace up` runs identity, consent and agenda;
# a patient (signed up and granting agenda:read+write with the signup_load
# helper) and two professionals; with espace-pro the granted professional
# creates, lists, updates (a stale update is ABORTED), watches live changes
# (SUBSCRIBE through the broker; the notice has no content, watch reads the
# event with Get) and cancels; the other one is denied; once the patient
# revokes the grant, a change made by the patient shows in watch as
# "(no access)" without its content; the audit chains verify.
# Needs ES_BIN (build folder); run by ctest as integration.agenda_cli.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"

HELPER="$ES_BIN/test/signup_load"
es_need "$ESPACE" "$ESPACE_PRO" "$HELPER"
es_up agenda-cli agenda
A=("${ES_ADMIN[@]}")

step "patient: sign-up, agenda grant to the first professional"
es_signup "$HELPER" 1850675000000 # sex, year, month, dept, commune, order
RPPS=10001234567
RPPS2=10007654321
run "$HELPER" grant "$IPC" "$PATIENT" "$RPPS"
[[ $RC -eq 0 && $OUT =~ ^granted\ ([0-9a-f]{32})$ ]] || fail "grant: rc=$RC $OUT"
GRANT=${BASH_REMATCH[1]}

step "professionals: keygen, keys add, create-pro, login"
P1=$ES_TMP/pro1
P2=$ES_TMP/pro2
es_pro "$P1" "$RPPS" cabinet1
es_pro "$P2" "$RPPS2" cabinet2
PRO=("$ESPACE_PRO" --home "$P1")
PRO2=("$ESPACE_PRO" --home "$P2")

DAY=$(date -u -d '+10 days' +%Y-%m-%d)
step "agenda create (by INS), list (by id)"
run "${PRO[@]}" agenda create --patient "$INS" --kind rdv --title "Consultation de suivi" \
  --start "${DAY}T09:30" --end "${DAY}T10:00" --location "Cabinet, 3 rue de la Paix" \
  --reminder 60 --reminder 1440
[[ $RC -eq 0 && $OUT =~ ^created\ ([0-9a-f]{32})\ version\ 1$ ]] || fail "create: rc=$RC $OUT"
EVENT=${BASH_REMATCH[1]}
run "${PRO[@]}" agenda list --patient "$PATIENT"
[[ $RC -eq 0 && $OUT == "$EVENT  $DAY 09:30 +0"?":00  rdv  booked  Consultation de suivi" ]] ||
  fail "list: rc=$RC $OUT"
run "${PRO[@]}" agenda list --patient "$INS" --from "${DAY}T10:00" --to "${DAY}T12:00"
[[ $RC -eq 0 && $OUT == "no events" ]] || fail "list after the event: rc=$RC $OUT"
run "${PRO[@]}" agenda list --patient "$INS" --from "${DAY}T08:29Z" --to "${DAY}T08:31Z"
[[ $RC -eq 0 && $OUT == "$EVENT  "* ]] || fail "list in UTC: rc=$RC $OUT"

step "bad arguments: clear errors"
run "${PRO[@]}" agenda create --patient "$INS" --kind party --title x --start "${DAY}T09:30" \
  --end "${DAY}T10:00"
[[ $RC -eq 1 && $OUT == *"unknown kind 'party'"* ]] || fail "bad kind: rc=$RC $OUT"
run "${PRO[@]}" agenda create --patient "$INS" --kind rdv --title x --start "${DAY}T10:30" \
  --end "${DAY}T10:00"
[[ $RC -eq 1 && $OUT == *"error: INVALID_ARGUMENT"*"end_ms"* ]] || fail "end before start: rc=$RC $OUT"
run "${PRO[@]}" agenda create --patient "$INS" --kind rdv --title x --start "${DAY} 9h30" \
  --end "${DAY}T10:00"
[[ $RC -eq 1 && $OUT == *"INVALID_ARGUMENT: --start: '${DAY} 9h30' is not a time"*"(field start)" ]] ||
  fail "bad time: rc=$RC $OUT"
run "${PRO[@]}" agenda create --patient "$INS" --kind rdv --title x --start "${DAY}T09:30" \
  --end "${DAY}T25:00"
[[ $RC -eq 1 && $OUT == *"INVALID_ARGUMENT: --end: '${DAY}T25:00' is not a time"*"(field end)" ]] ||
  fail "bad end time: rc=$RC $OUT"
run "${PRO[@]}" agenda list --patient "$INS" --from "${DAY}" --to "${DAY}T23:59+01:00"
[[ $RC -eq 0 && $OUT == "$EVENT  "* ]] || fail "list, a date alone and an offset: rc=$RC $OUT"
run "${PRO[@]}" agenda list --patient 123456789012345
[[ $RC -eq 1 && $OUT == *"error: INVALID_ARGUMENT"*"(field ins)"* ]] || fail "bad INS: rc=$RC $OUT"
NOBODY=$((BODY + 1))
run "${PRO[@]}" agenda list --patient "$NOBODY$(printf %02d $((97 - NOBODY % 97)))"
[[ $RC -eq 1 && $OUT == *"error: NOT_FOUND"* ]] || fail "unknown INS: rc=$RC $OUT"
run "${PRO[@]}" agenda list
[[ $RC -eq 2 ]] || fail "list without --patient gave rc=$RC"
run "${PRO[@]}" agenda create --patient "$INS" --kind rdv --title x --start "${DAY}T09:30"
[[ $RC -eq 2 && $OUT == "error: agenda create: missing --end"* ]] || fail "missing --end: rc=$RC $OUT"
run "${PRO[@]}" agenda list --patient "$INS" --bogus 1
[[ $RC -eq 2 && $OUT == "error: agenda list: unknown option --bogus"* ]] ||
  fail "unknown option: rc=$RC $OUT"
run "${PRO[@]}" agenda create --patient "$INS" --kind tache --title x --start "${DAY} 9h30" \
  --end "${DAY}T10:00"
[[ $RC -eq 1 && $OUT == *"--start"* ]] || fail "kind tache (alias of tache-sante): rc=$RC $OUT"
run "${PRO[@]}" agenda move --patient "$INS"
[[ $RC -eq 2 && $OUT == "error: agenda: unknown command 'move'"$'\n'"see: espace-pro agenda --help" ]] ||
  fail "unknown agenda command: rc=$RC $OUT"
run "${PRO[@]}" agenda --patient "$INS"
[[ $RC -eq 2 && $OUT == "error: agenda: needs list, create, update, cancel or watch"* ]] ||
  fail "agenda without a command: rc=$RC $OUT"

step "agenda watch sees an update live"
bg "${PRO[@]}" agenda watch --patient "$INS" --count 1 --seconds 20 \
  >"$ES_TMP/watch.out" 2>"$ES_TMP/watch.err"
WATCH_PID=${ES_PIDS[-1]}
wait_until 10 grep -q "^watching pro.$RPPS.agenda" "$ES_TMP/watch.err" ||
  fail "watch did not start: $(cat "$ES_TMP/watch.err")"
sleep 0.3 # the subscription travels on to the agenda's publisher
run "${PRO[@]}" agenda update --patient "$INS" --id "$EVENT" --version 1 \
  --title "Consultation déplacée" --start "${DAY}T11:00"
[[ $RC -eq 0 && $OUT == "updated $EVENT version 2" ]] || fail "update: rc=$RC $OUT"
es_reap "$WATCH_PID" 100 || fail "watch still running after its change"
[[ $REAPED_RC -eq 0 ]] || fail "watch exited $REAPED_RC: $(cat "$ES_TMP/watch.err")"
grep -Eq "^[0-9]+  updated  $EVENT  $DAY 11:00 \+0[12]:00  Consultation déplacée  by Claire Martin$" \
  "$ES_TMP/watch.out" ||
  fail "watch output: $(cat "$ES_TMP/watch.out")"
run "${PRO[@]}" agenda list --patient "$PATIENT"
[[ $OUT == "$EVENT  $DAY 11:00 +0"?":00  rdv  booked  Consultation déplacée" ]] ||
  fail "list after update (duration kept): $OUT"

step "a stale update is ABORTED"
run "${PRO[@]}" agenda update --patient "$INS" --id "$EVENT" --version 1 --title "Trop tard"
[[ $RC -eq 1 && $OUT == "error: ABORTED: "* ]] || fail "stale update: rc=$RC $OUT"
run "${PRO[@]}" agenda update --patient "$INS" --id "$EVENT" --version 2 --status proposed
[[ $RC -eq 1 && $OUT == *"error: FAILED_PRECONDITION"* ]] || fail "booked->proposed: rc=$RC $OUT"

step "watch with --seconds ends on its own; an unrelated patient filter sees nothing"
OTHER=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
run "${PRO[@]}" agenda watch --patient "$OTHER" --seconds 1
[[ $RC -eq 0 && $OUT == "watching pro.$RPPS.agenda for patient $OTHER" ]] ||
  fail "watch --seconds: rc=$RC $OUT"

step "agenda cancel"
run "${PRO[@]}" agenda cancel --patient "$INS" --id "$EVENT" --version 1 --reason "Patient absent"
[[ $RC -eq 1 && $OUT == "error: ABORTED: "* ]] || fail "stale cancel: rc=$RC $OUT"
bg "${PRO[@]}" agenda watch --patient "$INS" --count 1 --seconds 20 \
  >"$ES_TMP/watch3.out" 2>"$ES_TMP/watch3.err"
WATCH_PID=${ES_PIDS[-1]}
wait_until 10 grep -q "^watching pro.$RPPS.agenda" "$ES_TMP/watch3.err" ||
  fail "watch 3 did not start: $(cat "$ES_TMP/watch3.err")"
sleep 0.3 # the subscription travels on to the agenda's publisher
run "${PRO[@]}" agenda cancel --patient "$INS" --id "$EVENT" --version 2 --reason "Patient absent"
[[ $RC -eq 0 && $OUT == "cancelled $EVENT version 3" ]] || fail "cancel: rc=$RC $OUT"
es_reap "$WATCH_PID" 100 || fail "watch 3 still running after its change"
grep -Eq "^[0-9]+  cancelled  $EVENT  .*  by Claire Martin  reason: Patient absent$" \
  "$ES_TMP/watch3.out" || fail "watch of a cancellation: $(cat "$ES_TMP/watch3.out")"
run "${PRO[@]}" agenda list --patient "$PATIENT"
[[ $OUT == "$EVENT  $DAY 11:00 +0"?":00  rdv  cancelled  Consultation déplacée" ]] ||
  fail "list after cancel: $OUT"

step "a professional without a grant is denied"
run "${PRO2[@]}" agenda create --patient "$INS" --kind rdv --title "Intrusion" \
  --start "${DAY}T09:30" --end "${DAY}T10:00"
[[ $RC -eq 1 && $OUT == "error: PERMISSION_DENIED"* ]] || fail "create without grant: rc=$RC $OUT"
run "${PRO2[@]}" agenda list --patient "$PATIENT"
[[ $RC -eq 1 && $OUT == "error: PERMISSION_DENIED"* ]] || fail "list without grant: rc=$RC $OUT"
run "${PRO2[@]}" agenda watch --seconds 1
[[ $RC -eq 0 && $OUT == "watching pro.$RPPS2.agenda" ]] || fail "watch of pro2: rc=$RC $OUT"

step "grant revoked: the watch gets a notice but no content (Get refused)"
run "${PRO[@]}" agenda create --patient "$INS" --kind rdv --title "Bilan confidentiel" \
  --start "${DAY}T14:00" --end "${DAY}T14:30" --description "Sérologie"
[[ $RC -eq 0 && $OUT =~ ^created\ ([0-9a-f]{32})\ version\ 1$ ]] || fail "create 2: rc=$RC $OUT"
EVENT2=${BASH_REMATCH[1]}
run "$HELPER" revoke "$IPC" "$PATIENT" "$GRANT"
[[ $RC -eq 0 && $OUT == "revoked $GRANT" ]] || fail "revoke: rc=$RC $OUT"
run "${PRO[@]}" agenda list --patient "$PATIENT"
[[ $RC -eq 1 && $OUT == "error: PERMISSION_DENIED"* ]] || fail "list after revoke: rc=$RC $OUT"
bg "${PRO[@]}" agenda watch --count 1 --seconds 20 \
  >"$ES_TMP/watch2.out" 2>"$ES_TMP/watch2.err"
WATCH_PID=${ES_PIDS[-1]}
wait_until 10 grep -q "^watching pro.$RPPS.agenda" "$ES_TMP/watch2.err" ||
  fail "watch 2 did not start: $(cat "$ES_TMP/watch2.err")"
sleep 0.3 # the subscription travels on to the agenda's publisher
# the professional can no longer write: the patient cancels (the professional
# is still a participant, so the notice reaches pro.<rpps>.agenda)
run "$HELPER" cancel "$IPC" "$PATIENT" "$EVENT2" "Annulé par le patient"
[[ $RC -eq 0 && $OUT == "cancelled $EVENT2 version 2" ]] || fail "patient cancel: rc=$RC $OUT"
es_reap "$WATCH_PID" 100 || fail "watch 2 still running after its change"
[[ $REAPED_RC -eq 0 ]] || fail "watch 2 exited $REAPED_RC: $(cat "$ES_TMP/watch2.err")"
grep -Eq "^[0-9]+  cancelled  $EVENT2  \(no access\)$" "$ES_TMP/watch2.out" ||
  fail "watch 2 output: $(cat "$ES_TMP/watch2.out")"
! grep -Eq "Bilan|Sérologie|14:00|Annulé" "$ES_TMP/watch2.out" ||
  fail "watch 2 shows content after revocation: $(cat "$ES_TMP/watch2.out")"

step "the operator finds the patient id of an INS, for audit verify"
run "${A[@]}" patient resolve --ins "$INS"
[[ $RC -eq 0 && $OUT == "$PATIENT" ]] || fail "patient resolve: rc=$RC $OUT"
run "${A[@]}" patient resolve --ins "$NOBODY$(printf %02d $((97 - NOBODY % 97)))"
[[ $RC -eq 1 && $OUT == "error: NOT_FOUND"*"(field ins)" ]] || fail "resolve unknown INS: rc=$RC $OUT"
run "${A[@]}" patient resolve
[[ $RC -eq 2 && $OUT == "error: patient resolve: missing --ins"* ]] || fail "resolve usage: rc=$RC $OUT"

step "audit verify"
run "${A[@]}" audit verify
[[ $RC -eq 0 && $OUT == "audit ok: "* ]] || fail "audit verify: rc=$RC $OUT"
run "${A[@]}" audit verify --patient "$PATIENT"
[[ $RC -eq 0 && $OUT =~ ^audit\ ok:\ ([0-9]+)\ entries ]] || fail "audit verify one: rc=$RC $OUT"
[[ ${BASH_REMATCH[1]} -ge 2 ]] || fail "the denied accesses are not audited: $OUT"

step "logout ends the session: watch is refused"
"${PRO[@]}" logout | grep -q "logged out" || fail "logout"
run "${PRO[@]}" agenda watch --seconds 1
[[ $RC -eq 1 && $OUT == *"UNAUTHENTICATED"* ]] || fail "watch after logout: rc=$RC $OUT"

step "SIGTERM: clean exit within 5 s"
es_up_stop
echo "PASS"
