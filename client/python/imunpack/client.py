"""The imunpack Python client: a thin layer over the generated gRPC stubs."""

import grpc
import numpy as np
from google.protobuf import json_format

from imunpack.v1 import imunpack_pb2 as pb
from imunpack.v1 import imunpack_pb2_grpc as pb_grpc

_STRATEGIES = {
    "auto": pb.STRATEGY_AUTO,
    "row": pb.STRATEGY_ROW,
    "column": pb.STRATEGY_COLUMN,
    "both": pb.STRATEGY_BOTH,
}
_GRANULARITIES = {"tensor": pb.GRANULARITY_TENSOR, "channel": pb.GRANULARITY_CHANNEL}
_HEALTH = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class ImunpackError(Exception):
    """A failed call: `code` is the grpc.StatusCode, `message` the server's words."""

    def __init__(self, code, message):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


def _to_dict(message):
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, including_default_value_fields=True
    )


def _matrix(array, name, dtype, out):
    """Fills a FloatMatrix/Int32Matrix from a 2-D array, as raw bytes."""
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got shape {a.shape}")
    if dtype == np.int32 and a.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected integers, got dtype {a.dtype}")
    if dtype == np.int32 and a.size and (a.min() < -(2**31) or a.max() > 2**31 - 1):
        raise ValueError(f"{name}: values outside int32")
    out.rows, out.cols = a.shape
    out.raw = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def _result(matrix, dtype):
    if matrix.raw:
        data = np.frombuffer(matrix.raw, dtype=np.dtype(dtype).newbyteorder("<"))
    else:
        data = np.asarray(matrix.values, dtype=dtype)
    return data.astype(dtype, copy=False).reshape(matrix.rows, matrix.cols)


def _quant(percentile, levels, granularity, alpha=None):
    q = pb.QuantConfig()
    if percentile is not None:
        q.percentile = percentile
    if levels is not None:
        q.levels = levels
    if granularity not in _GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}: one of {sorted(_GRANULARITIES)}")
    q.granularity = _GRANULARITIES[granularity]
    if alpha is not None:
        q.alpha = alpha
    return q


def _strategy(name):
    if name not in _STRATEGIES:
        raise ValueError(f"strategy {name!r}: one of {sorted(_STRATEGIES)}")
    return _STRATEGIES[name]


class Client:
    """A connection to one server, or to several with round_robin.

    target: "host:port", "dns:///name:port", or a list of "host:port".
    timeout: seconds per call.
    tls: connect with TLS (implied by tls_ca); tls_ca: PEM file to check the
    server with (None: the system's roots); tls_cert/tls_key: PEM files of a
    client certificate (mutual TLS). token: sent as "authorization: Bearer".
    """

    def __init__(self, target="127.0.0.1:50051", *, timeout=120.0,
                 max_message_bytes=1 << 30, tls=False, tls_ca=None, tls_cert=None,
                 tls_key=None, token=None):
        if isinstance(target, (list, tuple)):
            target = "ipv4:" + ",".join(target)
        options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.lb_policy_name", "round_robin"),
        ]
        if tls or tls_ca or tls_cert:
            def read(path):
                if path is None:
                    return None
                with open(path, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(read(tls_ca), read(tls_key), read(tls_cert))
            self._channel = grpc.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = pb_grpc.GemmServiceStub(self._channel)
        self._timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise ImunpackError(e.code(), e.details()) from None

    def gemm(self, a, b, *, bits=8, percentile=None, levels=None, granularity="tensor",
             percentile_b=None, levels_b=None, granularity_b="tensor", strategy="auto",
             verify=False, request_id=""):
        """C = A·B through IM-Unpack on the server.

        a: m x k floats. b: k x n floats, or the handle (str) of a registered
        matrix. percentile/levels/granularity quantize A (percentile 0.999 is
        typical for activations; None = the server's default, 1); the *_b
        ones quantize an inline B. Returns (C as float32 m x n, overhead dict
        with the unpack ratio, heavy hitters, phase times in ms, the replica
        id and, with verify, the error against fp32).
        """
        req = pb.GemmRequest(bits=bits, strategy=_strategy(strategy), verify=verify,
                             request_id=request_id)
        _matrix(a, "a", np.float32, req.a)
        req.a_quant.CopyFrom(_quant(percentile, levels, granularity))
        if isinstance(b, str):
            req.b_handle = b
        else:
            _matrix(b, "b", np.float32, req.b)
            req.b_quant.CopyFrom(_quant(percentile_b, levels_b, granularity_b))
        resp = self._call(self._stub.Gemm, req)
        overhead = _to_dict(resp.overhead)
        overhead["replica_id"] = resp.replica_id
        if verify:
            overhead["verification"] = _to_dict(resp.verification)
        return _result(resp.c, np.float32), overhead

    def int_gemm(self, a, b, *, bits=8, strategy="auto"):
        """The exact int64 product of int32 matrices. Returns (C, overhead dict)."""
        req = pb.IntGemmRequest(bits=bits, strategy=_strategy(strategy))
        _matrix(a, "a", np.int32, req.a)
        _matrix(b, "b", np.int32, req.b)
        resp = self._call(self._stub.IntGemm, req)
        overhead = _to_dict(resp.overhead)
        overhead["replica_id"] = resp.replica_id
        return _result(resp.c, np.int64), overhead

    def upload(self, b, *, name="", bits=8, percentile=None, levels=None,
               granularity="tensor", strategy="auto"):
        """Registers B (quantized and unpacked once). Returns its info dict;
        pass info["handle"] as gemm's b. The handle is a content address:
        uploading the same matrix again returns it at no cost."""
        req = pb.UploadMatrixRequest(name=name, bits=bits, strategy=_strategy(strategy))
        _matrix(b, "b", np.float32, req.matrix)
        req.quant.CopyFrom(_quant(percentile, levels, granularity))
        return _to_dict(self._call(self._stub.UploadMatrix, req).info)

    def delete(self, handle):
        self._call(self._stub.DeleteMatrix, pb.DeleteMatrixRequest(handle=handle))

    def list(self):
        """The registered matrices, as info dicts."""
        resp = self._call(self._stub.ListMatrices, pb.ListMatricesRequest())
        return [_to_dict(m) for m in resp.matrices]

    def info(self):
        """Server version, oneDNN ISA, workers, limits, load, uptime, replica id."""
        return _to_dict(self._call(self._stub.GetServerInfo, pb.GetServerInfoRequest()))

    def health(self):
        """grpc.health.v1 status of the whole server: "SERVING", "NOT_SERVING", ..."""
        check = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda _: b"",
            response_deserializer=lambda data: data,
        )
        try:
            data = check(None, timeout=self._timeout)
        except grpc.RpcError as e:
            raise ImunpackError(e.code(), e.details()) from None
        # HealthCheckResponse: field 1 (varint) = status; absent = UNKNOWN.
        status = data[1] if len(data) >= 2 and data[0] == 0x08 else 0
        return _HEALTH.get(status, "UNKNOWN")
