#!/usr/bin/env bash
# Installs the Debian 12 packages beamline-router needs to build, run and test.
# Idempotent: only missing packages are installed, and apt-get update runs only then.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git xxd
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  libssl-dev libsqlite3-dev sqlite3 rapidjson-dev libsimdjson-dev libtomlplusplus-dev
  libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libnats-dev nats-server libjemalloc-dev
  nghttp2-client prometheus clang-format
  python3 python3-grpcio python3-grpc-tools python3-protobuf
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
