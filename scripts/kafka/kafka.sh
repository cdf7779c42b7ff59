#!/usr/bin/env bash
# Local Apache Kafka (KRaft, single broker) for the "local" profile, tests and CI.
#
#   bash scripts/kafka/kafka.sh start    resolve jars (once, cached), format storage (once), start, wait, print address
#   bash scripts/kafka/kafka.sh stop     stop the broker started here
#   bash scripts/kafka/kafka.sh status   exit 0 when the broker answers
#   bash scripts/kafka/kafka.sh jars     resolve the jars (once, cached) and print their directory
#
# Idempotent: `start` on a running broker prints its address and exits 0.
# Settings (env, with defaults):
#   FLEAD_KAFKA_HOME=<repo>/.kafka   jars, data and logs (git-ignored)
#   FLEAD_KAFKA_PORT=9092            client listener on 127.0.0.1
#   FLEAD_KAFKA_CONTROLLER_PORT=9093 KRaft controller listener on 127.0.0.1
#   FLEAD_KAFKA_VERSION=3.9.1        org.apache.kafka:kafka_2.13 version resolved with Maven (the 4.x line runs
#                                    too: 4.1.1 and 4.4.0 measured, README "Running the services"); each version
#                                    keeps its own data directory (a newer broker's storage does not go back)
#   FLEAD_KAFKA_HEAP=-Xms256m -Xmx1g
#   FLEAD_KAFKA_CPUS=                (empty: all) CPU list for the broker, through taskset (e.g. 1): benchmarks
#                                    with the broker on cores of its own
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
home=${FLEAD_KAFKA_HOME:-$repo/.kafka}
port=${FLEAD_KAFKA_PORT:-9092}
cport=${FLEAD_KAFKA_CONTROLLER_PORT:-9093}
version=${FLEAD_KAFKA_VERSION:-3.9.1}
heap=${FLEAD_KAFKA_HEAP:--Xms256m -Xmx1g}
cpus=${FLEAD_KAFKA_CPUS:-}
libs=$home/libs-$version
data=$home/data-$version
logs=$home/logs
pidfile=$home/kafka.pid
conf=$home/server.properties

log() { printf 'kafka: %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

resolve() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch the Kafka jars"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is required to run Kafka"; exit 1; }
  log "resolving org.apache.kafka:kafka_2.13:$version with Maven into $libs (once)"
  rm -rf "$libs"; mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

write_conf() {
  mkdir -p "$data" "$logs"
  cat > "$conf" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=-1
log.segment.bytes=268435456
message.max.bytes=8388608
replica.fetch.max.bytes=8388608
log.cleaner.min.cleanable.ratio=0.1
log.cleaner.backoff.ms=5000
# abort the open transactions of a killed writer soon after their timeout (default check every 10 s)
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
EOF
}

start() {
  if pid=$(running_pid) && port_open "$port"; then
    echo "127.0.0.1:$port"; return 0
  fi
  if port_open "$port"; then
    log "port $port is taken by another process; set FLEAD_KAFKA_PORT or KAFKA_BROKERS"; exit 1
  fi
  resolve
  write_conf
  local cp="$libs/*"
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting KRaft storage in $data"
    java -cp "$cp" kafka.tools.StorageTool format -t flead-local-cluster-0001 -c "$conf" >"$logs/format.log" 2>&1 \
      || { cat "$logs/format.log" >&2; exit 1; }
  fi
  cat > "$home/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$logs/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
EOF
  # Kafka 4.x also carries log4j 2 (its logging goes through slf4j to the file above): warnings to stdout.log
  cat > "$home/log4j2.properties" <<EOF
status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
EOF
  : > "$logs/server.log"
  pin=()
  if [ -n "$cpus" ]; then
    command -v taskset >/dev/null || { log "FLEAD_KAFKA_CPUS is set but taskset is missing (util-linux)"; exit 1; }
    pin=(taskset -c "$cpus"); log "broker pinned to CPUs $cpus"
  fi
  # shellcheck disable=SC2086
  nohup "${pin[@]}" java $heap -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j.configuration="file:$home/log4j.properties" \
    -Dlog4j2.configurationFile="$home/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$conf" >"$logs/stdout.log" 2>&1 &
  echo $! > "$pidfile"
  log "started pid $(cat "$pidfile"), waiting for 127.0.0.1:$port"
  for _ in $(seq 1 240); do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "broker exited during start-up; last log lines:"; tail -30 "$logs/server.log" "$logs/stdout.log" >&2; exit 1
    fi
    if grep -q "Kafka Server started" "$logs/server.log" 2>/dev/null && port_open "$port"; then
      echo "127.0.0.1:$port"; return 0
    fi
    sleep 0.5
  done
  log "broker did not start within 120 s"; tail -30 "$logs/server.log" >&2; exit 1
}

stop() {
  if pid=$(running_pid); then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped pid $pid"
  else
    log "not running"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) port_open "$port" && echo "127.0.0.1:$port" ;;
  reset) stop; rm -rf "$data"; log "data removed" ;;
  jars) resolve; echo "$libs" ;;
  *) echo "usage: $0 start|stop|status|reset|jars" >&2; exit 2 ;;
esac
