#!/usr/bin/env bash
# The Python client's example against a real imunpack-server on 127.0.0.1:
# results checked with numpy, errors raised with their gRPC code.
# Usage: python_client_test.sh BIN_DIR PYTHON_PACKAGE_DIR PYTHON EXAMPLE
set -u
bin=$1
server=
trap '[ -n "$server" ] && kill -9 "$server" 2>/dev/null' EXIT
. "$(dirname "$0")/lib.sh"
start_server "$bin" || exit 1
PYTHONPATH=$2 "$3" "$4" --target "127.0.0.1:$port"
