#include "kernels/plan.h"

#include <algorithm>

#include "kernels/digits.h"

namespace imunpack {
namespace {

// Greedy UnpackBoth with incrementally maintained counts.
//
// excess(entry) = D - 1 - R_o - C_t is how many more splits of its row or
// column the entry still needs; it is "out of range" while excess > 0. All
// out-of-range pieces of line o sit in o's newest sub-line, so the count of
// out-of-range entries of a line is the count of its entries with excess > 0.
// Each step splits the line with the largest count (ties: outer before inner,
// then the lower index), decrements the excess of its out-of-range entries
// and updates both counts. Counts only fall, so a bucket queue finds the next
// line; each entry leaves each adjacency list once, so the total work is
// O(sum of excess + lines · log lines).
OperandPlan PlanBoth(const std::vector<HeavyCoord>& heavy, int64_t outer,
                     int64_t inner) {
  OperandPlan p;
  p.strategy = Strategy::kBoth;
  p.outer_extra.assign(outer, 0);
  p.inner_extra.assign(inner, 0);
  const size_t h = heavy.size();
  std::vector<int32_t> excess(h);
  std::vector<int64_t> ocount(outer, 0), icount(inner, 0);
  for (size_t e = 0; e < h; ++e) {
    excess[e] = heavy[e].digits - 1;
    ++ocount[heavy[e].outer];
    ++icount[heavy[e].inner];
  }
  // CSR adjacency: entries of each outer line and of each inner line.
  auto build = [&](const std::vector<int64_t>& count, bool by_outer,
                   std::vector<int64_t>* start, std::vector<int32_t>* list) {
    start->assign(count.size() + 1, 0);
    for (size_t i = 0; i < count.size(); ++i) (*start)[i + 1] = (*start)[i] + count[i];
    list->resize(h);
    std::vector<int64_t> fill(start->begin(), start->end() - 1);
    for (size_t e = 0; e < h; ++e) {
      int64_t line = by_outer ? heavy[e].outer : heavy[e].inner;
      (*list)[fill[line]++] = static_cast<int32_t>(e);
    }
  };
  std::vector<int64_t> ostart, istart;
  std::vector<int32_t> olist, ilist;
  build(ocount, true, &ostart, &olist);
  build(icount, false, &istart, &ilist);
  // Live length of each line's list: entries with excess 0 are swapped out.
  std::vector<int64_t> olen(outer), ilen(inner);
  for (int64_t o = 0; o < outer; ++o) olen[o] = ocount[o];
  for (int64_t t = 0; t < inner; ++t) ilen[t] = icount[t];

  // Bucket queue over counts. Counts only fall and the greedy always takes
  // the maximum, so once bucket c is the highest non-empty one it can only
  // lose lines (to lower buckets), never gain any: sorting it once by the tie
  // order (outer first, then lower index) and walking it, skipping lines
  // whose count has moved on, visits lines exactly in the order a max-heap
  // would. A line that still holds c out-of-range entries after its split is
  // the best candidate again and is split again at once.
  auto tie_key = [](bool is_outer, int64_t line) {
    return (static_cast<uint64_t>(is_outer) << 32) | (0xFFFFFFFFull - static_cast<uint64_t>(line));
  };
  int64_t max_count = 0;
  for (int64_t c : ocount) max_count = std::max(max_count, c);
  for (int64_t c : icount) max_count = std::max(max_count, c);
  std::vector<std::vector<uint64_t>> bucket(max_count + 1);
  for (int64_t o = 0; o < outer; ++o)
    if (ocount[o] > 0) bucket[ocount[o]].push_back(tie_key(true, o));
  for (int64_t t = 0; t < inner; ++t)
    if (icount[t] > 0) bucket[icount[t]].push_back(tie_key(false, t));

  // Splits `line` once; returns its remaining out-of-range count.
  auto split = [&](bool is_outer, int64_t line) {
    std::vector<int64_t>& counts = is_outer ? ocount : icount;
    std::vector<int64_t>& other_counts = is_outer ? icount : ocount;
    (is_outer ? p.outer_extra : p.inner_extra)[line] += 1;
    std::vector<int32_t>& list = is_outer ? olist : ilist;
    std::vector<int64_t>& len = is_outer ? olen : ilen;
    const int64_t begin = (is_outer ? ostart : istart)[line];
    int64_t n = len[line];
    for (int64_t idx = 0; idx < n;) {
      const int32_t e = list[begin + idx];
      if (excess[e] > 0 && --excess[e] == 0) {
        --counts[line];
        // The crossing line loses this entry too: it moves one bucket down.
        const int64_t other = is_outer ? heavy[e].inner : heavy[e].outer;
        if (--other_counts[other] > 0)
          bucket[other_counts[other]].push_back(tie_key(!is_outer, other));
      }
      if (excess[e] == 0) {
        list[begin + idx] = list[begin + --n];
      } else {
        ++idx;
      }
    }
    len[line] = n;
    return counts[line];
  };

  for (int64_t c = max_count; c > 0; --c) {
    std::vector<uint64_t>& b = bucket[c];
    std::sort(b.begin(), b.end(), std::greater<uint64_t>());
    for (size_t q = 0; q < b.size(); ++q) {
      const bool is_outer = (b[q] >> 32) & 1;
      const int64_t line = static_cast<int64_t>(0xFFFFFFFFull - (b[q] & 0xFFFFFFFFull));
      if ((is_outer ? ocount : icount)[line] != c) continue;  // moved on
      int64_t left = split(is_outer, line);
      while (left == c) left = split(is_outer, line);
      if (left > 0) bucket[left].push_back(tie_key(is_outer, line));
    }
    std::vector<uint64_t>().swap(b);
  }
  for (int64_t o = 0; o < outer; ++o) p.total_outer_extra += p.outer_extra[o];
  return p;
}

}  // namespace

std::vector<HeavyCoord> ToCoords(const SplitOperand& op, Operand which,
                                 int bits) {
  std::vector<HeavyCoord> out;
  out.reserve(op.heavy.size());
  for (const HeavyEntry& h : op.heavy) {
    int64_t r = h.index / op.cols, c = h.index % op.cols;
    uint32_t mag = Magnitude(h.value);
    HeavyCoord hc;
    hc.outer = static_cast<int32_t>(which == Operand::kA ? r : c);
    hc.inner = static_cast<int32_t>(which == Operand::kA ? c : r);
    hc.mag = mag;
    hc.negative = h.value < 0;
    hc.digits = static_cast<int8_t>(NumDigits(mag, bits));
    out.push_back(hc);
  }
  return out;
}

OperandPlan PlanOperand(const std::vector<HeavyCoord>& heavy, int64_t outer,
                        int64_t inner, Strategy strategy) {
  if (strategy == Strategy::kBoth) return PlanBoth(heavy, outer, inner);
  OperandPlan p;
  p.strategy = strategy;
  p.outer_extra.assign(outer, 0);
  p.inner_extra.assign(inner, 0);
  const bool by_outer = strategy == Strategy::kRow;
  std::vector<int32_t>& extra = by_outer ? p.outer_extra : p.inner_extra;
  for (const HeavyCoord& h : heavy) {
    int32_t& x = extra[by_outer ? h.outer : h.inner];
    x = std::max<int32_t>(x, h.digits - 1);
  }
  for (int64_t o = 0; o < outer; ++o) p.total_outer_extra += p.outer_extra[o];
  return p;
}

GemmPlan CombinePlans(OperandPlan a, OperandPlan b, int64_t m, int64_t k,
                      int64_t n) {
  GemmPlan g;
  g.m = m;
  g.k = k;
  g.n = n;
  g.m_unpacked = m + a.total_outer_extra;
  g.n_unpacked = n + b.total_outer_extra;
  int64_t ku = 0;
  for (int64_t t = 0; t < k; ++t)
    ku += (1 + static_cast<int64_t>(a.inner_extra[t])) * (1 + b.inner_extra[t]);
  g.k_unpacked = ku;
  g.a = std::move(a);
  g.b = std::move(b);
  return g;
}

namespace {

// Candidate plans of one operand: the given strategy, or all three.
std::vector<OperandPlan> Candidates(const std::vector<HeavyCoord>& heavy, int64_t outer,
                                    int64_t inner, Strategy strategy) {
  std::vector<OperandPlan> out;
  if (strategy != Strategy::kAuto) {
    out.push_back(PlanOperand(heavy, outer, inner, strategy));
    return out;
  }
  for (Strategy s : {Strategy::kRow, Strategy::kColumn, Strategy::kBoth}) {
    // Without heavy hitters every strategy is the identity: plan once.
    if (heavy.empty() && !out.empty()) break;
    out.push_back(PlanOperand(heavy, outer, inner, s));
  }
  return out;
}

// The pair with the smallest m'·k'·n' (first wins ties).
GemmPlan Best(std::vector<OperandPlan> pa, const std::vector<OperandPlan>& pb, int64_t m,
              int64_t k, int64_t n) {
  // m'·k'·n' can exceed 2^63 in principle; compare in 128 bits.
  unsigned __int128 best = ~static_cast<unsigned __int128>(0);
  size_t bi = 0, bj = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    for (size_t j = 0; j < pb.size(); ++j) {
      int64_t ku = 0;
      for (int64_t t = 0; t < k; ++t)
        ku += (1 + static_cast<int64_t>(pa[i].inner_extra[t])) * (1 + pb[j].inner_extra[t]);
      unsigned __int128 cost = static_cast<unsigned __int128>(m + pa[i].total_outer_extra) *
                               static_cast<unsigned __int128>(ku) *
                               static_cast<unsigned __int128>(n + pb[j].total_outer_extra);
      if (cost < best) {
        best = cost;
        bi = i;
        bj = j;
      }
    }
  }
  return CombinePlans(std::move(pa[bi]), pb[bj], m, k, n);
}

}  // namespace

