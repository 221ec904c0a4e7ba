# imunpack: the GEMM server, the CLI and the load tool on Debian 12.
#   podman build --format docker -t imunpack .     (or docker build -t imunpack .)
#   podman run --rm --network host imunpack        (gRPC on :50051, metrics on :9090)
# Configuration is by IMUNPACK_* environment variables (imunpack-server --help).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev \
      protobuf-compiler libdnnl-dev ocl-icd-opencl-dev libspdlog-dev libcli11-dev \
      nlohmann-json3-dev libcpp-httplib-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY proto proto
COPY kernels kernels
COPY common common
COPY server server
COPY client client
COPY load load
COPY bench bench
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DIMUNPACK_PYTHON=OFF \
 && cmake --build build -j"$(nproc)" --target imunpack-server imunpack imunpack-load \
 && strip build/bin/imunpack-server build/bin/imunpack build/bin/imunpack-load

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libdnnl2 libspdlog1.10 libcpp-httplib0.11 libgomp1 libssl3 \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY --from=build /src/build/bin/imunpack-server /src/build/bin/imunpack \
                  /src/build/bin/imunpack-load /usr/local/bin/
# Listen on every interface inside the container; metrics on their own port.
ENV IMUNPACK_ADDRESS=0.0.0.0:50051 \
    IMUNPACK_METRICS_ADDRESS=0.0.0.0 \
    IMUNPACK_METRICS_PORT=9090 \
    IMUNPACK_LOG_FORMAT=json
EXPOSE 50051 9090
# A numeric non-root user: no entry in /etc/passwd is needed.
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["sh", "-c", "exec imunpack --target 127.0.0.1:${IMUNPACK_ADDRESS##*:} health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["imunpack-server"]
