// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_TRACER=hwt
//   env-var: YK_HOT_THRESHOLD=5
//   stderr:
//     yk-warning: YKD_TRACER=hwt: ...
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     sum=499500

// `YKD_TRACER=hwt` where Intel PT can't be used (this machine: an AMD CPU in a VM): the runtime
// says why, once, and traces with the software tracer. (Where PT works the same run records its
// blocks with PT: docs/hwt.md.)

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long sum = 0;
  for (int i = 0; i < 1000; i++) {
    yk_mt_control_point(mt, &loc);
    sum += i;
  }
  printf("sum=%ld\n", sum);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
