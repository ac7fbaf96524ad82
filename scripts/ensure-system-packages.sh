#!/usr/bin/env bash
# Installs the Debian packages fasforge needs outside npm, when they are missing: ffmpeg (with
# ffprobe) for video sources. Idempotent: does nothing when everything is already on PATH.
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "fasforge needs the Debian package(s) ${missing[*]} for video sources; install them as root:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -q >/dev/null
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
