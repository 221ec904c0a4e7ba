#include "kernels/config.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace imunpack {

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kAuto:
      return "auto";
    case Strategy::kRow:
      return "row";
    case Strategy::kColumn:
      return "column";
    case Strategy::kBoth:
      return "both";
  }
  return "unknown";
}

bool ParseStrategy(const std::string& name, Strategy* out) {
  for (Strategy s : {Strategy::kAuto, Strategy::kRow, Strategy::kColumn,
                     Strategy::kBoth}) {
    if (name == StrategyName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

const char* GranularityName(Granularity g) {
  return g == Granularity::kTensor ? "tensor" : "channel";
}

bool ParseGranularity(const std::string& name, Granularity* out) {
  if (name == "tensor") {
    *out = Granularity::kTensor;
  } else if (name == "channel" || name == "row") {
    *out = Granularity::kChannel;
  } else {
    return false;
  }
  return true;
}

int EffectiveLevels(const QuantConfig& q, int bits) {
  return q.levels != 0 ? q.levels : (1 << bits) - 1;
}

Status ValidateBits(int bits) {
  if (bits < 2 || bits > 8) {
    return InvalidArgument("bits = " + std::to_string(bits) +
                           ": must be in [2, 8]");
  }
  return Status::Ok();
}

Status ValidateQuantConfig(const QuantConfig& q, int bits, const char* operand) {
  std::string name(operand);
  if (!(q.percentile > 0.0 && q.percentile <= 1.0)) {
    std::ostringstream os;
    os << name << ".percentile = " << q.percentile << ": must be in (0, 1]";
    return InvalidArgument(os.str());
  }
  if (q.levels != 0 && q.levels < 3) {
    return InvalidArgument(name + ".levels = " + std::to_string(q.levels) +
                           ": must be >= 3 (or 0 for 2^bits - 1)");
  }
  if (q.granularity != Granularity::kTensor &&
      q.granularity != Granularity::kChannel) {
    return InvalidArgument(
        name + ".granularity = " +
        std::to_string(static_cast<int>(q.granularity)) + ": unknown value");
  }
  if (!(q.alpha >= 0.0f && q.alpha <= std::numeric_limits<float>::max())) {
    std::ostringstream os;
    os << name << ".alpha = " << q.alpha << ": must be finite and >= 0 (0: select by percentile)";
    return InvalidArgument(os.str());
  }
  if (q.alpha > 0 && q.granularity != Granularity::kTensor) {
    return InvalidArgument(name + ".alpha is set: only valid with granularity tensor");
  }
  (void)bits;
  return Status::Ok();
}

}  // namespace imunpack
