#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for local dev and tests.
# Jars come from Maven Central (via mvn); no Docker, no tarball download.
# Run `kafka.sh --help` for usage.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/../.." && pwd))"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/bitvelocity/kafka-${KAFKA_VERSION}"
LIB_DIR="$CACHE_DIR/lib"
RUN_DIR="${BV_KAFKA_DIR:-$REPO_ROOT/.run/kafka}"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_FILE="$RUN_DIR/kafka.log"
PROPS_FILE="$RUN_DIR/server.properties"
STATE_FILE="$RUN_DIR/state"   # remembers ports + version between runs
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.properties"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
HOST=127.0.0.1

usage() {
  cat <<EOF
Usage: $(basename "$0") <command> [options]

Single-node Apache Kafka ${KAFKA_VERSION} in KRaft mode (broker+controller in one JVM),
listening on ${HOST} only. Jars are fetched once from Maven Central with mvn.

Commands:
  start [--port N]  Start in the background (no-op if already running), wait until the
                    broker is up, then print   KAFKA_BROKERS=${HOST}:<port>   on stdout.
                    Without --port the previous port is reused if free, else a free one.
                    Usage:  export "\$($0 start)"   (or eval, then export KAFKA_BROKERS)
  stop              Stop (SIGTERM, then SIGKILL after ${STOP_TIMEOUT}s). Data is kept.
  status            Show state; exit 0 if running, 3 if not.
  env               Print the KAFKA_BROKERS line if running (exit 3 if not).
  reset             Stop and delete the data directory (topics, offsets, cluster id).
  fetch             Only download the jars into the cache.
  logs              Print the path of the broker log.
  -h, --help        This help.

Environment:
  KAFKA_VERSION        Kafka version (default 4.1.1; must be >= 3.3 for KRaft, 4.x tested)
  BV_KAFKA_DIR         Run dir: data, pid, log, server.properties (default <repo>/.run/kafka)
  XDG_CACHE_HOME       Jar cache root (jars in \${XDG_CACHE_HOME:-~/.cache}/bitvelocity/kafka-<ver>/lib)
  KAFKA_HEAP_OPTS      JVM heap (default "-Xms256m -Xmx768m")
  KAFKA_START_TIMEOUT  Seconds to wait for startup (default 120)
  KAFKA_STOP_TIMEOUT   Seconds to wait after SIGTERM before SIGKILL (default 30)

Current paths:
  cache: $LIB_DIR
  run:   $RUN_DIR
EOF
}

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- helpers

# Is the pid in $PID_FILE a live Kafka JVM started for this run dir?
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the command line must be ours.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$PROPS_FILE" || return 1
  fi
  echo "$pid"
}

state_get() { # key -> value from $STATE_FILE
  [[ -f "$STATE_FILE" ]] || return 0
  sed -n "s/^$1=//p" "$STATE_FILE" | tail -n1
}

