// Run-time:
//   env-var: YKD_LOG_IR=trace-blocks
//   env-var: YK_HOT_THRESHOLD=5
//   stderr:
//     --- Begin trace-blocks ---
//     yk-trace-block: main ...
//     ...
//     yk-trace-block: walk ...
//     ...
//     yk-trace-check: ok
//     --- End trace-blocks ---
//     ...
//   stdout:
//     n=148

// The software tracer's recording of a known loop, checked against the embedded IR: every
// recorded (function, block) pair names a block of the `yk_ir` section's module, and every
// step between two recorded blocks is a CFG edge, a call or a return (`yk-trace-check: ok`).
// The loop calls a non-inlined helper with a branch inside, so the recording crosses calls.

#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static int walk(int x) {
  if (x % 2)
    return x * 3;
  return x / 2;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  int n = 0;
  for (int i = 0; i < 40; i++) {
    yk_mt_control_point(mt, &loc);
    n += walk(i) > 10 ? 5 : 1;
  }
  printf("n=%d\n", n);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
