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

fail() { echo "FAIL: $*" >&2; exit 1; }
