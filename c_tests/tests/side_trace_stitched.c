// Run-time:
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_TIER_UP=500
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     {
//     ...
//       "side_traces_compiled": 1,
//     ...
//       "side_traces_stitched": 1,
//     ...
//   stdout:
//     a=124998 b=115000 odd=10000 even=10000

// A loop whose branch goes each way in turn. The trace takes one way, its guard's side trace
// the other. When the trace is recompiled at the hot tier (YKD_TIER_UP=500 iterations; with
// YKD_SERIALISE_COMPILATION=1 at once, on this thread), the side trace, compiled by then, is
// compiled into it (`jit::stitch`, stat `side_traces_stitched`): from then on half the
// iterations run the side trace's code inlined in the trace's own function, with its run
// still counted for re-optimisation, and the results are the plain build's.

#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static long f(long i) { return i * 3 + 1; }
__attribute__((noinline)) static long g(long i) { return i ^ 5; }

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long a = 0, b = 0, odd = 0, even = 0;
  for (long i = 0; i < 20000; i++) {
    yk_mt_control_point(mt, &loc);
    if (i & 1) {
      a += f(i) % 7 + i / 1000;
      odd++;
    } else {
      b += g(i) % 5 + i / 1000;
      even++;
    }
  }
  printf("a=%ld b=%ld odd=%ld even=%ld\n", a, b, odd, even);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
