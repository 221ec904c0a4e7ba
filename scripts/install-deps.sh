#!/usr/bin/env bash
# Installs the Debian 12 packages imunpack builds, tests and runs with.
# --deploy adds what the container and manifest tests use (podman, yamllint,
# debootstrap, Node.js for the schema checks); --fuzz adds clang for fuzzing.
# Idempotent: packages already present are not fetched again. Runs as root, or
# through sudo otherwise.
set -euo pipefail

# ocl-icd-opencl-dev is only a Recommends of libdnnl-dev, but oneDNN's CMake
# config requires it, and recommends are not installed here.
packages=(
  cmake g++ make pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libdnnl-dev ocl-icd-opencl-dev libspdlog-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libssl-dev
  python3 python3-grpcio python3-protobuf python3-numpy gnuplot-nox
)
if [ "${1:-}" = --fuzz ]; then
  # clang, its libFuzzer and sanitizer runtimes, and its OpenMP.
  packages+=(clang libclang-rt-14-dev libomp-dev)
fi
if [ "${1:-}" = --deploy ]; then
  # catatonit and runc are only Recommends of podman, and both are needed.
  packages+=(podman runc catatonit debootstrap yamllint python3-yaml)
  # Any Node.js 18+ will do; Debian's when none is installed.
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
