#include "kernels/reference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace imunpack::reference {

Matrix<int64_t> IntGemm(MatrixView<int32_t> a, MatrixView<int32_t> b) {
  Matrix<int64_t> c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i) {
    for (int64_t j = 0; j < b.cols; ++j) {
      __int128 s = 0;
      for (int64_t t = 0; t < a.cols; ++t) s += static_cast<__int128>(a(i, t)) * b(t, j);
      c(i, j) = static_cast<int64_t>(s);
    }
  }
  return c;
}

namespace {

float AlphaBySort(std::vector<float> v, double percentile) {
  for (float& x : v) x = std::fabs(x);
  std::sort(v.begin(), v.end(), std::greater<float>());
  const int64_t n = static_cast<int64_t>(v.size());
  int64_t kk = static_cast<int64_t>(std::floor(n * (1.0 - percentile)));
  kk = std::clamp<int64_t>(kk, 1, n);
  return v[kk - 1];
}

}  // namespace

Quantized Quantize(MatrixView<float> x, const QuantConfig& q, int bits,
                   Operand which) {
  const int levels = q.levels ? q.levels : (1 << bits) - 1;
  Quantized out;
  std::vector<std::vector<float>> groups;
  if (q.granularity == Granularity::kTensor) {
    groups.emplace_back(x.data, x.data + x.size());
  } else if (which == Operand::kA) {
    for (int64_t i = 0; i < x.rows; ++i)
      groups.emplace_back(x.data + i * x.cols, x.data + (i + 1) * x.cols);
  } else {
    for (int64_t j = 0; j < x.cols; ++j) {
      std::vector<float> col;
      for (int64_t i = 0; i < x.rows; ++i) col.push_back(x(i, j));
      groups.push_back(col);
    }
  }
  for (auto& g : groups) {
    float alpha = AlphaBySort(g, q.percentile);
    out.scales.alpha.push_back(alpha);
    double a = std::max(static_cast<double>(alpha), 1e-20);
    out.scales.sigma.push_back(static_cast<float>(0.5 * levels / a));
  }
  out.values = Matrix<int32_t>(x.rows, x.cols);
  for (int64_t i = 0; i < x.rows; ++i) {
    for (int64_t j = 0; j < x.cols; ++j) {
      size_t g = groups.size() == 1 ? 0 : (which == Operand::kA ? i : j);
      float v = x(i, j) * out.scales.sigma[g];
      double r = std::nearbyint(static_cast<double>(v));
      if (std::fabs(r) >= 2147483648.0) {
        ++out.clipped;
        r = r < 0 ? -2147483647.0 : 2147483647.0;
      }
      out.values(i, j) = static_cast<int32_t>(r);
    }
  }
  return out;
}

Matrix<float> Dequantize(const Matrix<int64_t>& c,
                         const std::vector<float>& sigma_a,
                         const std::vector<float>& sigma_b) {
  Matrix<float> out(c.rows(), c.cols());
  for (int64_t i = 0; i < c.rows(); ++i) {
    for (int64_t j = 0; j < c.cols(); ++j) {
      double ia = 1.0 / static_cast<double>(sigma_a.size() > 1 ? sigma_a[i] : sigma_a[0]);
      double ib = 1.0 / static_cast<double>(sigma_b.size() > 1 ? sigma_b[j] : sigma_b[0]);
      out(i, j) = static_cast<float>(static_cast<double>(c(i, j)) * (ia * ib));
    }
  }
  return out;
}

