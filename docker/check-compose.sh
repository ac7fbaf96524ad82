#!/usr/bin/env bash
# Validates docker/compose.yaml without a Docker engine: `docker compose config` when the compose
# plugin is there, else Debian's docker-compose (1.29, Python), installed when missing and root.
set -euo pipefail
cd "$(dirname "$0")"

if docker compose version >/dev/null 2>&1; then
  exec docker compose -f compose.yaml --profile gpu config -q
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "validating docker/compose.yaml needs the compose plugin or Debian's docker-compose:" >&2
    echo "  sudo apt-get install -y --no-install-recommends docker-compose" >&2
    exit 1
  fi
  echo "installing docker-compose (apt-get) to validate docker/compose.yaml"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends docker-compose >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y --no-install-recommends docker-compose >/dev/null
  fi
fi
exec docker-compose -f compose.yaml --profile gpu config -q
