// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_TIER_UP=2000
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: trace-re-recorded
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     {
//     ...
//       "traces_re_recorded": 1,
//       "trace_jumps": 0,
//       "traces_freed": 1,
//     ...
//   stdout:
//     49995000 299990000

// Re-optimisation: the loop's hot path changes half-way. The root trace is recorded on the
// first half's path; after the change its guard fails, gets a side trace, and that side trace
// then runs for (nearly) every iteration: the location is recorded again, along the new path
// (`trace-re-recorded`, then a second `trace-compiled`), and the new root trace runs the rest of
// the loop, leaving only at its end. The replaced trace is freed once the thread has left it
// (`traces_freed`). Each root trace is entered twice: the second time after it left at its
// loop's head to move to its recompiled code (tiered up after 2,000 iterations: YKD_TIER_UP=2000,
// as the loop is short for the default 300,000).

#include <stdio.h>
#include <yk.h>

static long hist[2];

__attribute__((noinline)) static void bump(int k, long v) { hist[k] += v; }

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  for (long i = 0; i < 20000; i++) {
    yk_mt_control_point(mt, &loc);
    if (i < 10000)
      bump(0, i);
    else
      bump(1, i * 2);
  }
  printf("%ld %ld\n", hist[0], hist[1]);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
