#!/usr/bin/env bash
# dmp_cli.sh - end to end: `espace up` runs identity, consent and dmp; a
# patient (signed up with signup_load; the dmp_patient helper acts as the
# patient's app over ipc) and a professional with espace-pro: an upload
# without a grant is denied and audited; with a documents grant the
# professional uploads a report (several pieces), the patient's subscriber
# gets the live event and downloads the report with the same hash; dmp
# list, get (file and FHIR), replace (the old version listed as superseded);
# measure add (a range error with its precise message, a soft warning, the
# BMI derived) and list (raw, daily, FHIR Bundle); no clear content at rest.
# Needs ES_BIN (build folder); run by ctest as integration.dmp_cli.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"

HELPER="$ES_BIN/test/signup_load"
PATIENT_APP="$ES_BIN/test/dmp_patient"
es_need "$ESPACE" "$ESPACE_PRO" "$HELPER" "$PATIENT_APP"
es_up dmp-cli dmp
EVENTS="ipc://$ES_TMP/data/run/events-out.ipc"

step "patient sign-up; professional keygen, create-pro, login"
es_signup "$HELPER" 2850675000000
RPPS=10001234567
P1=$ES_TMP/pro1
es_pro "$P1" "$RPPS" cabinet1
PRO=("$ESPACE_PRO" --home "$P1")

# A report of ~300 KiB: three upload pieces.
head -c 230000 /dev/urandom | base64 >"$ES_TMP/cr.txt"
SUM=$(b2sum -l 256 "$ES_TMP/cr.txt" | cut -d' ' -f1)
SIZE=$(stat -c %s "$ES_TMP/cr.txt")

step "without a grant: denied, and in the patient's audit trail"
run "${PRO[@]}" dmp upload --patient "$INS" --file "$ES_TMP/cr.txt" --type 11488-4 \
  --title "Compte rendu de consultation" --mime text/plain
[[ $RC -eq 1 && $OUT == "error: PERMISSION_DENIED: "*"documents:write"* ]] ||
  fail "upload without grant: rc=$RC $OUT"
run "$PATIENT_APP" audit "$IPC" "$PATIENT"
[[ $RC -eq 0 && $OUT == "audit $RPPS documents write denied dmp" ]] || fail "audit: rc=$RC $OUT"
run "${PRO[@]}" dmp list --patient "$INS"
[[ $RC -eq 1 && $OUT == "error: PERMISSION_DENIED: "*"documents:read"* ]] ||
  fail "list without grant: rc=$RC $OUT"
run "$PATIENT_APP" audit "$IPC" "$PATIENT"
[[ $RC -eq 0 && $OUT == "audit $RPPS documents read denied dmp" ]] || fail "audit: rc=$RC $OUT"

step "grant; the patient's open app listens; the professional uploads a report"
run "$PATIENT_APP" grant "$IPC" "$PATIENT" "$RPPS" \
  "documents:read,documents:write,measures:read,measures:write"
[[ $RC -eq 0 && $OUT =~ ^granted\ [0-9a-f]{32}$ ]] || fail "grant: rc=$RC $OUT"
bg "$PATIENT_APP" watch "$EVENTS" "$PATIENT" 30 >"$ES_TMP/watch.out" 2>"$ES_TMP/watch.err"
WATCH_PID=${ES_PIDS[-1]}
wait_until 10 grep -q "^ready" "$ES_TMP/watch.out" || fail "watch not ready"
sleep 0.3 # the subscription reaches the broker's proxy
run "${PRO[@]}" dmp upload --patient "$INS" --file "$ES_TMP/cr.txt" --type 11488-4 \
  --title "Compte rendu de consultation" --mime text/plain
[[ $RC -eq 0 && $OUT =~ ^filed\ ([0-9a-f]{32})\ version\ 1\ size\ $SIZE\ hash\ $SUM$ ]] ||
  fail "upload: rc=$RC $OUT (want size $SIZE hash $SUM)"
DOC=${BASH_REMATCH[1]}
es_reap "$WATCH_PID" 100 || fail "no live event for the patient"
[[ $REAPED_RC -eq 0 ]] || fail "watch exited $REAPED_RC: $(cat "$ES_TMP/watch.err")"
grep -qx "event document-filed $DOC" "$ES_TMP/watch.out" ||
  fail "event: $(cat "$ES_TMP/watch.out")"

step "the patient downloads it: same bytes, same hash"
run "$PATIENT_APP" download "$IPC" "$PATIENT" "$DOC" "$ES_TMP/patient-cr.txt"
[[ $RC -eq 0 && $OUT == "saved $SIZE hash $SUM" ]] || fail "patient download: rc=$RC $OUT"
cmp -s "$ES_TMP/cr.txt" "$ES_TMP/patient-cr.txt" || fail "the patient's copy differs"

step "dmp list, get (file and FHIR)"
run "${PRO[@]}" dmp list --patient "$PATIENT"
[[ $RC -eq 0 && $OUT =~ ^$DOC\ \ [0-9-]+\ [0-9:]+\ [+-][0-9:]+\ \ 11488-4\ \ \ 10\ \ v1\ \ current\ +\ \ Compte\ rendu\ de\ consultation$ ]] ||
  fail "list: rc=$RC $OUT"
run "${PRO[@]}" dmp get --patient "$INS" --id "$DOC" --out "$ES_TMP/pro-cr.txt"
[[ $RC -eq 0 && $OUT == "saved $ES_TMP/pro-cr.txt size $SIZE hash $SUM" ]] || fail "get: rc=$RC $OUT"
cmp -s "$ES_TMP/cr.txt" "$ES_TMP/pro-cr.txt" || fail "the professional's copy differs"
[[ $(stat -c %a "$ES_TMP/pro-cr.txt") == 600 ]] || fail "download not 0600"
run "${PRO[@]}" dmp get --patient "$INS" --id "$DOC" --fhir
[[ $RC -eq 0 && $OUT == *'"resourceType":"DocumentReference"'* &&
   $OUT == *'"type":{"coding":[{"system":"http://loinc.org","code":"11488-4"'* &&
   $OUT == *'"category":[{"coding":[{"system":"https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument","code":"10"'* ]] ||
  fail "fhir: rc=$RC $OUT"

