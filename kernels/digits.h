// Sign-magnitude base-s digits, s = 2^(b-1) (DESIGN 1.2).
//
// x = sum_e d_e s^e with every d_e in [-(s-1), s-1] carrying the sign of x
// (truncation toward zero). An entry is representable in b bits iff |x| < s;
// -2^(b-1) is never produced. This needs no more digits than the paper's
// floor/modulo split and sometimes fewer (b=4: -57 = -(7·8 + 1) is two digits).
#ifndef IMUNPACK_KERNELS_DIGITS_H_
#define IMUNPACK_KERNELS_DIGITS_H_

#include <bit>
#include <cstdint>

namespace imunpack {

// Bits per digit: s = 2^DigitBits(b).
inline int DigitBits(int bits) { return bits - 1; }

// Number of base-2^(b-1) digits of a magnitude; 0 for 0.
inline int NumDigits(uint32_t mag, int bits) {
  int bitlen = 32 - std::countl_zero(mag);
  return (bitlen + bits - 2) / (bits - 1);
}

// Digit e of x = sign(x)·mag.
inline int8_t Digit(uint32_t mag, bool negative, int e, int bits) {
  int shift = e * (bits - 1);
  uint32_t d = shift >= 32 ? 0 : (mag >> shift) & ((1u << (bits - 1)) - 1);
  return static_cast<int8_t>(negative ? -static_cast<int>(d) : static_cast<int>(d));
}

inline uint32_t Magnitude(int32_t x) {
  return x < 0 ? 0u - static_cast<uint32_t>(x) : static_cast<uint32_t>(x);
}

}  // namespace imunpack

#endif  // IMUNPACK_KERNELS_DIGITS_H_
