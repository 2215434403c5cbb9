// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     small=50 big=50 last=99

// An `if` whose direction changes half-way: the trace is recorded while `i < 50`, then its
// guard fails on every later iteration. The blackhole runs the other arm and, back at the
// control point of the trace's own location, the trace re-enters its loop.

#include <stdio.h>
#include <yk.h>

static volatile int sink;

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  int small = 0, big = 0, last = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    if (i < 50)
      small++;
    else
      big++;
    last = i;
    sink = i;
  }
  printf("small=%d big=%d last=%d\n", small, big, last);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
