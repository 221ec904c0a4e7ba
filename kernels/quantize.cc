#include "kernels/quantize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "kernels/digits.h"
#include "kernels/select.h"
#include "kernels/target.h"

namespace imunpack {
namespace {

// Largest float below 2^31; rounded values beyond it are clipped.
constexpr float kClampFloat = 2147483520.0f;
constexpr float kTwo31 = 2147483648.0f;

float SigmaFor(float alpha, int levels) {
  double a = std::max(static_cast<double>(alpha), static_cast<double>(kMinAlpha));
  return static_cast<float>(0.5 * levels / a);
}

Status NonFiniteError(MatrixView<float> x, Operand which) {
  for (int64_t i = 0; i < x.rows; ++i) {
    for (int64_t j = 0; j < x.cols; ++j) {
      float v = x(i, j);
      if (!std::isfinite(v)) {
        std::ostringstream os;
        os << (which == Operand::kA ? "a" : "b") << "[" << i << "][" << j
           << "] = " << v << ": matrices must be finite";
        return InvalidArgument(os.str());
      }
    }
  }
  return Internal("non-finite value reported but not found");
}

// Per-thread results of the split pass, concatenated in thread order so the
// heavy list stays sorted by index.
struct Partial {
  std::vector<HeavyEntry> heavy;
  int64_t clipped = 0;
};

inline void AddHeavy(int32_t q, int64_t index, int bits, int8_t* out,
                     Partial* p) {
  uint32_t mag = Magnitude(q);
  *out = Digit(mag, q < 0, 0, bits);
  p->heavy.push_back({index, q});
}

// Rounds a scaled value to the int32 grid, clipping (and counting) beyond it.
inline int32_t RoundClip(float v, int64_t* clipped) {
  float r = RoundHalfEven(v);
  if (std::fabs(r) >= kTwo31) {
    ++*clipped;
    return r < 0 ? -std::numeric_limits<int32_t>::max()
                 : std::numeric_limits<int32_t>::max();
  }
  return static_cast<int32_t>(r);
}

// Writes digit 0 of q[0, n) to out and returns the largest |q|. Branch-free
// sign arithmetic (sgn = 0 or -1) and unsigned magnitudes, so INT32_MIN is no
// special case and GCC vectorizes the loop with its max-reduction.
inline uint32_t WriteDigit0(const int32_t* q, int64_t n, uint32_t dmask, int8_t* out) {
  uint32_t top = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int32_t v = q[j];
    const int32_t sgn = v >> 31;
    const uint32_t mag = (static_cast<uint32_t>(v) ^ static_cast<uint32_t>(sgn)) -
                         static_cast<uint32_t>(sgn);
    top = std::max(top, mag);
    const int32_t d = static_cast<int32_t>(mag & dmask);
    out[j] = static_cast<int8_t>((d ^ sgn) - sgn);
  }
  return top;
}

constexpr int64_t kChunk = 64;

// Positions j of q[0, n) with |q[j]| > dmask, into idx; returns how many.
// Branch-free: heavy hitters are rare and unpredictable, so a branch per
// element would mispredict on nearly every one.
inline int Compact(const int32_t* q, int64_t n, uint32_t dmask, int* idx) {
  int count = 0;
  for (int64_t j = 0; j < n; ++j) {
    idx[count] = static_cast<int>(j);
    count += Magnitude(q[j]) > dmask;
  }
  return count;
}

// Digit 0 of round(x·scale) for a row, in chunks: vector loops round into a
// small int32 buffer and write every digit 0; a chunk whose largest
// magnitude is out of range is revisited to list heavy hitters (and clip).
// col_scale == nullptr: one scale for the row.
IMUNPACK_MULTIVERSION
void QuantizeRow(const float* x, int64_t n, float scale, const float* col_scale,
                 int bits, int8_t* out, int64_t index0, Partial* p) {
  const uint32_t dmask = (1u << (bits - 1)) - 1;
  int32_t q[kChunk];
  int idx[kChunk];
  for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
    const int64_t len = std::min(n - j0, kChunk);
    const float* xs = x + j0;
    // Clamped to the float range of int32 so the conversion is defined;
    // entries beyond it are heavy and handled exactly below.
    if (col_scale) {
      const float* cs = col_scale + j0;
      for (int64_t j = 0; j < len; ++j) {
        float r = RoundHalfEven(xs[j] * cs[j]);
        r = r < -kClampFloat ? -kClampFloat : r;
        r = r > kClampFloat ? kClampFloat : r;
        q[j] = static_cast<int32_t>(r);
      }
    } else {
      for (int64_t j = 0; j < len; ++j) {
        float r = RoundHalfEven(xs[j] * scale);
        r = r < -kClampFloat ? -kClampFloat : r;
        r = r > kClampFloat ? kClampFloat : r;
        q[j] = static_cast<int32_t>(r);
      }
    }
    if (WriteDigit0(q, len, dmask, out + j0) <= dmask) continue;
    const int hits = Compact(q, len, dmask, idx);
    for (int h = 0; h < hits; ++h) {
      const int64_t j = j0 + idx[h];
      const float r = RoundHalfEven(x[j] * (col_scale ? col_scale[j] : scale));
      AddHeavy(RoundClip(r, &p->clipped), index0 + j, bits, out + j, p);
    }
  }
}

