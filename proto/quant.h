// Conversions between imunpack.v1 messages and the kernels' types that both
// the server and the C++ client need: quantization configs, and A quantized
// by the client (QuantizedMatrix).
#ifndef IMUNPACK_PROTO_QUANT_H_
#define IMUNPACK_PROTO_QUANT_H_

#include <string>

#include "imunpack/v1/imunpack.pb.h"
#include "kernels/config.h"
#include "kernels/pipeline.h"
#include "kernels/status.h"

namespace imunpack::proto {

// percentile 0 -> 1, the granularity enum checked (the field is named).
StatusOr<QuantConfig> DecodeQuant(const v1::QuantConfig& q, const std::string& field);
v1::QuantConfig EncodeQuant(const QuantConfig& q);

// Rows [r0, r1) of q as a QuantizedMatrix without its digits (the caller
// frames rows, cols and digits: proto/wire.h); heavy positions are relative
// to row r0.
v1::QuantizedMatrix EncodeQuantizedRows(const QuantizedA& q, int64_t r0, int64_t r1);

// A QuantizedMatrix checked and turned into a QuantizedA; every failure
// names `field` and the value. The digits are m.digits() (copied), or
// `received` (moved) when non-empty: the digits parsed apart (wire::Parse).
StatusOr<QuantizedA> DecodeQuantized(const v1::QuantizedMatrix& m, const std::string& field,
                                     Buffer<int8_t>* received = nullptr);

}  // namespace imunpack::proto

#endif  // IMUNPACK_PROTO_QUANT_H_
