#include "server/convert.h"

#include <cstring>
#include <limits>
#include <sstream>

namespace imunpack::server {
namespace {

Status CheckDims(int64_t rows, int64_t cols, const std::string& field, const Limits& limits) {
  for (auto [name, v] : {std::pair<const char*, int64_t>{"rows", rows}, {"cols", cols}}) {
    if (v <= 0) {
      return InvalidArgument(field + "." + name + " = " + std::to_string(v) +
                             ": must be positive");
    }
    if (v > limits.max_dim) {
      return ResourceExhausted(field + "." + name + " = " + std::to_string(v) +
                               ": above the server's max_dim " +
                               std::to_string(limits.max_dim));
    }
  }
  return Status::Ok();
}

// `raw`: the matrix's raw bytes, in the message or received apart from it.
template <typename Proto>
Status CheckShape(const Proto& m, std::string_view raw, const std::string& field,
                  size_t elem_bytes, const Limits& limits) {
  IMUNPACK_RETURN_IF_ERROR(CheckDims(m.rows(), m.cols(), field, limits));
  const int64_t n = m.rows() * m.cols();  // <= max_dim^2: no overflow
  const bool has_raw = !raw.empty();
  const bool has_values = m.values_size() > 0;
  if (has_raw == has_values) {
    return InvalidArgument(field + ": set exactly one of raw and values (" +
                           (has_raw ? "both are" : "neither is") + " set)");
  }
  if (has_raw && raw.size() != static_cast<size_t>(n) * elem_bytes) {
    return InvalidArgument(field + ".raw has " + std::to_string(raw.size()) +
                           " bytes; " + std::to_string(m.rows()) + "x" +
                           std::to_string(m.cols()) + " needs " +
                           std::to_string(n * static_cast<int64_t>(elem_bytes)));
  }
  if (has_values && m.values_size() != n) {
    return InvalidArgument(field + ".values has " + std::to_string(m.values_size()) +
                           " elements; " + std::to_string(m.rows()) + "x" +
                           std::to_string(m.cols()) + " needs " + std::to_string(n));
  }
  return Status::Ok();
}

}  // namespace

namespace {

// A view into the proto's raw bytes or repeated field: no copy. Little-endian
// hosts only (x86-64, aarch64): raw bytes are the values.
template <typename T, typename Proto>
StatusOr<MatrixView<T>> DecodeView(const Proto& m, std::string_view raw,
                                   const std::string& field, const Limits& limits) {
  IMUNPACK_RETURN_IF_ERROR(CheckShape(m, raw, field, sizeof(T), limits));
  const T* data = raw.empty() ? m.values().data() : reinterpret_cast<const T*>(raw.data());
  return MatrixView<T>{data, m.rows(), m.cols()};
}

}  // namespace

StatusOr<MatrixView<float>> DecodeFloat(const v1::FloatMatrix& m,
                                        const std::string& field,
                                        const Limits& limits, std::string_view received) {
  return DecodeView<float>(m, received.empty() ? std::string_view(m.raw()) : received, field,
                           limits);
}

StatusOr<MatrixView<int32_t>> DecodeInt32(const v1::Int32Matrix& m,
                                          const std::string& field,
                                          const Limits& limits, std::string_view received) {
  return DecodeView<int32_t>(m, received.empty() ? std::string_view(m.raw()) : received, field,
                             limits);
}

StatusOr<QuantizedA> DecodeQuantizedA(const v1::QuantizedMatrix& m, const std::string& field,
                                      const Limits& limits, Buffer<int8_t>* received) {
  IMUNPACK_RETURN_IF_ERROR(CheckDims(m.rows(), m.cols(), field, limits));
  return proto::DecodeQuantized(m, field, received);
}

Status CheckWork(int64_t m, int64_t k, int64_t n, const Limits& limits) {
  const __int128 work = static_cast<__int128>(m) * k * n;
  if (work > limits.max_work) {
    return ResourceExhausted("m·k·n = " + std::to_string(m) + "·" + std::to_string(k) +
                             "·" + std::to_string(n) + " is above the server's max_work " +
                             std::to_string(limits.max_work));
  }
  return Status::Ok();
}

StatusOr<GemmConfig> DecodeConfig(int32_t bits, v1::Strategy strategy,
                                  const v1::QuantConfig& a,
                                  const v1::QuantConfig& b, bool verify) {
  GemmConfig cfg;
  cfg.bits = bits == 0 ? 8 : bits;
  IMUNPACK_RETURN_IF_ERROR(ValidateBits(cfg.bits));
  switch (strategy) {
    case v1::STRATEGY_AUTO:
      cfg.strategy = Strategy::kAuto;
      break;
    case v1::STRATEGY_ROW:
      cfg.strategy = Strategy::kRow;
      break;
    case v1::STRATEGY_COLUMN:
      cfg.strategy = Strategy::kColumn;
      break;
    case v1::STRATEGY_BOTH:
      cfg.strategy = Strategy::kBoth;
      break;
    default:
      return InvalidArgument("strategy = " + std::to_string(strategy) + ": unknown value");
  }
  StatusOr<QuantConfig> qa = DecodeQuant(a, "a_quant");
  if (!qa.ok()) return qa.status();
  StatusOr<QuantConfig> qb = DecodeQuant(b, "b_quant");
  if (!qb.ok()) return qb.status();
  cfg.a = *qa;
  cfg.b = *qb;
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(cfg.a, cfg.bits, "a_quant"));
  IMUNPACK_RETURN_IF_ERROR(ValidateQuantConfig(cfg.b, cfg.bits, "b_quant"));
  cfg.verify = verify;
  return cfg;
}

