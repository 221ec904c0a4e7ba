// The one boundary between protobuf (imunpack.v1) and the kernels' types.
//
// Decoding never copies matrix data: a view points into the request's raw
// bytes or its repeated field, which live until the call finishes. Every
// check happens before anything is allocated, and every failure names the
// field and the value.
#ifndef IMUNPACK_SERVER_CONVERT_H_
#define IMUNPACK_SERVER_CONVERT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "imunpack/v1/imunpack.pb.h"
#include "kernels/matrix.h"
#include "kernels/pipeline.h"
#include "kernels/status.h"
#include "proto/quant.h"

namespace imunpack::server {

// Size limits a request is checked against before any allocation.
struct Limits {
  int64_t max_dim = 1 << 16;            // each of m, k, n
  int64_t max_work = int64_t{1} << 36;  // m·k·n
};

// `received`: the raw bytes when they were received apart from the message
// (wire::Parse); they then stand for m.raw().
StatusOr<MatrixView<float>> DecodeFloat(const v1::FloatMatrix& m,
                                        const std::string& field,
                                        const Limits& limits,
                                        std::string_view received = {});
StatusOr<MatrixView<int32_t>> DecodeInt32(const v1::Int32Matrix& m,
                                          const std::string& field,
                                          const Limits& limits,
                                          std::string_view received = {});

// A quantized by the client: dims within limits, then every field checked
// (proto::DecodeQuantized). The digits are taken from `received` when they
// arrived apart from the message (moved, not copied), else copied.
StatusOr<QuantizedA> DecodeQuantizedA(const v1::QuantizedMatrix& m, const std::string& field,
                                      const Limits& limits,
                                      Buffer<int8_t>* received = nullptr);

// m·k·n within limits.max_work (RESOURCE_EXHAUSTED otherwise).
Status CheckWork(int64_t m, int64_t k, int64_t n, const Limits& limits);

// bits 0 -> 8, strategy and per-operand configs checked.
StatusOr<GemmConfig> DecodeConfig(int32_t bits, v1::Strategy strategy,
                                  const v1::QuantConfig& a,
                                  const v1::QuantConfig& b, bool verify);
using proto::DecodeQuant;
using proto::EncodeQuant;

void EncodeFloat(const Matrix<float>& c, bool raw, v1::FloatMatrix* out);
void EncodeInt64(const Matrix<int64_t>& c, bool raw, v1::Int64Matrix* out);
void EncodeOverhead(const Overhead& ov, v1::Overhead* out);
v1::Strategy ToProto(Strategy s);

grpc::Status ToGrpc(const Status& s);

}  // namespace imunpack::server

#endif  // IMUNPACK_SERVER_CONVERT_H_