namespace {

int64_t FloorDiv(int64_t x, int64_t s) {
  int64_t q = x / s;
  if ((x % s != 0) && ((x < 0) != (s < 0))) --q;
  return q;
}

// Row version; the column version transposes around it.
PaperUnpacked UnpackRowsImpl(const Matrix<int64_t>& x, int bits) {
  const int64_t s = int64_t{1} << (bits - 1);
  std::vector<std::vector<int64_t>> rows;
  PaperUnpacked out;
  for (int64_t i = 0; i < x.rows(); ++i) {
    rows.emplace_back(x.data() + i * x.cols(), x.data() + (i + 1) * x.cols());
    out.origin.push_back(i);
    out.exponent.push_back(0);
  }
  for (;;) {
    std::vector<size_t> bad;
    for (size_t r = 0; r < rows.size(); ++r) {
      for (int64_t v : rows[r]) {
        if (v > s - 1 || v < -(s - 1)) {
          bad.push_back(r);
          break;
        }
      }
    }
    if (bad.empty()) break;
    for (size_t r : bad) {
      std::vector<int64_t> hi(rows[r].size());
      for (size_t j = 0; j < hi.size(); ++j) {
        int64_t v = rows[r][j];
        hi[j] = FloorDiv(v, s);
        rows[r][j] = v - hi[j] * s;
      }
      rows.push_back(hi);
      out.origin.push_back(out.origin[r]);
      out.exponent.push_back(out.exponent[r] + 1);
    }
  }
  out.values = Matrix<int64_t>(static_cast<int64_t>(rows.size()), x.cols());
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy(rows[r].begin(), rows[r].end(), out.values.data() + r * x.cols());
  return out;
}

Matrix<int64_t> Transpose(const Matrix<int64_t>& x) {
  Matrix<int64_t> t(x.cols(), x.rows());
  for (int64_t i = 0; i < x.rows(); ++i)
    for (int64_t j = 0; j < x.cols(); ++j) t(j, i) = x(i, j);
  return t;
}

}  // namespace

PaperUnpacked PaperUnpackRows(const Matrix<int64_t>& x, int bits) {
  return UnpackRowsImpl(x, bits);
}

PaperUnpacked PaperUnpackColumns(const Matrix<int64_t>& x, int bits) {
  PaperUnpacked r = UnpackRowsImpl(Transpose(x), bits);
  r.values = Transpose(r.values);
  return r;
}

BothCounts GreedyBoth(const Matrix<int64_t>& x, int bits) {
  const int64_t s = int64_t{1} << (bits - 1);
  // The current piece matrix as nested vectors with line origins.
  std::vector<std::vector<int64_t>> v;
  for (int64_t i = 0; i < x.rows(); ++i)
    v.emplace_back(x.data() + i * x.cols(), x.data() + (i + 1) * x.cols());
  std::vector<int64_t> row_origin(x.rows()), col_origin(x.cols());
  for (int64_t i = 0; i < x.rows(); ++i) row_origin[i] = i;
  for (int64_t j = 0; j < x.cols(); ++j) col_origin[j] = j;
  BothCounts out;
  out.outer_extra.assign(x.rows(), 0);
  out.inner_extra.assign(x.cols(), 0);
  auto out_of_range = [s](int64_t y) { return y > s - 1 || y < -(s - 1); };
  auto lo = [s](int64_t y) { return y < 0 ? -((-y) % s) : y % s; };
  auto hi = [s](int64_t y) { return y < 0 ? -((-y) / s) : y / s; };
  for (;;) {
    const size_t rows = v.size(), cols = v[0].size();
    std::vector<int64_t> rc(rows, 0), cc(cols, 0);
    for (size_t i = 0; i < rows; ++i)
      for (size_t j = 0; j < cols; ++j)
        if (out_of_range(v[i][j])) ++rc[i], ++cc[j];
    // Best: most entries; outer before inner; lower original index.
    int64_t best = 0, best_origin = 0;
    bool best_row = true;
    size_t best_line = 0;
    for (size_t i = 0; i < rows; ++i) {
      if (rc[i] > best || (rc[i] == best && best > 0 && best_row &&
                           row_origin[i] < best_origin)) {
        best = rc[i];
        best_origin = row_origin[i];
        best_line = i;
      }
    }
    for (size_t j = 0; j < cols; ++j) {
      if (cc[j] > best || (cc[j] == best && best > 0 && !best_row &&
                           col_origin[j] < best_origin)) {
        best = cc[j];
        best_origin = col_origin[j];
        best_line = j;
        best_row = false;
      }
    }
    if (best == 0) break;
    if (best_row) {
      std::vector<int64_t> h(cols);
      for (size_t j = 0; j < cols; ++j) {
        h[j] = hi(v[best_line][j]);
        v[best_line][j] = lo(v[best_line][j]);
      }
      v.push_back(h);
      row_origin.push_back(row_origin[best_line]);
      ++out.outer_extra[row_origin[best_line]];
    } else {
      for (size_t i = 0; i < rows; ++i) {
        v[i].push_back(hi(v[i][best_line]));
        v[i][best_line] = lo(v[i][best_line]);
      }
      col_origin.push_back(col_origin[best_line]);
      ++out.inner_extra[col_origin[best_line]];
    }
  }
  return out;
}

}  // namespace imunpack::reference