namespace {

template <typename T, typename Proto>
void EncodeMatrix(const Matrix<T>& c, bool raw, Proto* out) {
  out->set_rows(c.rows());
  out->set_cols(c.cols());
  if (raw) {
    out->set_raw(reinterpret_cast<const char*>(c.data()), c.size() * sizeof(T));
  } else {
    out->mutable_values()->Add(c.data(), c.data() + c.size());
  }
}

}  // namespace

void EncodeFloat(const Matrix<float>& c, bool raw, v1::FloatMatrix* out) {
  EncodeMatrix(c, raw, out);
}

void EncodeInt64(const Matrix<int64_t>& c, bool raw, v1::Int64Matrix* out) {
  EncodeMatrix(c, raw, out);
}

v1::Strategy ToProto(Strategy s) {
  switch (s) {
    case Strategy::kRow:
      return v1::STRATEGY_ROW;
    case Strategy::kColumn:
      return v1::STRATEGY_COLUMN;
    case Strategy::kBoth:
      return v1::STRATEGY_BOTH;
    default:
      return v1::STRATEGY_AUTO;
  }
}

void EncodeOverhead(const Overhead& ov, v1::Overhead* out) {
  out->set_m(ov.m);
  out->set_k(ov.k);
  out->set_n(ov.n);
  out->set_m_unpacked(ov.m_unpacked);
  out->set_k_unpacked(ov.k_unpacked);
  out->set_n_unpacked(ov.n_unpacked);
  out->set_unpack_ratio(ov.unpack_ratio);
  out->set_bits(ov.bits);
  out->set_strategy_a(ToProto(ov.strategy_a));
  out->set_strategy_b(ToProto(ov.strategy_b));
  out->set_heavy_a(ov.heavy_a);
  out->set_heavy_b(ov.heavy_b);
  out->set_max_digits_a(ov.max_digits_a);
  out->set_max_digits_b(ov.max_digits_b);
  out->set_clipped_a(ov.clipped_a);
  out->set_clipped_b(ov.clipped_b);
  out->set_gemm_calls(ov.gemm_calls);
  out->set_inner_groups(ov.inner_groups);
  out->set_accumulator_bits(ov.accumulator_bits);
  v1::PhaseTimes* t = out->mutable_times();
  t->set_select_ms(ov.times.select_ms);
  t->set_quantize_ms(ov.times.quantize_ms);
  t->set_plan_ms(ov.times.plan_ms);
  t->set_unpack_ms(ov.times.unpack_ms);
  t->set_gemm_ms(ov.times.gemm_ms);
  t->set_reassemble_ms(ov.times.reassemble_ms);
  t->set_pipeline_ms(ov.times.total_ms);
  t->set_verify_ms(ov.times.verify_ms);
}

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

}  // namespace imunpack::server
