// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YKD_TRACE_MAX_LEN=20
//   env-var: YKD_TRUNCATE=1
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: trace-aborted: trace too long
//     yk-jit-event: start-tracing
//     yk-jit-event: trace-aborted: trace too long
//   stdout:
//     sum=4950

// A loop whose one iteration runs more blocks than YKD_TRACE_MAX_LEN allows: the recording is
// aborted cleanly with its reason, the location backs off, and the output is unchanged. A path
// too long twice is not recorded again (100 iterations would allow more attempts with other
// failures: thresholds 3, 6, 12, 24, 48).

#include <stdio.h>
#include <yk.h>

static volatile int v, lim = 30;

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long sum = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    for (int j = 0; j < lim; j++)
      v = j;
    sum += i;
  }
  printf("sum=%ld\n", sum);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
