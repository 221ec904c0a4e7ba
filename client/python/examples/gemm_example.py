#!/usr/bin/env python3
"""Calls an imunpack server from Python and checks its answers with numpy.

    PYTHONPATH=build/python python3 client/python/examples/gemm_example.py \
        --target 127.0.0.1:50051

Exits non-zero when any check fails.
"""
import argparse
import sys

import grpc
import numpy as np

import imunpack


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--m", type=int, default=256)
    parser.add_argument("--k", type=int, default=512)
    parser.add_argument("--n", type=int, default=384)
    args = parser.parse_args()
    rng = np.random.default_rng(1)

    with imunpack.Client(args.target) as client:
        print("server health:", client.health())
        info = client.info()
        print("server: version", info["version"], "oneDNN", info["onednn_version"],
              "ISA", info["isa"])

        # Activations with a few outlier channels, as in LLMs; gaussian weights.
        a = rng.standard_normal((args.m, args.k), dtype=np.float32)
        a[:, rng.choice(args.k, 4, replace=False)] += 25.0
        b = rng.standard_normal((args.k, args.n), dtype=np.float32)
        c, overhead = client.gemm(a, b, bits=8, percentile=0.999, verify=True)
        reference = a.astype(np.float64) @ b.astype(np.float64)
        rel = np.linalg.norm(c - reference) / np.linalg.norm(reference)
        print(f"gemm {args.m}x{args.k}x{args.n}: rel. error vs numpy {rel:.3e} "
              f"(server's own fp32 check {overhead['verification']['rel_fro_error']:.3e}), "
              f"unpack ratio {overhead['unpack_ratio']:.4f}, heavy hitters A {overhead['heavy_a']}, "
              f"gemm {overhead['times']['gemm_ms']:.2f} ms of {overhead['times']['server_ms']:.2f} ms")
        assert c.shape == (args.m, args.n) and c.dtype == np.float32
        assert rel < 0.1, rel
        assert abs(rel - overhead["verification"]["rel_fro_error"]) < 0.1 * rel + 1e-6

        # A registered B gives the same bits as the inline one.
        registered = client.upload(b, name="weights", bits=8)
        c2, _ = client.gemm(a, registered["handle"], bits=8, percentile=0.999)
        assert np.array_equal(c, c2), "registered B differs from inline B"
        print("registered B", registered["handle"], "gives identical bits")
        client.delete(registered["handle"])

        # The exact integer product, heavy hitters included (|x| up to 2^20).
        ia = rng.integers(-2**20, 2**20, size=(97, 131), dtype=np.int32)
        ib = rng.integers(-100, 100, size=(131, 65), dtype=np.int32)
        ic, iov = client.int_gemm(ia, ib, bits=4)
        assert ic.dtype == np.int64
        assert np.array_equal(ic, ia.astype(np.int64) @ ib.astype(np.int64)), "int_gemm not exact"
        print(f"int_gemm 97x131x65 at 4 bits: exact, unpack ratio {iov['unpack_ratio']:.2f}")

        # Bad input is an exception naming the field and the value.
        try:
            client.gemm(a, b, bits=9)
            raise AssertionError("bits=9 was accepted")
        except imunpack.ImunpackError as e:
            assert e.code == grpc.StatusCode.INVALID_ARGUMENT and "bits = 9" in e.message, e
            print("bits=9 refused:", e)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
