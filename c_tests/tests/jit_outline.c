// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=5
//   env-var: YKD_LOG_IR=jit-pre-opt
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     --- Begin jit-pre-opt ---
//     ...
//     ...call i64 @__yk_aot_f...
//     ...
//     --- End jit-pre-opt ---
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     sum=38828

// `yk_outline` keeps a function out of traces: the trace calls it (a `call` of the AOT
// function, `@__yk_aot_f<n>`, in the trace's IR) instead of inlining its loop, and the blocks
// recorded inside it are skipped.

#include <stdio.h>
#include <yk.h>

yk_outline static long slow_sum(int n) {
  long s = 0;
  for (int j = 0; j < n; j++)
    s += j ^ n;
  return s;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long sum = 0;
  for (int i = 0; i < 500; i++) {
    yk_mt_control_point(mt, &loc);
    sum += slow_sum(i % 17);
  }
  printf("sum=%ld\n", sum);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
