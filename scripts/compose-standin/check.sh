#!/usr/bin/env bash
# Runs the compose file for real on a Docker host without Docker Hub (stand-in images, build.sh) and checks, through
# the inspection endpoints and the database, what `docker compose up` must give a user:
#   every service healthy after the seed's start order (init jobs exit 0 first); the WSN data streamed through
#   producer → trainers → aggregator → sink; a second trainer replica added mid-stream (--scale trainer=2); a
#   trainer and the producer SIGKILLed mid-stream and restarted by their restart policy; at the end: every reading
#   published and scored exactly once, rounds closed, every device on the latest global version, the database
#   holding every reading, anomalies, models and round events, and no dead letters.
#   bash scripts/compose-standin/check.sh            (FLEAD_STANDIN_KEEP=1 leaves the stack up afterwards)
# Grafana and kafka-ui are not started (no stand-in); everything else is the compose file as users run it, with
# other host ports (the machine's own Kafka and PostgreSQL hold 9092 and 5432) and PRODUCER_RATE=100 (the
# stream lasts ~3 minutes, so each disturbance lands mid-stream; the check fails if one does not).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
log() { echo "[$(date +%T)] $*" >&2; }
state=$(mktemp -d)
fail() { log "FAIL: $*"; for f in "$state"/*; do [ -f "$f" ] && log "  last $(basename "$f"): $(cat "$f")"; done; exit 1; }

export KAFKA_EXTERNAL_PORT=${KAFKA_EXTERNAL_PORT:-19092} POSTGRES_HOST_PORT=${POSTGRES_HOST_PORT:-15432}
export AGGREGATOR_INSPECT_PORT=${AGGREGATOR_INSPECT_PORT:-18090} PRODUCER_INSPECT_PORT=${PRODUCER_INSPECT_PORT:-18092}
export SINK_INSPECT_PORT=${SINK_INSPECT_PORT:-18093} ANALYTICS_INSPECT_PORT=${ANALYTICS_INSPECT_PORT:-18094}
export PRODUCER_RATE=${PRODUCER_RATE:-100} ANALYTICS_INTERVAL_MS=${ANALYTICS_INTERVAL_MS:-30000}
project=flead-standin
C=(docker-compose -p "$project" -f compose/docker-compose.yml -f scripts/compose-standin/docker-compose.standin.yml)
services=(producer trainer aggregator sink analytics)
total=18914   # rows of the WSN data set

bash "$here/build.sh"
"${C[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
[ -n "${FLEAD_STANDIN_KEEP:-}" ] || trap '"${C[@]}" down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
log "building flead:0.1.0 from docker/Dockerfile (stand-in Node.js base, TFJS_NODE=false)"
"${C[@]}" build -q >/dev/null 2>&1 || "${C[@]}" build
start=$(date +%s)
"${C[@]}" up -d "${services[@]}" 2>&1 | grep -v '^$' >&2

json() { curl -sf --max-time 5 "$1" || true; }
cid() { "${C[@]}" ps -q "$1" | sed -n "${2:-1}p"; }
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1"; }
until_ok() { # description timeout-seconds command…
  local what=$1 t=$2; shift 2; local end=$(( $(date +%s) + t ))
  until "$@"; do [ "$(date +%s)" -lt "$end" ] || fail "$what (after ${t}s)"; sleep 2; done
  log "ok: $what"
}
all_healthy() { for s in "${services[@]}"; do for c in $("${C[@]}" ps -q "$s"); do [ "$(health "$c")" = healthy ] || return 1; done; done; }
init_done() { for s in init-db init-topics; do [ "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(cid $s)")" = "exited 0" ] || return 1; done; }
published() { json "localhost:$PRODUCER_INSPECT_PORT/health" | jq -r '.progress.published // 0'; }
published_ge() { test "$(published)" -ge "$1"; }   # a function, so that until_ok asks again each time
trainer_urls() { for c in $("${C[@]}" ps -q trainer); do echo "http://$(docker port "$c" 8090 | head -1)"; done; }
devices() { for u in $(trainer_urls); do json "$u/devices"; done | jq -s 'add // []'; }
midstream() { # what: fails unless the producer is still streaming; notes the count
  local n; n=$(published); [ "$n" -lt "$total" ] || fail "$1 was meant to land mid-stream, but all $total readings were already published"
  disturbances+=("$1 at $n of $total published")
}
disturbances=()
kill9() { # SIGKILL a service's main process from the host: a crash, which its restart policy answers
  local c pid; c=$(cid "$1"); pid=$(docker inspect -f '{{.State.Pid}}' "$c")
  midstream "SIGKILL $1"; log "SIGKILL $1 ($c, pid $pid)"; kill -9 "$pid"
}
psql_n() { docker exec "$(cid timescaledb)" psql -U flead -d flead -tAc "$1"; }

until_ok "init-db and init-topics exited 0" 180 init_done
until_ok "producer, trainer, aggregator, sink, analytics healthy" 240 all_healthy
up_s=$(( $(date +%s) - start ))
docker logs "$(cid init-db)" 2>&1 | grep -i 'schema mode' >&2 || true

# each disturbance comes while every device still has readings to come, so each one is tested under load
until_ok "the producer has published 2,000 readings" 120 published_ge 2000
midstream "second trainer added"
log "adding a second trainer replica (the readings' partitions are shared between the two)"
"${C[@]}" up -d --no-recreate --scale trainer=2 trainer 2>&1 | grep -v '^$' >&2
until_ok "two trainers healthy" 240 all_healthy
until_ok "the producer has published 8,000 readings" 240 published_ge 8000
kill9 trainer
until_ok "the first trainer is back (restart policy) and both are healthy" 180 all_healthy
until_ok "the producer has published 12,000 readings" 240 published_ge 12000
kill9 producer
until_ok "the producer is back and healthy" 180 all_healthy
until_ok "every reading published ($total)" 300 published_ge "$total"
scored() { local n; n=$(devices | jq '[.[].seen] | add // 0'); echo "$n" > "$state/scored"; test "$n" -eq "$total"; }
until_ok "every reading scored exactly once by the device actors, across both trainers ($total)" 300 scored
models=$(json "localhost:$AGGREGATOR_INSPECT_PORT/models")
current=$(jq -r '.current // 0' <<<"$models")
[ "$current" -ge 3 ] || fail "at least 3 global versions (got $current)"
on_latest() { local m; m=$(json "localhost:$AGGREGATOR_INSPECT_PORT/models" | jq -r '.current'); devices | jq -e --argjson v "$m" 'length == 4 and all(.model.version == $v)' >/dev/null; }
until_ok "every device on the latest global version" 180 on_latest
# rounds go on after the data stops, but a device trains only with readings in no update it sent yet: once the
# last ones are in, no more trainings and no more versions
version_now() { json "localhost:$AGGREGATOR_INSPECT_PORT/models" | jq -r '.current'; }
trainings_now() { devices | jq '[.[].counters.trainings] | add'; }
stands_still() { local v t; v=$(version_now); t=$(trainings_now); sleep 20; [ "$(version_now)" = "$v" ] && [ "$(trainings_now)" = "$t" ]; }
until_ok "no new version and no training for 20 s once the data stopped (rounds go on)" 240 stands_still
current=$(version_now)
rounds=$(json "localhost:$AGGREGATOR_INSPECT_PORT/rounds" | jq '[.rounds[] | select(.status == "published")] | length')
per_trainer=$(for u in $(trainer_urls); do json "$u/devices" | jq -c '[.[].deviceId]'; done | paste -sd' ')
anomalies=$(devices | jq '[.[] | .counters.zscoreAnomalies + .counters.modelAnomalies] | add')
# a reading published twice (or redelivered past the trainers' transactions) would be counted here and skipped
duplicates=$(devices | jq '[.[].counters.duplicates] | add')
[ "$duplicates" -eq 0 ] || fail "device actors saw $duplicates readings twice"
in_db() { test "$(psql_n 'select count(*) from readings')" -eq "$total" && test "$(psql_n 'select count(*) from anomalies')" -ge "$anomalies"; }
until_ok "the sink has written every reading and anomaly to PostgreSQL" 180 in_db
dead=0
for s in "${services[@]}"; do
  for c in $("${C[@]}" ps -q "$s"); do
    n=$(curl -sf "http://$(docker port "$c" 8090 | head -1)/metrics" | awk '!/^#/ && /dead[-_]letter/ {s+=$NF} END{print s+0}')
    dead=$(( dead + n ))
  done
done
[ "$dead" -eq 0 ] || fail "dead letters for clean input: $dead"
restarts=0
for s in producer trainer; do restarts=$(( restarts + $(docker inspect -f '{{.RestartCount}}' "$(cid $s)") )); done
log "PASS in $(( $(date +%s) - start ))s (stack healthy after ${up_s}s)"
cat <<SUMMARY
compose (stand-in images) checked:
  readings published ${total}, scored ${total} exactly once by 4 device actors over 2 trainers: ${per_trainer}
  $(printf '%s; ' "${disturbances[@]}")
  container restarts after SIGKILL: ${restarts} (trainer, producer); readings seen twice by device actors: ${duplicates}
  global version ${current}, ${rounds} rounds published, every device on the latest version
  database: readings $(psql_n 'select count(*) from readings'), anomalies $(psql_n 'select count(*) from anomalies'), local_updates $(psql_n 'select count(*) from local_updates'), global_models $(psql_n 'select count(*) from global_models'), round_events $(psql_n 'select count(*) from round_events')
  dead letters: ${dead}
SUMMARY
