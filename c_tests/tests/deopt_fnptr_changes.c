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
//     total=4725 calls_add=25 calls_mul=75

// A call through a function pointer: the trace inlines the recorded callee behind a guard on
// the pointer. After 25 iterations the pointer changes: the guard fails and the blackhole makes
// the call to the new callee natively.

#include <stdio.h>
#include <yk.h>

static int calls_add, calls_mul;
__attribute__((noinline)) static long add(long x) { calls_add++; return x + 3; }
__attribute__((noinline)) static long mul(long x) { calls_mul++; return x * 2; }

int main(int argc, char **argv) {
  (void)argv;
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long (*volatile f)(long) = argc > 5 ? mul : add;
  long total = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    if (i == 25)
      f = mul;
    total += f(i) - i;
  }
  printf("total=%ld calls_add=%d calls_mul=%d\n", total, calls_add, calls_mul);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
