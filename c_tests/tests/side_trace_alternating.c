// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//     yk-jit-event: deoptimise
//     yk-jit-event: side-trace-compiled
//     yk-jit-event: deoptimise
//   stdout:
//     even=500 odd=500 acc=124750

// A branch that alternates every iteration: the root trace records one direction, its guard
// fails every other iteration, and after YK_SIDETRACE_THRESHOLD failures the blackhole records
// the other direction as a side trace. From then on the guard runs the side trace: the only
// `deoptimise` after the side trace's compilation is the loop's exit on the last iteration.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  int even = 0, odd = 0;
  long acc = 0;
  for (int i = 0; i < 1000; i++) {
    yk_mt_control_point(mt, &loc);
    if (i % 2 == 0) {
      even++;
      acc += i;
    } else {
      odd++;
      acc -= i / 2;
    }
  }
  printf("even=%d odd=%d acc=%ld\n", even, odd, acc);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
