// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=2
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-aborted: inline asm
//     ...
//   stdout:
//     x=300

// Inline assembly can't be put into a trace: the trace is aborted with the construct named,
// the location backs off, and the program keeps running correctly in the interpreter.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long x = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    long y = 3;
    __asm__ volatile("" : "+r"(y));
    x += y;
  }
  printf("x=%ld\n", x);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
