"""Python client of the imunpack GEMM service (imunpack.v1.GemmService).

    import numpy as np, imunpack
    with imunpack.Client("127.0.0.1:50051") as client:
        c, overhead = client.gemm(a, b, bits=8, percentile=0.999, verify=True)

Matrices are 2-D numpy arrays, sent as raw little-endian bytes. Errors from
the server are raised as imunpack.ImunpackError carrying the gRPC code.
"""

from imunpack.client import Client, ImunpackError

__all__ = ["Client", "ImunpackError"]