port_is_free() { # port
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
# Like Kafka (Java sets SO_REUSEADDR): ports in TIME_WAIT from old connections are usable.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

port_accepts() { # port: something is listening
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

free_ports() { # n -> n distinct free ports, space separated
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
  else
    node -e '
      const net = require("net"); const n = +process.argv[1]; const out = [];
      (function next() {
        if (out.length === n) { console.log(out.map(s => s.address().port).join(" ")); out.forEach(s => s.close()); return; }
        const s = net.createServer(); s.listen(0, "127.0.0.1", () => { out.push(s); next(); });
      })();' "$1"
  fi
}

if ! command -v python3 >/dev/null 2>&1; then
  port_is_free() { node -e '
    const s = require("net").createServer();
    s.once("error", () => process.exit(1));
    s.listen(+process.argv[1], "127.0.0.1", () => s.close());' "$1"; }
fi

lock_run_dir() { # serialize start/stop/reset of one run dir
  mkdir -p "$RUN_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RUN_DIR/.lock"
    flock -w $((START_TIMEOUT + 60)) 9 || die "could not lock $RUN_DIR/.lock"
  fi
}

# ---------------------------------------------------------------- jars

fetch_jars() {
  if [[ -f "$CACHE_DIR/.complete" ]] && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to download Kafka jars)"
  mkdir -p "$CACHE_DIR"
  if command -v flock >/dev/null 2>&1; then   # several run dirs may share one cache
    exec 8>"$CACHE_DIR/.lock"
    flock -w 600 8 || die "could not lock $CACHE_DIR/.lock"
    if [[ -f "$CACHE_DIR/.complete" ]]; then exec 8>&-; return 0; fi
  fi
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")"
  log "downloading Kafka ${KAFKA_VERSION} jars from Maven Central into $LIB_DIR (once) ..."
  cp "$SCRIPT_DIR/pom.xml" "$tmp/pom.xml"
  # mvn output is kept quiet (Debian's mvn -q still emits stray ANSI resets) unless it fails.
  if ! (cd "$tmp" && mvn -B -q -Dstyle.color=never -Dkafka.version="$KAFKA_VERSION" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1); then
    sed 's/\x1b\[[0-9;]*m//g' "$tmp/mvn.log" | grep -v '^[[:space:]]*$' | tail -n 40 >&2
    rm -rf "$tmp"
    die "mvn failed to fetch org.apache.kafka:kafka_2.13:${KAFKA_VERSION}"
  fi
  compgen -G "$tmp/lib/kafka_2.13-${KAFKA_VERSION}.jar" >/dev/null || { rm -rf "$tmp"; die "kafka_2.13-${KAFKA_VERSION}.jar missing after download"; }
  # The pom binds slf4j 1.7.x to log4j2; a 2.x slf4j-api would need log4j-slf4j2-impl instead.
  if compgen -G "$tmp/lib/slf4j-api-2.*.jar" >/dev/null; then
    log "warning: Kafka ${KAFKA_VERSION} uses slf4j-api 2.x; broker logs may be missing (pom binds slf4j 1.7 via log4j-slf4j-impl)"
  fi
  # Another binding (e.g. slf4j-reload4j in Kafka 3.x) would compete with log4j2: drop it.
  rm -f "$tmp"/lib/slf4j-reload4j-*.jar "$tmp"/lib/slf4j-log4j12-*.jar
  rm -rf "$LIB_DIR"
  mv "$tmp/lib" "$LIB_DIR"
  rm -rf "$tmp"
  touch "$CACHE_DIR/.complete"
  exec 8>&-
  log "jars ready: $(find "$LIB_DIR" -name '*.jar' | wc -l) jars"
}

run_tool() { # main-class args... : run a Kafka tool class with a small heap
  java -Xmx256m -Dlog4j2.configurationFile="$LOG4J_CONFIG" -cp "$LIB_DIR/*" "$@"
}

# ---------------------------------------------------------------- config

write_properties() { # port cport
  local port="$1" cport="$2"
  cat >"$PROPS_FILE" <<EOF
# Generated by infra/kafka/kafka.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) - edits are overwritten on start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${cport}
listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${cport}
advertised.listeners=PLAINTEXT://${HOST}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${DATA_DIR}

num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# small shared machine
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=4
log.retention.hours=24
log.segment.bytes=104857600
EOF
  # share.coordinator.* only exists in Kafka >= 4.0 (unknown keys are only warned about, but keep 3.x logs clean)
  if [[ "${KAFKA_VERSION%%.*}" -lt 4 ]]; then
    sed -i '/^share\.coordinator\./d' "$PROPS_FILE"
  fi
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  mkdir -p "$DATA_DIR"
  local cid
  cid="$(run_tool kafka.tools.StorageTool random-uuid 2>>"$LOG_FILE" | tail -n1)"
  [[ -n "$cid" ]] || die "could not generate a cluster id (see $LOG_FILE)"
  log "formatting storage in $DATA_DIR (cluster id $cid)"
  run_tool kafka.tools.StorageTool format -t "$cid" -c "$PROPS_FILE" >>"$LOG_FILE" 2>&1 \
    || { tail -n 30 "$LOG_FILE" >&2; die "storage format failed"; }
}

# ---------------------------------------------------------------- commands

print_env() { echo "KAFKA_BROKERS=${HOST}:$(state_get port)"; }

cmd_start() {
  local want_port=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; want_port="$2"; shift 2 ;;
      --port=*) want_port="${1#--port=}"; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option for start: $1" ;;
    esac
  done
  if [[ -n "$want_port" ]] && ! [[ "$want_port" =~ ^[0-9]+$ && "$want_port" -ge 1 && "$want_port" -le 65535 ]]; then
    die "invalid port: $want_port"
  fi

  lock_run_dir
  local pid
  if pid="$(running_pid)"; then
    if [[ -n "$want_port" && "$want_port" != "$(state_get port)" ]]; then
      die "already running (pid $pid) on port $(state_get port), not $want_port; run '$0 stop' first"
    fi
    print_env
    return 0
  fi
  rm -f "$PID_FILE"

  command -v java >/dev/null 2>&1 || die "java not found (Java 17+ required)"
  local prev_version
  prev_version="$(state_get version)"
  if [[ -f "$DATA_DIR/meta.properties" && -n "$prev_version" && "$prev_version" != "$KAFKA_VERSION" ]]; then
    die "$DATA_DIR was created by Kafka $prev_version, not $KAFKA_VERSION; run '$0 reset' first"
  fi

  fetch_jars

  # Ports: explicit > previous (if free) > new free ones.
  local port cport prev_port prev_cport
  prev_port="$(state_get port)"; prev_cport="$(state_get controller_port)"
  if [[ -n "$want_port" ]]; then
    port="$want_port"
    port_is_free "$port" || die "port $port on $HOST is already in use"
  elif [[ -n "$prev_port" ]] && port_is_free "$prev_port"; then
    port="$prev_port"
  else
    port="$(free_ports 1)"
  fi
  if [[ -n "$prev_cport" && "$prev_cport" != "$port" ]] && port_is_free "$prev_cport"; then
    cport="$prev_cport"
  else
    cport="$(free_ports 2 | tr ' ' '\n' | grep -vx "$port" | head -n1)"
  fi

  mkdir -p "$RUN_DIR"
  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  : >"$LOG_FILE"
  write_properties "$port" "$cport"
  printf 'port=%s\ncontroller_port=%s\nversion=%s\n' "$port" "$cport" "$KAFKA_VERSION" >"$STATE_FILE"
  format_storage

  log "starting Kafka ${KAFKA_VERSION} on ${HOST}:${port} (controller ${cport}), log: $LOG_FILE"
  local t0=$SECONDS
  # setsid+nohup: detached from the caller's session/signals. The inner bash writes its
  # own pid and execs java, so the recorded pid is the JVM itself.
  local launcher=(nohup)
  command -v setsid >/dev/null 2>&1 && launcher=(setsid nohup)
  # shellcheck disable=SC2086,SC2016
  "${launcher[@]}" bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
      -cp "$LIB_DIR/*" kafka.Kafka "$PROPS_FILE" \
    >>"$LOG_FILE" 2>&1 </dev/null 8>&- 9>&- &

  # Ready = JVM alive, "Kafka Server started" logged (KafkaRaftServer, after broker and
  # controller finished startup) and the PLAINTEXT port accepts connections.
  local deadline=$((SECONDS + START_TIMEOUT)) ok="" i=0
  while (( SECONDS < deadline )); do
    sleep 0.5
    (( ++i % 2 )) || printf '.' >&2
    if ! pid="$(running_pid)"; then
      [[ -f "$PID_FILE" ]] || continue   # launcher has not written the pid yet
      break
    fi
    if grep -q 'Kafka Server started' "$LOG_FILE" && port_accepts "$port"; then
      ok=1; break
    fi
  done
  printf '\n' >&2
  if [[ -z "$ok" ]]; then
    log "Kafka failed to start (gave up after $((SECONDS - t0))s); last log lines:"
    tail -n 40 "$LOG_FILE" >&2 || true
    if pid="$(running_pid)"; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$PID_FILE"
    exit 1
  fi
  log "started in $((SECONDS - t0))s (pid $pid)"
  print_env
}

cmd_stop() {
  lock_run_dir
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping Kafka (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running: pid $pid, Kafka $(state_get version), brokers ${HOST}:$(state_get port), controller ${HOST}:$(state_get controller_port)"
    echo "run dir: $RUN_DIR"
    return 0
  fi
  echo "not running (run dir: $RUN_DIR$([[ -f "$DATA_DIR/meta.properties" ]] && echo ', data present'))"
  return 3
}

cmd_env() {
  if running_pid >/dev/null; then print_env; return 0; fi
  log "not running"
  return 3
}

cmd_reset() {
  cmd_stop
  log "deleting $DATA_DIR"
  rm -rf "$DATA_DIR" "$STATE_FILE"
}

case "${1:-}" in
  start)  shift; cmd_start "$@" ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  env)    cmd_env ;;
  reset)  cmd_reset ;;
  fetch)  fetch_jars; echo "$LIB_DIR" ;;
  logs)   echo "$LOG_FILE" ;;
  -h|--help|help) usage ;;
  "") usage >&2; exit 2 ;;
  *) log "unknown command: $1"; usage >&2; exit 2 ;;
esac
