#!/usr/bin/env bash
# The Python client's example against a real imunpack-server on 127.0.0.1:
# results checked with numpy, errors raised with their gRPC code.
# Usage: python_client_test.sh BIN_DIR PYTHON_PACKAGE_DIR PYTHON EXAMPLE
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
start_server "$bin" || exit 1
PYTHONPATH=$2 "$3" "$4" --target "127.0.0.1:$port"
[ $? -eq 0 ] || exit 1

# Reflection: a client with no generated code lists, describes and calls.
reflect="$3 $(dirname "$4")/grpc_reflect.py --target 127.0.0.1:$port"
$reflect list | grep -qx "imunpack.v1.GemmService" || { echo "reflection: service not listed"; exit 1; }
$reflect describe imunpack.v1.GemmService | grep -q "rpc IntGemm(imunpack.v1.IntGemmRequest)" \
  || { echo "reflection: IntGemm not described"; exit 1; }
$reflect call imunpack.v1.GemmService/IntGemm \
  '{"a": {"rows": 1, "cols": 2, "values": [3, 4]}, "b": {"rows": 2, "cols": 1, "values": [5, 6]}}' \
  | tr -d ' \n' | grep -q '"values":\["39"\]' || { echo "reflection: 3*5+4*6 != 39"; exit 1; }
echo "reflection: list, describe and a JSON call of IntGemm (3*5+4*6 = 39) work"
