// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     ...
//   stdout:
//     acc=8825

// `yk_promote(step)` makes `step` a constant of the trace (recorded as 1); when `step` becomes
// 2 half-way, the promote's guard fails and the blackhole computes with the real value.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long step = 1, acc = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    if (i == 50)
      step = 2;
    long s = yk_promote(step);
    acc += s * i + s;
  }
  printf("acc=%ld\n", acc);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
