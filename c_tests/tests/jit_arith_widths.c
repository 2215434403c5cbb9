// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=5
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     a8=240 a16=27131 a32=1408290313 a64=13704136022105416486 x=6014755313.024881 y=3443936.000000

// Arithmetic a trace must get bit-exact: 8/16/32/64-bit integers with wrap-around, signed and
// unsigned division and remainder (negative operands), shifts (arithmetic and logical), casts
// between widths and to and from floats, float and double arithmetic. The helpers are
// `noinline`, so the trace inlines them.

#include <stdint.h>
#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static uint8_t mix8(uint8_t a, int8_t b) {
  return (uint8_t)(a * 7 + (uint8_t)b) ^ (uint8_t)(a >> 3);
}
__attribute__((noinline)) static int16_t mix16(int16_t a, uint16_t b) {
  return (int16_t)(a * 3 - (int16_t)(b / 5) + (a % 7) + (a >> 2));
}
__attribute__((noinline)) static int32_t mix32(int32_t a, int32_t b) {
  int32_t d = b == 0 ? 1 : b;
  return a / d + a % d - (int32_t)((uint32_t)a >> 5) + (a << 3);
}
__attribute__((noinline)) static uint64_t mix64(uint64_t a, int64_t b) {
  int64_t d = b == 0 ? 3 : b;
  return a * 0x9E3779B97F4A7C15ull + (uint64_t)(b / d) + a % 1000003 + (uint64_t)((int64_t)a >> 7);
}
__attribute__((noinline)) static double fmix(double x, float y, int i) {
  float z = y * 1.5f - (float)i / 3.0f;
  return x * 0.75 + (double)z - (double)(int64_t)(x / 7.0) + (double)(uint32_t)(i * 2654435761u);
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  uint8_t a8 = 1;
  int16_t a16 = -300;
  int32_t a32 = -123456;
  uint64_t a64 = 42;
  double x = 1.0;
  float y = -2.5f;
  for (int i = 0; i < 2000; i++) {
    yk_mt_control_point(mt, &loc);
    a8 = mix8(a8, (int8_t)(i - 100));
    a16 = mix16(a16, (uint16_t)(i * 37));
    a32 = mix32(a32, i - 1000);
    a64 = mix64(a64, (int64_t)i - 999);
    x = fmix(x, y, i);
    y = (float)(x * 0.001) - y * 0.5f;
  }
  printf("a8=%u a16=%d a32=%d a64=%llu x=%.6f y=%.6f\n", a8, a16, a32, (unsigned long long)a64, x,
         (double)y);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