IMUNPACK_MULTIVERSION
void SplitIntRow(const int32_t* x, int64_t n, int bits, int8_t* out,
                 int64_t index0, Partial* p) {
  const uint32_t dmask = (1u << (bits - 1)) - 1;
  int idx[kChunk];
  for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
    const int64_t len = std::min(n - j0, kChunk);
    if (WriteDigit0(x + j0, len, dmask, out + j0) <= dmask) continue;
    const int hits = Compact(x + j0, len, dmask, idx);
    for (int h = 0; h < hits; ++h) {
      const int64_t j = j0 + idx[h];
      AddHeavy(x[j], index0 + j, bits, out + j, p);
    }
  }
}

// Runs row_fn(i, partial) over rows in contiguous per-thread ranges and
// gathers the partials into `out` in row order.
template <typename RowFn>
void ForRowsCollect(int64_t rows, int bits, RowFn row_fn, SplitOperand* out) {
  int nt = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(rows, 1)));
  std::vector<Partial> parts(nt);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    int64_t begin = rows * t / nt, end = rows * (t + 1) / nt;
    for (int64_t i = begin; i < end; ++i) row_fn(i, &parts[t]);
  }
  size_t total = 0;
  for (auto& p : parts) total += p.heavy.size();
  out->heavy.clear();
  out->heavy.reserve(total);
  out->clipped = 0;
  uint32_t max_abs = (1u << (bits - 1)) - 1;
  for (auto& p : parts) {
    out->heavy.insert(out->heavy.end(), p.heavy.begin(), p.heavy.end());
    out->clipped += p.clipped;
  }
  for (const HeavyEntry& h : out->heavy) max_abs = std::max(max_abs, Magnitude(h.value));
  out->max_abs = max_abs;
  out->max_digits = NumDigits(max_abs, bits);
  if (out->max_digits == 0) out->max_digits = 1;
}

}  // namespace

