// Run-time:
//   env-var: YKD_LOG=4
//   env-var: YK_HOT_THRESHOLD=5
//   env-var: YKD_NATIVE=1
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-native-fallback: __yk_trace_1: x64: unsupported: intrinsic llvm.bswap.i32
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//       "traces_compiled_ok": 1,
//     ...
//       "native_fallbacks": 1,
//     ...
//     "traces": [
//       {"kind": "root", "backend": "llvm", ...
//     ...
//   stdout:
//     h=2507133405 g=1377770734

// A trace the native tier 0 can't compile (it calls `llvm.bswap.i32`, an intrinsic `yk-x64`
// does not know; the blackhole and LLVM do) is compiled by LLVM instead, says why at
// YKD_LOG=4 (`yk-native-fallback: ...`), and counts in the stats (`native_fallbacks`, the
// trace's record says `"backend": "llvm"`); it runs, and the output is the interpreter's.

#include <stdint.h>
#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  uint32_t h = 2166136261u;
  uint32_t g = 1;
  for (int i = 0; i < 1000; i++) {
    yk_mt_control_point(mt, &loc);
    h = __builtin_bswap32(h ^ (uint32_t)i) * 16777619u;
    g = g * 31 + (h >> 7);
  }
  printf("h=%u g=%u\n", h, g);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
