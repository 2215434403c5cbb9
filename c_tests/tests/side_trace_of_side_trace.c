// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_TIER_UP=2000
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: deoptimise
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: deoptimise
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//   stdout:
//     1998000 3998000 6000000 8004000

// Side traces of side traces: a four-way branch on i % 4. The root trace records one way; its
// guard's side trace (after YK_SIDETRACE_THRESHOLD failures) records the second, whose own
// guard gets a side trace for the third, whose guard gets one for the fourth. Then every path
// is compiled: the only later `deoptimise` is the loop's exit. (The second `enter-jit-code` is
// the root trace moving to its recompiled code, tiered up after 2,000 iterations, pinned by
// YKD_TIER_UP=2000 as the loop is short for the default 300,000: it leaves at
// its loop's head and is entered again.)

#include <stdio.h>
#include <yk.h>

static long hist[4];

__attribute__((noinline)) static void count(int k, long i) { hist[k] += i; }

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  for (long i = 0; i < 4000; i++) {
    yk_mt_control_point(mt, &loc);
    int r = (int)(i % 4);
    if (r == 0)
      count(0, i);
    else if (r == 1)
      count(1, i * 2);
    else if (r == 2)
      count(2, i * 3);
    else
      count(3, i * 4);
  }
  printf("%ld %ld %ld %ld\n", hist[0], hist[1], hist[2], hist[3]);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
