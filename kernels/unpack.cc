#include "kernels/unpack.h"

#include <algorithm>

#include "kernels/digits.h"

namespace imunpack {
namespace {

ExtraLines MakeExtraLines(const OperandPlan& p) {
  ExtraLines x;
  const int64_t outer = static_cast<int64_t>(p.outer_extra.size());
  x.begin.resize(outer + 1);
  x.origin.reserve(p.total_outer_extra);
  x.exponent.reserve(p.total_outer_extra);
  x.begin[0] = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int32_t a = 1; a <= p.outer_extra[o]; ++a) {
      x.origin.push_back(static_cast<int32_t>(o));
      x.exponent.push_back(static_cast<int8_t>(a));
    }
    x.begin[o + 1] = static_cast<int64_t>(x.origin.size());
  }
  return x;
}

}  // namespace

void Unpack(const SplitOperand& a, const std::vector<HeavyCoord>& a_heavy,
            const SplitOperand& b, const std::vector<HeavyCoord>& b_heavy,
            const GemmPlan& plan, int bits, UnpackedGemm* out) {
  const int64_t m = plan.m, k = plan.k, n = plan.n;
  out->bits = bits;
  out->m = m;
  out->k = k;
  out->n = n;
  out->a_base = a.base.data();
  out->b_base = b.base.data();
  out->rows = MakeExtraLines(plan.a);
  out->cols = MakeExtraLines(plan.b);
  const int64_t me = out->rows.count(), ne = out->cols.count();
  const int64_t mu = m + me, nu = n + ne;
  const std::vector<int32_t>& ca = plan.a.inner_extra;
  const std::vector<int32_t>& cb = plan.b.inner_extra;

  // Inner layout of groups g >= 1: for each split t, the sub-indices
  // (b', c) != (0, 0) in order; col_of[slot[t] + b'·(C^B_t + 1) + c].
  std::vector<int64_t> slot(k, -1);
  std::vector<int64_t> col_of;
  std::vector<int64_t> group_k;  // index g - 1
  for (int64_t t = 0; t < k; ++t) {
    if (ca[t] == 0 && cb[t] == 0) continue;
    slot[t] = static_cast<int64_t>(col_of.size());
    for (int32_t bp = 0; bp <= ca[t]; ++bp) {
      for (int32_t c = 0; c <= cb[t]; ++c) {
        const int g = bp + c;
        if (g == 0) {
          col_of.push_back(-1);
          continue;
        }
        if (static_cast<int64_t>(group_k.size()) < g) group_k.resize(g, 0);
        col_of.push_back(group_k[g - 1]++);
      }
    }
  }
  out->groups.clear();
  out->groups.resize(group_k.size());
  for (size_t gi = 0; gi < group_k.size(); ++gi) {
    InnerGroup& grp = out->groups[gi];
    grp.exponent = static_cast<int>(gi) + 1;
    grp.k = group_k[gi];
    grp.a.Resize(static_cast<size_t>(mu * grp.k));
    grp.b.Resize(static_cast<size_t>(grp.k * nu));
    grp.a.Zero();
    grp.b.Zero();
  }
  out->a_extra.Resize(static_cast<size_t>(me * k));
  out->a_extra.Zero();
  out->b_extra.Resize(static_cast<size_t>(k * ne));
  out->b_extra.Zero();

  // Dense parts of groups g >= 1: digit 0 of A's column t feeds (t, 0, c),
  // digit 0 of B's row t feeds (t, b', 0). Heavy digits come below.
  for (int64_t t = 0; t < k; ++t) {
    if (slot[t] < 0) continue;
    for (int32_t c = 1; c <= cb[t]; ++c) {
      InnerGroup& grp = out->groups[c - 1];
      const int64_t col = col_of[slot[t] + c];
      for (int64_t i = 0; i < m; ++i) grp.a[i * grp.k + col] = a.base[i * k + t];
    }
    for (int32_t bp = 1; bp <= ca[t]; ++bp) {
      InnerGroup& grp = out->groups[bp - 1];
      const int64_t row = col_of[slot[t] + bp * (cb[t] + 1)];
      std::copy_n(b.base.data() + t * n, n, grp.b.data() + row * nu);
    }
  }

  // Heavy digits of A: digit e -> row (i, a), inner (t, b', c) for every c.
  const std::vector<int32_t>& ra = plan.a.outer_extra;
  for (const HeavyCoord& h : a_heavy) {
    const int64_t i = h.outer, t = h.inner;
    for (int e = 0; e < h.digits; ++e) {
      const int8_t d = Digit(h.mag, h.negative, e, bits);
      const int32_t ar = std::min<int32_t>(e, ra[i]);
      const int32_t bp = e - ar;
      if (d == 0 || (ar == 0 && bp == 0)) continue;  // zero, or the base digit
      const int64_t row = ar == 0 ? i : m + out->rows.begin[i] + ar - 1;
      for (int32_t c = 0; c <= cb[t]; ++c) {
        if (bp + c == 0) {
          out->a_extra[(row - m) * k + t] = d;
        } else {
          InnerGroup& grp = out->groups[bp + c - 1];
          grp.a[row * grp.k + col_of[slot[t] + bp * (cb[t] + 1) + c]] = d;
        }
      }
    }
  }
  // Heavy digits of B: digit e -> column (j, a_B), inner (t, b', c), all b'.
  const std::vector<int32_t>& rb = plan.b.outer_extra;
  for (const HeavyCoord& h : b_heavy) {
    const int64_t j = h.outer, t = h.inner;
    for (int e = 0; e < h.digits; ++e) {
      const int8_t d = Digit(h.mag, h.negative, e, bits);
      const int32_t ab = std::min<int32_t>(e, rb[j]);
      const int32_t c = e - ab;
      if (d == 0 || (ab == 0 && c == 0)) continue;
      const int64_t col = ab == 0 ? j : n + out->cols.begin[j] + ab - 1;
      for (int32_t bp = 0; bp <= ca[t]; ++bp) {
        if (bp + c == 0) {
          out->b_extra[t * ne + (col - n)] = d;
        } else {
          InnerGroup& grp = out->groups[bp + c - 1];
          grp.b[col_of[slot[t] + bp * (cb[t] + 1) + c] * nu + col] = d;
        }
      }
    }
  }
}

}  // namespace imunpack