step "dmp replace: a new version, the old one superseded and still readable"
echo "Compte rendu corrigé $(date)" >"$ES_TMP/cr2.txt"
run "${PRO[@]}" dmp replace --patient "$INS" --id "$DOC" --file "$ES_TMP/cr2.txt"
[[ $RC -eq 0 && $OUT =~ ^replaced\ by\ ([0-9a-f]{32})\ version\ 2\  ]] || fail "replace: rc=$RC $OUT"
DOC2=${BASH_REMATCH[1]}
run "${PRO[@]}" dmp list --patient "$INS"
[[ $RC -eq 0 && $(grep -c "" <<<"$OUT") -eq 2 ]] || fail "list after replace: $OUT"
grep -q "^$DOC2 .* v2  current " <<<"$OUT" || fail "v2 not current: $OUT"
grep -q "^$DOC .* v1  superseded " <<<"$OUT" || fail "v1 not superseded: $OUT"
run "${PRO[@]}" dmp list --patient "$INS" --status superseded
[[ $RC -eq 0 && $(grep -c "" <<<"$OUT") -eq 1 && $OUT == "$DOC "* ]] || fail "list superseded: $OUT"
run "${PRO[@]}" dmp get --patient "$INS" --id "$DOC" --out "$ES_TMP/old.txt"
[[ $RC -eq 0 ]] && cmp -s "$ES_TMP/cr.txt" "$ES_TMP/old.txt" || fail "old version: rc=$RC $OUT"
run "${PRO[@]}" dmp upload --patient "$INS" --file "$ES_TMP/cr2.txt" --type 99999-9 --title x
[[ $RC -eq 1 && $OUT == "error: INVALID_ARGUMENT: not a DMP document type"*"document.type_code"* ]] ||
  fail "bad type: rc=$RC $OUT"

step "measure add: range error, soft warning, BMI derived"
run "${PRO[@]}" measure add --patient "$INS" --kind weight --value 700
[[ $RC -eq 1 && $OUT == "error: INVALID_ARGUMENT: weight must be > 0 and <= 650 kg"* ]] ||
  fail "weight out of range: rc=$RC $OUT"
run "${PRO[@]}" measure add --patient "$INS" --kind height --value 180 --at 2026-13-01
[[ $RC -eq 1 && $OUT == *"INVALID_ARGUMENT: --at: '2026-13-01' is not a time"*"(field at)" ]] ||
  fail "bad --at: rc=$RC $OUT"
run "${PRO[@]}" measure add --patient "$INS" --kind height --value 180 --at 2026-01-01T09:00
[[ $RC -eq 0 && $OUT =~ ^added\ [0-9a-f]{32}\ \ 2026-01-01\ 09:00\ \+01:00\ \ 180\ cm\ \ professional$ ]] ||
  fail "height: rc=$RC $OUT"
run "${PRO[@]}" measure add --patient "$INS" --kind weight --value 81 --at 2026-01-01T09:05
[[ $RC -eq 0 && $OUT == *"derived BMI  2026-01-01 09:05 +01:00  25 kg/m2  computed"* ]] ||
  fail "weight + BMI: rc=$RC $OUT"
run "${PRO[@]}" measure add --patient "$INS" --kind heart-rate --value 230 --at 2026-01-02T10:00
[[ $RC -eq 0 && $OUT == *"warning: heart rate 230 /min is above the usual 220 /min"* ]] ||
  fail "soft warning: rc=$RC $OUT"
run "${PRO[@]}" measure add --patient "$INS" --kind glucose --value 95
[[ $RC -eq 1 && $OUT == *"INVALID_ARGUMENT"*"moment"* ]] || fail "glucose without moment: rc=$RC $OUT"
run "${PRO[@]}" measure add --patient "$INS" --kind blood-pressure --systolic 125 --diastolic 80 \
  --at 2026-01-02T10:05
[[ $RC -eq 0 && $OUT == *"125/80 mm[Hg]"* ]] || fail "blood pressure: rc=$RC $OUT"

step "measure list: raw, daily, FHIR"
run "${PRO[@]}" measure list --patient "$INS" --kind bmi
[[ $RC -eq 0 && $OUT == "2026-01-01 09:05 +01:00  25 kg/m2  computed" ]] || fail "bmi list: rc=$RC $OUT"
run "${PRO[@]}" measure list --patient "$INS" --kind heart-rate --from 2025-12-01T00:00 \
  --to 2026-03-01T00:00
[[ $RC -eq 0 && $OUT == "2026-01-02  n=1  min=230  max=230  mean=230 /min" ]] ||
  fail "daily: rc=$RC $OUT"
run "${PRO[@]}" measure list --patient "$INS" --kind weight --fhir
[[ $RC -eq 0 && $OUT == '{"resourceType":"Bundle","type":"collection"'* &&
   $OUT == *'"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"'* &&
   $OUT == *'"valueQuantity":{"value":81,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}'* ]] ||
  fail "fhir bundle: rc=$RC $OUT"

step "no clear content at rest"
! grep -rqa "Compte rendu de consultation" "$ES_TMP/data" || fail "a title in clear at rest"
! grep -rqaF "$(head -c 40 "$ES_TMP/cr.txt")" "$ES_TMP/data" || fail "content in clear at rest"

es_up_stop
echo "PASS"
