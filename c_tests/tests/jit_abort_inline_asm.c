// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=2
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-aborted: inline asm
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-aborted: inline asm
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-aborted: inline asm
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-aborted: inline asm
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-aborted: inline asm
//     {
//       "traces_recorded_ok": 5,
//       "traces_recorded_err": 0,
//       "traces_compiled_ok": 0,
//       "traces_compiled_err": 5,
//     ...
//       "aborts": {"too_long": 0, "unsupported": 5, "recording": 0, "thread_exit": 0, "hardware": 0, "no_compiler": 0, "backend": 0, "internal": 0, "disabled": 0, "frame_left": 0},
//     ...
//   stdout:
//     x=300

// Inline assembly can't be put into a trace: the trace is aborted with the construct named
// (counted as an "unsupported" abort), the location backs off, and the program keeps running
// correctly in the interpreter. The tries are bounded: each failure doubles the number of
// passes before the next, and after the fifth (MAX_FAILURES, about 70 of the 100 iterations)
// the location is never traced again.

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
