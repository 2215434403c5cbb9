// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=5
//   env-var: YKD_LOG_IR=jit-post-opt
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     --- Begin jit-post-opt ---
//     ...
//     ..., 385...
//     ...
//     --- End jit-post-opt ---
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//     costly ran 7 times
//   stdout:
//     acc=884500

// `yk_promote(k)` makes `k` a trace constant, so `costly(k)`, an idempotent function, has
// constant arguments: the trace uses the result recorded while tracing instead of calling it.
// `costly` counts its calls (printed on stderr, which only the JIT build's run checks): the
// interpreter calls it once per iteration before the trace is compiled (the hot threshold's
// iterations plus the recorded one), the trace never: its optimised IR adds the recorded
// result, 385 (1 + 4 + ... + 100), as a constant (an operand: the line may go on with `!dbg`).

#include <stdio.h>
#include <yk.h>

static int ncalls;

yk_idempotent static long costly(long k) {
  ncalls++;
  long r = 0;
  for (long j = 1; j <= k; j++)
    r += j * j;
  return r;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long k = 10, acc = 0;
  for (int i = 0; i < 1000; i++) {
    yk_mt_control_point(mt, &loc);
    acc += costly(yk_promote(k)) + i;
  }
  printf("acc=%ld\n", acc);
  fprintf(stderr, "costly ran %d times\n", ncalls);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