GemmPlan PlanGemm(const std::vector<HeavyCoord>& a_heavy,
                  const std::vector<HeavyCoord>& b_heavy, int64_t m, int64_t k,
                  int64_t n, Strategy strategy) {
  return Best(Candidates(a_heavy, m, k, strategy), Candidates(b_heavy, n, k, strategy), m, k,
              n);
}

OperandPlan PlanOperandAlone(const std::vector<HeavyCoord>& heavy, int64_t outer,
                             int64_t inner, Strategy strategy) {
  std::vector<OperandPlan> c = Candidates(heavy, outer, inner, strategy);
  size_t best = 0;
  unsigned __int128 best_cost = ~static_cast<unsigned __int128>(0);
  for (size_t i = 0; i < c.size(); ++i) {
    int64_t inner_u = inner;
    for (int32_t x : c[i].inner_extra) inner_u += x;
    const unsigned __int128 cost =
        static_cast<unsigned __int128>(outer + c[i].total_outer_extra) * inner_u;
    if (cost < best_cost) {
      best_cost = cost;
      best = i;
    }
  }
  return std::move(c[best]);
}

GemmPlan PlanGemmWithB(const std::vector<HeavyCoord>& a_heavy, const OperandPlan& b_plan,
                       int64_t m, int64_t k, int64_t n, Strategy a_strategy) {
  return Best(Candidates(a_heavy, m, k, a_strategy), {b_plan}, m, k, n);
}

}  // namespace imunpack
