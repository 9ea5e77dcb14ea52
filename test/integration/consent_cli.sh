#!/usr/bin/env bash
# consent_cli.sh - end to end: `espace up` runs the consent service; the
# operator manages the catalogue (`espace admin catalogue ...`) and verifies
# the audit chains (`espace admin audit verify`); a professional requests
# access, lists their grants and declares an emergency with espace-pro.
# Needs ES_BIN (build folder); run by ctest as integration.consent_cli.
set -euo pipefail
ES_BIN=${ES_BIN:?ES_BIN must name the build folder}
. "$(dirname "$0")/lib.sh"

HELPER="$ES_BIN/test/signup_load"
es_need "$ESPACE" "$ESPACE_PRO" "$HELPER"
es_up consent-cli consent
A=("${ES_ADMIN[@]}")

step "professional: keygen, keys add, create-pro"
PHOME=$ES_TMP/pro
RPPS=10001234567
es_pro_setup "$PHOME" "$RPPS" cabinet

step "catalogue add, list, show"
APP_KEY=$("${A[@]}" keys gen --out "$ES_TMP/app.key")
ADD=("${A[@]}" catalogue add --id suivi-tension --name "Suivi tension"
  --publisher "Exemple SAS" --description-fr "Suit votre tension artérielle."
  --purpose prevention,suivi_social_medicosocial --scope measures:read:8480-6+8462-4,agenda:write
  --public "$APP_KEY" --terms https://exemple.fr/cgu --privacy https://exemple.fr/vie-privee)
run "${ADD[@]}" --hds
[[ $RC -eq 0 && $OUT == "added app suivi-tension" ]] || fail "catalogue add: rc=$RC $OUT"
run "${ADD[@]}"
[[ $RC -eq 1 && $OUT == *"error: ALREADY_EXISTS"*"(field app.id)"* ]] ||
  fail "duplicate app: rc=$RC $OUT"
run "${A[@]}" catalogue list
[[ $RC -eq 0 && $OUT == *suivi-tension*"Suivi tension"*prevention,suivi_social_medicosocial* ]] ||
  fail "catalogue list: rc=$RC $OUT"
[[ $OUT == *"measures:read:8480-6+8462-4,agenda:write"* ]] || fail "list scopes: $OUT"
run "${A[@]}" catalogue show --id suivi-tension
[[ $RC -eq 0 ]] || fail "catalogue show: rc=$RC $OUT"
grep -q "^publisher *Exemple SAS$" <<<"$OUT" || fail "show publisher: $OUT"
grep -q "^hds *yes$" <<<"$OUT" || fail "show hds: $OUT"
grep -qF -- "$APP_KEY" <<<"$OUT" || fail "show key: $OUT"
grep -q "^status *listed$" <<<"$OUT" || fail "show status: $OUT"

step "bad catalogue adds: clear errors, exit 1 (2 for usage)"
run "${A[@]}" catalogue add --id x-app --name X --publisher P --description-fr D \
  --purpose marketing --scope agenda:read --public "$APP_KEY" \
  --terms https://x.fr/t --privacy https://x.fr/p
[[ $RC -eq 1 && $OUT == *"error: INVALID_ARGUMENT: unknown purpose 'marketing'"*"(field purpose)"* ]] ||
  fail "unknown purpose: rc=$RC $OUT"
run "${A[@]}" catalogue add --id x-app --name X --publisher P --description-fr D \
  --purpose soins --scope photos:read --public "$APP_KEY" \
  --terms https://x.fr/t --privacy https://x.fr/p
[[ $RC -eq 1 && $OUT == *"unknown category 'photos'"*"(field scope)"* ]] ||
  fail "unknown scope: rc=$RC $OUT"
run "${A[@]}" catalogue add --id x-app --name X --publisher P --description-fr D \
  --purpose soins --scope agenda:read --public "$APP_KEY" \
  --terms http://x.fr/t --privacy https://x.fr/p
[[ $RC -eq 1 && $OUT == *"error: INVALID_ARGUMENT"*"(field app.terms_url)"* ]] ||
  fail "service-side validation: rc=$RC $OUT"
run "${A[@]}" catalogue add --id x-app --name X
[[ $RC -eq 2 && $OUT == "error: catalogue add: missing --publisher"* ]] ||
  fail "usage error: rc=$RC $OUT"
run "${A[@]}" catalogue list --bogus
[[ $RC -eq 2 && $OUT == "error: catalogue list: unknown option --bogus"* ]] ||
  fail "unknown option: rc=$RC $OUT"
run "${A[@]}" catalogue show --id no-such-app
[[ $RC -eq 1 && $OUT == *"error: NOT_FOUND"* ]] || fail "show unknown: rc=$RC $OUT"

step "professional: login, access request, access status, emergency"
# consent knows only activated patients (docs/consent.md): a random id is NOT_FOUND
GHOST=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
es_signup "$HELPER" 1850675000000
es_pro_login "$PHOME" "$RPPS"
run "$ESPACE_PRO" --home "$PHOME" access status
[[ $RC -eq 0 && $OUT == "no grants or requests" ]] || fail "empty status: rc=$RC $OUT"
run "$ESPACE_PRO" --home "$PHOME" access request --patient "$GHOST" \
  --scope documents:read --purpose soins --days 30 --reason x
[[ $RC -eq 1 && $OUT == *"error: NOT_FOUND"* ]] || fail "unknown patient: rc=$RC $OUT"
run "$ESPACE_PRO" --home "$PHOME" access request --patient "$PATIENT" \
  --scope documents:read,measures:read:29463-7 --purpose soins --days 30 \
  --reason "Suivi post-opératoire"
[[ $RC -eq 0 && $OUT == "requested access "*": proposed until the patient answers" ]] ||
  fail "access request: rc=$RC $OUT"
run "$ESPACE_PRO" --home "$PHOME" access request --patient "$PATIENT" \
  --scope documents:read --purpose soins --days 30 --reason "encore"
[[ $RC -eq 1 && $OUT == *"error: ALREADY_EXISTS"* ]] || fail "second request: rc=$RC $OUT"
run "$ESPACE_PRO" --home "$PHOME" access request --patient "$PATIENT" \
  --scope documents:read --purpose cosmetics --days 30 --reason x
[[ $RC -eq 1 && $OUT == *"unknown purpose 'cosmetics'"* ]] || fail "bad purpose: rc=$RC $OUT"
run "$ESPACE_PRO" --home "$PHOME" access request --patient "$PATIENT" --scope documents:read
[[ $RC -eq 2 ]] || fail "incomplete request gave rc=$RC"
run "$ESPACE_PRO" --home "$PHOME" access status --patient "$PATIENT"
[[ $RC -eq 0 ]] || fail "access status: rc=$RC $OUT"
[[ $(wc -l <<<"$OUT") -eq 1 ]] || fail "one grant expected: $OUT"
grep -Eq "^[0-9a-f]{32}  $PATIENT  documents:read,measures:read:29463-7  proposed  [0-9: +-]+\.\.[0-9: +-]+$" \
  <<<"$OUT" || fail "status line: $OUT"
run "$ESPACE_PRO" --home "$PHOME" emergency --patient "$PATIENT" --reason "Patient inconscient"
[[ $RC -eq 0 && $OUT == "emergency access to patient $PATIENT until "*":00 (id "*")"* ]] ||
  fail "emergency: rc=$RC $OUT"
run "$ESPACE_PRO" --home "$PHOME" emergency --patient "$PATIENT" --reason ""
[[ $RC -eq 1 && $OUT == *"error: INVALID_ARGUMENT"*reason* ]] || fail "empty reason: rc=$RC $OUT"

step "audit verify"
run "${A[@]}" audit verify
[[ $RC -eq 0 && $OUT == "audit ok: 1 entry in 1 chain" ]] || fail "audit verify: rc=$RC $OUT"
run "${A[@]}" audit verify --patient "$PATIENT"
[[ $RC -eq 0 && $OUT == "audit ok: 1 entry in 1 chain" ]] || fail "audit verify one: rc=$RC $OUT"
run "${A[@]}" audit check
[[ $RC -eq 2 ]] || fail "audit usage error gave rc=$RC"

step "catalogue withdraw, list again"
run "${A[@]}" catalogue withdraw --id suivi-tension
[[ $RC -eq 0 && $OUT == "withdrew app suivi-tension" ]] || fail "withdraw: rc=$RC $OUT"
run "${A[@]}" catalogue withdraw --id suivi-tension
[[ $RC -eq 1 && $OUT == *"error: FAILED_PRECONDITION"* ]] || fail "withdraw twice: rc=$RC $OUT"
run "${A[@]}" catalogue list
[[ $RC -eq 0 && $OUT != *suivi-tension* ]] || fail "withdrawn app still listed: rc=$RC $OUT"
run "${A[@]}" catalogue list --all
[[ $RC -eq 0 && $OUT == *suivi-tension*"(withdrawn)"* ]] || fail "list --all: rc=$RC $OUT"

step "SIGTERM: clean exit within 5 s"
es_up_stop
echo "PASS"
