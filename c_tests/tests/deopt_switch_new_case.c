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
//     a=30 b=30 c=40 sum=4685

// A `switch` whose recorded case is 0; from iteration 30 on it takes cases 1 and 2, which the
// trace never saw: its guard fails, the blackhole runs the new case and the loop goes on.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  int a = 0, b = 0, c = 0;
  long sum = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    switch (i < 30 ? 0 : i < 60 ? 1 : 2) {
    case 0: a++; sum += i; break;
    case 1: b++; sum += 2 * i; break;
    case 2: c++; sum += i / 2; break;
    }
  }
  printf("a=%d b=%d c=%d sum=%ld\n", a, b, c, sum);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
