#!/usr/bin/env bash
# S3Proxy (an S3-compatible server over a local folder) for the object-store contract tests and
# for trying the S3 store locally. The jar comes from Maven Central (via mvn); no Docker.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/../.." && pwd))"
VERSION="${S3PROXY_VERSION:-2.6.0}"
JAR="${HOME}/.m2/repository/org/gaul/s3proxy/${VERSION}/s3proxy-${VERSION}-jar-with-dependencies.jar"
RUN_DIR="${BV_S3PROXY_DIR:-$REPO_ROOT/.run/s3proxy}"
PID_FILE="$RUN_DIR/s3proxy.pid"
LOG_FILE="$RUN_DIR/s3proxy.log"
PROPS="$RUN_DIR/s3proxy.properties"
IDENTITY="${S3PROXY_IDENTITY:-bitv}"
CREDENTIAL="${S3PROXY_CREDENTIAL:-bitv-secret}"
START_TIMEOUT="${S3PROXY_START_TIMEOUT:-60}"
HOST=127.0.0.1

usage() {
  cat <<EOF2
Usage: $(basename "$0") start|stop|status|env|fetch

S3Proxy ${VERSION} on ${HOST}, storing objects under ${RUN_DIR}/data.
  start   start in the background (no-op when running), wait until it answers, then print
          BV_TEST_S3_URL=http://${IDENTITY}:${CREDENTIAL}@${HOST}:<port>   (use: export "\$($0 start)")
  stop    stop it (data kept)
  status  exit 0 when running, 3 when not
  env     print the BV_TEST_S3_URL line when running
  fetch   only download the jar
Environment: S3PROXY_VERSION (${VERSION}), BV_S3PROXY_DIR, S3PROXY_IDENTITY, S3PROXY_CREDENTIAL,
S3PROXY_START_TIMEOUT (${START_TIMEOUT} s).
EOF2
}

log() { printf '[s3proxy.sh] %s\n' "$*" >&2; }

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$PROPS" || return 1
  echo "$pid"
}

port_of() { sed -n 's|^s3proxy.endpoint=http://[^:]*:||p' "$PROPS"; }
print_env() { echo "BV_TEST_S3_URL=http://${IDENTITY}:${CREDENTIAL}@${HOST}:$(port_of)"; }

fetch() {
  [[ -f "$JAR" ]] && return 0
  log "fetching org.gaul:s3proxy:${VERSION} (jar-with-dependencies) from Maven Central"
  mvn -q dependency:get -Dartifact="org.gaul:s3proxy:${VERSION}:jar:jar-with-dependencies" -Dtransitive=false >&2
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start() {
  if running_pid >/dev/null; then print_env; return 0; fi
  fetch
  mkdir -p "$RUN_DIR/data"
  local port
  port="$(free_port)"
  cat >"$PROPS" <<EOF2
s3proxy.endpoint=http://${HOST}:${port}
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=${IDENTITY}
s3proxy.credential=${CREDENTIAL}
jclouds.provider=filesystem-nio2
jclouds.identity=${IDENTITY}
jclouds.credential=${CREDENTIAL}
jclouds.filesystem.basedir=${RUN_DIR}/data
EOF2
  nohup java -Xmx256m -jar "$JAR" --properties "$PROPS" >"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  # Any HTTP answer (403 without a signature) means it is serving.
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://${HOST}:${port}/" || true)" =~ ^[1-5][0-9][0-9]$ ]]; do
    running_pid >/dev/null || { log "exited; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; exit 1; }
    ((SECONDS < deadline)) || { log "no answer after ${START_TIMEOUT}s; see $LOG_FILE"; exit 1; }
    sleep 0.5
  done
  log "up on ${HOST}:${port} (pid $(cat "$PID_FILE"))"
  print_env
}

stop() {
  local pid
  pid="$(running_pid)" || { log "not running"; return 0; }
  kill "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null && { log "running, pid $(running_pid)"; exit 0; } || { log "not running"; exit 3; } ;;
  env) running_pid >/dev/null && print_env || exit 3 ;;
  fetch) fetch ;;
  -h | --help | "") usage ;;
  *) usage; exit 2 ;;
esac