StatusOr<Scales> ComputeScales(MatrixView<float> x, const QuantConfig& q,
                               int bits, Operand which) {
  const int levels = EffectiveLevels(q, bits);
  Scales s;
  if (q.granularity == Granularity::kTensor) {
    // With a given alpha only the (cheap) max pass runs, for the NaN/Inf check.
    AbsRank r = KthLargestAbs(x.data, x.size(),
                              q.alpha > 0 ? 1 : PercentileRank(x.size(), q.percentile));
    if (!r.finite) return NonFiniteError(x, which);
    s.alpha.push_back(q.alpha > 0 ? q.alpha : r.kth);
  } else if (which == Operand::kA) {
    // One scale per row of A: rows are contiguous.
    s.alpha.resize(x.rows);
    const int64_t kk = PercentileRank(x.cols, q.percentile);
    bool finite = true;
    for (int64_t i = 0; i < x.rows; ++i) {
      AbsRank r = KthLargestAbs(x.data + i * x.cols, x.cols, kk);
      finite &= r.finite;
      s.alpha[i] = r.kth;
    }
    if (!finite) return NonFiniteError(x, which);
  } else {
    // One scale per column of B.
    s.alpha.resize(x.cols);
    const int64_t kk = PercentileRank(x.rows, q.percentile);
    if (kk == 1) {
      std::vector<uint32_t> m(x.cols, 0);
      for (int64_t i = 0; i < x.rows; ++i) {
        const float* row = x.data + i * x.cols;
        for (int64_t j = 0; j < x.cols; ++j) {
          uint32_t u;
          std::memcpy(&u, row + j, sizeof(u));
          u &= 0x7fffffffu;
          m[j] = std::max(m[j], u);
        }
      }
      for (int64_t j = 0; j < x.cols; ++j) {
        if (m[j] >= 0x7f800000u) return NonFiniteError(x, which);
        std::memcpy(&s.alpha[j], &m[j], sizeof(float));
      }
    } else {
      std::vector<float> col(x.rows);
      for (int64_t j = 0; j < x.cols; ++j) {
        for (int64_t i = 0; i < x.rows; ++i) col[i] = x(i, j);
        AbsRank r = KthLargestAbs(col.data(), x.rows, kk);
        if (!r.finite) return NonFiniteError(x, which);
        s.alpha[j] = r.kth;
      }
    }
  }
  s.sigma.resize(s.alpha.size());
  for (size_t i = 0; i < s.alpha.size(); ++i) s.sigma[i] = SigmaFor(s.alpha[i], levels);
  return s;
}

void QuantizeSplit(MatrixView<float> x, const Scales& scales, int bits,
                   Operand which, SplitOperand* out) {
  out->rows = x.rows;
  out->cols = x.cols;
  out->base.Resize(static_cast<size_t>(x.size()));
  const bool per_tensor = scales.sigma.size() == 1;
  const bool per_column = !per_tensor && which == Operand::kB;
  int8_t* base = out->base.data();
  const float* sig = scales.sigma.data();
  ForRowsCollect(x.rows, bits, [&](int64_t i, Partial* p) {
    const float* row = x.data + i * x.cols;
    int8_t* o = base + i * x.cols;
    QuantizeRow(row, x.cols, per_tensor ? sig[0] : (per_column ? 0.0f : sig[i]),
                per_column ? sig : nullptr, bits, o, i * x.cols, p);
  }, out);
}

void SplitInt(MatrixView<int32_t> x, int bits, SplitOperand* out) {
  out->rows = x.rows;
  out->cols = x.cols;
  out->base.Resize(static_cast<size_t>(x.size()));
  int8_t* base = out->base.data();
  ForRowsCollect(x.rows, bits, [&](int64_t i, Partial* p) {
    SplitIntRow(x.data + i * x.cols, x.cols, bits, base + i * x.cols,
                i * x.cols, p);
  }, out);
}

StatusOr<Quantized> Quantize(MatrixView<float> x, const QuantConfig& q,
                             int bits, Operand which) {
  IMUNPACK_RETURN_IF_ERROR(ValidateBits(bits));
  IMUNPACK_RETURN_IF_ERROR(
      ValidateQuantConfig(q, bits, which == Operand::kA ? "a" : "b"));
  StatusOr<Scales> scales = ComputeScales(x, q, bits, which);
  if (!scales.ok()) return scales.status();
  Quantized out;
  out.values = Matrix<int32_t>(x.rows, x.cols);
  const bool per_tensor = scales->sigma.size() == 1;
  for (int64_t i = 0; i < x.rows; ++i) {
    for (int64_t j = 0; j < x.cols; ++j) {
      float sig = per_tensor ? scales->sigma[0]
                             : scales->sigma[which == Operand::kA ? i : j];
      out.values(i, j) = RoundClip(x(i, j) * sig, &out.clipped);
    }
  }
  out.scales = std::move(scales.value());
  return out;
}

}  // namespace imunpack
