#!/usr/bin/env bash
# Checks the servers the tests expect on this machine (PostgreSQL, Redis, RabbitMQ, Mosquitto on
# their standard loopback ports) and starts any that is installed but not answering.
set -euo pipefail

usage() {
  cat <<'TXT'
Usage: infra/scripts/services.sh <ensure|status|--help>

  ensure   start any of PostgreSQL (5432), Redis (6379), RabbitMQ (5672), Mosquitto (1883)
           that is installed here but not answering, and wait (bounded) until each answers
  status   print which of them answer
TXT
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    answers "$port" && { echo "$name: up on 127.0.0.1:$port"; return 0; }
    sleep 1
  done
  echo "$name: not answering on 127.0.0.1:$port after 60 s" >&2
  return 1
}

start() {
  case $1 in
    postgres) pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start ;;
    redis) redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
             --dir /var/lib/redis --logfile /var/log/redis/ci.log ;;
    rabbitmq) rabbitmq-server -detached ;;
    mosquitto) mosquitto -d -c /etc/mosquitto/mosquitto.conf ;;
  esac
}

services=("postgres 5432" "redis 6379" "rabbitmq 5672" "mosquitto 1883")

case ${1:-} in
  ensure)
    for entry in "${services[@]}"; do
      read -r name port <<<"$entry"
      if ! answers "$port"; then
        echo "$name: not answering, starting it"
        start "$name" || echo "$name: start command failed" >&2
      fi
      wait_for "$name" "$port"
    done
    ;;
  status)
    for entry in "${services[@]}"; do
      read -r name port <<<"$entry"
      if answers "$port"; then echo "$name: up ($port)"; else echo "$name: down ($port)"; fi
    done
    ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
