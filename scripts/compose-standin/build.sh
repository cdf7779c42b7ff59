#!/usr/bin/env bash
# Builds the local stand-in images that docker-compose.standin.yml names, on a Docker host that cannot pull from
# Docker Hub but reaches Debian's mirror, the npm registry and Maven Central (this project's build machines):
#   flead-standin/debian:bookworm   debootstrap --variant=minbase, imported
#   flead-standin/node:20           + this host's node and npm (node/Dockerfile)
#   flead-standin/kafka:3.9.1       + Debian's JRE and the Kafka jars Maven resolves (kafka/Dockerfile)
#   flead-standin/postgres:15       + Debian's PostgreSQL 15, no TimescaleDB (postgres/Dockerfile)
# Needs root (debootstrap), a running Docker daemon, debootstrap, node 20 and Maven. Idempotent: an image that
# exists is kept (FLEAD_STANDIN_REBUILD=1 rebuilds them all).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { echo "compose-standin: $*" >&2; }
have() { [ -z "${FLEAD_STANDIN_REBUILD:-}" ] && docker image inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

if ! have flead-standin/debian:bookworm; then
  command -v debootstrap >/dev/null || { log "debootstrap is required (apt-get install debootstrap)"; exit 1; }
  log "debootstrap bookworm (minbase) …"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb
  tar -C "$work/rootfs" -c . | docker import - flead-standin/debian:bookworm >/dev/null
  rm -rf "$work/rootfs"
fi

build() { # tag dir [files to add to the context]
  local tag=$1 dir=$2; shift 2
  if have "$tag"; then log "$tag: present"; return 0; fi
  local ctx="$work/$(basename "$dir")"; rm -rf "$ctx"; cp -r "$dir" "$ctx"
  for f in "$@"; do cp -rL "$f" "$ctx/"; done
  log "$tag: building"
  docker build -q -t "$tag" "$ctx" >/dev/null
}

node_bin=$(command -v node); npm_dir=$(npm root -g)/npm
case "$(node -v)" in v20.*) ;; *) log "node 20 is required on this host (found $(node -v))"; exit 1 ;; esac
build flead-standin/node:20 "$here/node" "$node_bin" "$npm_dir" "${FLEAD_STANDIN_CA:-/etc/ssl/certs/ca-certificates.crt}"
libs=$(bash "$repo/scripts/kafka/kafka.sh" jars)
rm -rf "$work/libs"; cp -r "$libs" "$work/libs"
build flead-standin/kafka:3.9.1 "$here/kafka" "$work/libs"
build flead-standin/postgres:15 "$here/postgres"
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep '^flead-standin/' >&2
