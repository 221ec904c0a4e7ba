#include "proto/quant.h"

#include <algorithm>
#include <cstring>

namespace imunpack::proto {

StatusOr<QuantConfig> DecodeQuant(const v1::QuantConfig& q, const std::string& field) {
  QuantConfig out;
  out.percentile = q.percentile() == 0.0 ? 1.0 : q.percentile();
  out.levels = q.levels();
  out.alpha = q.alpha();
  switch (q.granularity()) {
    case v1::GRANULARITY_TENSOR:
      out.granularity = Granularity::kTensor;
      break;
    case v1::GRANULARITY_CHANNEL:
      out.granularity = Granularity::kChannel;
      break;
    default:
      return InvalidArgument(field + ".granularity = " + std::to_string(q.granularity()) +
                             ": unknown value");
  }
  return out;
}

v1::QuantConfig EncodeQuant(const QuantConfig& q) {
  v1::QuantConfig out;
  out.set_percentile(q.percentile);
  out.set_levels(q.levels);
  out.set_alpha(q.alpha);
  out.set_granularity(q.granularity == Granularity::kTensor ? v1::GRANULARITY_TENSOR
                                                            : v1::GRANULARITY_CHANNEL);
  return out;
}

v1::QuantizedMatrix EncodeQuantizedRows(const QuantizedA& q, int64_t r0, int64_t r1) {
  v1::QuantizedMatrix out;
  out.set_bits(q.bits);
  const std::vector<HeavyEntry>& heavy = q.split.heavy;
  const int64_t k = q.split.cols, lo = r0 * k, hi = r1 * k;
  auto first = std::lower_bound(heavy.begin(), heavy.end(), lo,
                                [](const HeavyEntry& e, int64_t i) { return e.index < i; });
  auto last = std::lower_bound(first, heavy.end(), hi,
                               [](const HeavyEntry& e, int64_t i) { return e.index < i; });
  std::string* index = out.mutable_heavy_index();
  std::string* value = out.mutable_heavy_value();
  index->resize((last - first) * sizeof(int64_t));
  value->resize((last - first) * sizeof(int32_t));
  for (auto it = first; it != last; ++it) {
    const int64_t at = it->index - lo;
    const size_t h = static_cast<size_t>(it - first);
    std::memcpy(index->data() + h * sizeof(int64_t), &at, sizeof(int64_t));
    std::memcpy(value->data() + h * sizeof(int32_t), &it->value, sizeof(int32_t));
  }
  const bool per_row = q.scales.sigma.size() > 1;
  for (int64_t i = per_row ? r0 : 0; i < (per_row ? r1 : 1); ++i) {
    out.add_sigma(q.scales.sigma[i]);
    out.add_alpha(q.scales.alpha[i]);
  }
  return out;
}

StatusOr<QuantizedA> DecodeQuantized(const v1::QuantizedMatrix& m, const std::string& field,
                                     Buffer<int8_t>* received) {
  const bool apart = received != nullptr && received->size() > 0;
  const size_t digits = apart ? received->size() : m.digits().size();
  QuantizedA q;
  q.bits = m.bits() == 0 ? 8 : m.bits();
  if (q.bits < 2 || q.bits > 8) {
    return InvalidArgument(field + ".bits = " + std::to_string(m.bits()) + ": must be in [2, 8]");
  }
  const size_t n = static_cast<size_t>(m.rows() > 0 && m.cols() > 0 ? m.rows() * m.cols() : 0);
  if (n == 0 || digits != n) {
    return InvalidArgument(field + " is " + std::to_string(m.rows()) + "x" +
                           std::to_string(m.cols()) + " with " +
                           std::to_string(digits) +
                           " digits; dims must be positive and digits rows·cols bytes");
  }
  const size_t count = m.heavy_value().size() / sizeof(int32_t);
  if (m.heavy_index().size() % sizeof(int64_t) != 0 ||
      m.heavy_value().size() % sizeof(int32_t) != 0 ||
      m.heavy_index().size() / sizeof(int64_t) != count || count > n) {
    return InvalidArgument(field + ": heavy_index has " + std::to_string(m.heavy_index().size()) +
                           " bytes and heavy_value " + std::to_string(m.heavy_value().size()) +
                           "; need 8 and 4 bytes per heavy entry, at most rows·cols entries");
  }
  q.split.rows = m.rows();
  q.split.cols = m.cols();
  if (apart) {
    q.split.base = std::move(*received);
  } else {
    q.split.base.Resize(n);
    std::memcpy(q.split.base.data(), m.digits().data(), n);
  }
  q.split.heavy.resize(count);
  for (size_t h = 0; h < count; ++h) {
    std::memcpy(&q.split.heavy[h].index, m.heavy_index().data() + h * sizeof(int64_t),
                sizeof(int64_t));
    std::memcpy(&q.split.heavy[h].value, m.heavy_value().data() + h * sizeof(int32_t),
                sizeof(int32_t));
  }
  q.scales.sigma.assign(m.sigma().begin(), m.sigma().end());
  q.scales.alpha.assign(m.alpha().begin(), m.alpha().end());
  IMUNPACK_RETURN_IF_ERROR(FinishQuantizedA(&q, field));
  return q;
}

}  // namespace imunpack::proto
