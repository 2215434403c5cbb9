// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     yk-jit-event: deoptimise
//   stdout:
//     n=1000 sum=499500 tail=999

// The only guard that ever fails is on the last iteration: the loop's exit test. Exactly one
// `deoptimise`, after which the blackhole runs the loop's exit and the program finishes.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long sum = 0, tail = 0;
  int n = 0;
  while (n < 1000) {
    yk_mt_control_point(mt, &loc);
    sum += n;
    tail = n;
    n++;
  }
  printf("n=%d sum=%ld tail=%ld\n", n, sum, tail);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
