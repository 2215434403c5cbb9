// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=5
//   stderr:
//     ...
//     yk-jit-event: start-tracing
//     ...
//   stdout:
//     total = 20100

// The smallest end-to-end check of the JIT path: the loop's location becomes hot after five
// executions, so the runtime starts tracing it. Whatever happens to the trace afterwards, the
// output must be the plain build's.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long total = 0;
  for (long i = 0; i <= 200; i++) {
    yk_mt_control_point(mt, &loc);
    total += i;
  }
  printf("total = %ld\n", total);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
