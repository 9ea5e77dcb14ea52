# Shared helpers for the integration tests, sourced by each test script
# (test/CMakeLists.txt does not register this file as a test).
# Needs ES_BIN (build folder) and ES_SRC (source folder) in the environment.

ESPACE="$ES_BIN/espace/espace"
ESPACE_PRO="$ES_BIN/clients/pro/espace-pro"

# A TCP port on 127.0.0.1 that nothing listens on (random, bounded tries).
free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000)) # below the kernel's ephemeral range (32768+)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_until SECONDS CMD...: retry CMD every 0.1 s until it succeeds or time runs out.
wait_until() {
  local deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# Processes started with bg are killed when the test exits, whatever happens.
ES_PIDS=()
bg() { "$@" & ES_PIDS+=($!); }
es_cleanup() {
  local rc=$? p
  set +e
  for p in "${ES_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  done
  [ -n "${ES_TMP:-}" ] && rm -rf "$ES_TMP"
  exit "$rc"
}
trap es_cleanup EXIT
trap "exit 143" TERM INT

# fail MSG: says MSG, with the end of the `espace up` log when there is one, and exits 1.
fail() {
  echo "FAIL: $*" >&2
  if [[ -n ${ES_TMP:-} && -f $ES_TMP/up.log ]]; then
    { echo "---- espace up log ----"; tail -n 50 "$ES_TMP/up.log"; } >&2
  fi
  exit 1
}
step() { echo "== $*"; }

# run CMD...: sets OUT (stdout and stderr) and RC without tripping set -e.
run() {
  set +e
  OUT=$("$@" 2>&1)
  RC=$?
  set -e
}

# es_ports: sets REQ, PUB and SUB to three distinct free ports.
es_ports() {
  REQ=$(free_port) || fail "no free port"
  PUB=$(free_port) || fail "no free port"
  SUB=$(free_port) || fail "no free port"
  [[ $REQ != "$PUB" && $PUB != "$SUB" && $REQ != "$SUB" ]] || fail "port clash, rerun"
}

# es_conf FILE [LINE...]: picks the ports (es_ports) and writes the config FILE:
# data in $ES_TMP/data, those ports, no edge, 200 ms heartbeats, then each LINE.
es_conf() {
  local file=$1 line
  shift
  es_ports
  {
    echo "data_dir = $ES_TMP/data"
    echo "req_port = $REQ"
    echo "pub_port = $PUB"
    echo "sub_port = $SUB"
    echo "edge_port = 0"
    echo "heartbeat_ms = 200"
    for line in "$@"; do echo "$line"; done
  } >"$file"
}

# es_need FILE...: exits 1 ("missing FILE") unless each FILE is executable.
es_need() {
  local b
  for b in "$@"; do
    [[ -x $b ]] || { echo "missing $b"; exit 1; }
  done
}

# es_up NAME [PART]: a new ES_TMP (/tmp/es-NAME.XXXXXX), its config CONF
# (es_conf, no_sync), ESPACE_PWHASH=min exported and IPC the bus's ipc
# endpoint; then `espace --config $CONF up` (es_up_start), whose summary must
# list PART when given.
es_up() {
  ES_TMP=$(mktemp -d "/tmp/es-$1.XXXXXX")
  CONF=$ES_TMP/espace.conf
  es_conf "$CONF" "no_sync = true"
  export ESPACE_PWHASH=min
  IPC="ipc://$ES_TMP/data/run/bus.ipc"
  step "espace up (ports $REQ $PUB $SUB)"
  es_up_start --config "$CONF"
  if [[ -n ${2:-} ]]; then
    grep -q "$2" "$ES_TMP/up.out" || fail "the summary does not list $2"
  fi
}

# es_signup HELPER FIRST: a patient signed up over IPC by the signup_load
# HELPER, with a random valid INS whose first 13 digits are FIRST + 0..32767:
# sets BODY (those 13 digits), INS and PATIENT (the account id).
es_signup() {
  BODY=$(($2 + RANDOM))
  INS=$BODY$(printf %02d $((97 - BODY % 97)))
  run "$1" one "$IPC" "$INS"
  [[ $RC -eq 0 && $OUT =~ ^[0-9a-f]{32}$ ]] || fail "sign-up: rc=$RC $OUT"
  PATIENT=$OUT
}

# es_up_start OPTION...: starts `espace OPTION... up` in the background (output in
# $ES_TMP/up.out, log in $ES_TMP/up.log) and waits until it says it is up. Sets
# UP_PID, ES_ADMIN (the `espace OPTION... admin` command, an array) and BROKER_KEY.
es_up_start() {
  bg "$ESPACE" "$@" up >"$ES_TMP/up.out" 2>"$ES_TMP/up.log"
  UP_PID=${ES_PIDS[-1]}
  local _
  for _ in $(seq 100); do
    grep -q "espace is up" "$ES_TMP/up.out" 2>/dev/null && break
    kill -0 "$UP_PID" 2>/dev/null || fail "espace up exited early"
    sleep 0.1
  done
  grep -q "espace is up" "$ES_TMP/up.out" || fail "espace up not ready within 10 s"
  ES_ADMIN=("$ESPACE" "$@" admin)
  BROKER_KEY=$("${ES_ADMIN[@]}" keys show)
  [[ ${#BROKER_KEY} -eq 40 ]] || fail "bad broker key '$BROKER_KEY'"
}

# es_edge_port: sets EDGE_PORT to the edge's port, from the `espace up` log
# (ESPACE_LOG info or more), or fails.
es_edge_port() {
  EDGE_PORT=$(grep -o 'comp=edge event=listen host=[0-9.]* port=[0-9]*' "$ES_TMP/up.log" |
    sed 's/.*port=//' | head -1)
  [[ -n $EDGE_PORT ]] || fail "no edge port in the log"
}

# es_reap PID TENTHS: waits up to TENTHS tenths of a second for the background
# process PID to end; 0 with its exit status in REAPED_RC, or 1 if it still runs.
es_reap() {
  local _
  for _ in $(seq "$2"); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && return 1
  REAPED_RC=0
  wait "$1" || REAPED_RC=$?
}

# es_up_stop: SIGTERM to `espace up`, which must exit 0 within 5 s.
es_up_stop() {
  kill -TERM "$UP_PID"
  es_reap "$UP_PID" 50 || fail "espace up still running 5 s after SIGTERM"
  [[ $REAPED_RC -eq 0 ]] || fail "espace up exited $REAPED_RC"
}

ES_PRO_PASSWORD='correct horse battery staple'

# es_pro_setup HOME RPPS NAME: an espace-pro keypair in HOME (public key in
# PRO_PUB), registered as a pro key named NAME, and the professional RPPS
# (Claire Martin, Médecin, password $ES_PRO_PASSWORD). Needs es_up_start.
es_pro_setup() {
  PRO_PUB=$("$ESPACE_PRO" --home "$1" keygen 2>/dev/null)
  "${ES_ADMIN[@]}" keys add --role pro --name "$3" --public "$PRO_PUB" >/dev/null
  echo "$ES_PRO_PASSWORD" | "${ES_ADMIN[@]}" create-pro --rpps "$2" \
    --last-name Martin --first-name Claire --profession Médecin | grep -q "$2" ||
    fail "create-pro $2"
}

# es_pro HOME RPPS NAME: es_pro_setup, then es_pro_login.
es_pro() {
  es_pro_setup "$1" "$2" "$3"
  es_pro_login "$1" "$2"
}

# es_pro_login HOME RPPS: espace-pro in HOME logs in as RPPS on the tcp port.
es_pro_login() {
  ESPACE_PASSWORD=$ES_PRO_PASSWORD "$ESPACE_PRO" --home "$1" \
    --broker "tcp://127.0.0.1:$REQ" --broker-key "$BROKER_KEY" login --rpps "$2" |
    grep -q "logged in as $2" || fail "login $2"
}
