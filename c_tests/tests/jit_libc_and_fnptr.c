// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=4
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     ...
//     i=39 len=3 f=13
//     total=880

// A trace calling libc (printf, memcpy, strlen) and a function through a pointer that changes
// after 20 iterations, with `static` helpers and a static buffer. libc calls are native calls
// from the trace; the call through the pointer is inlined behind a guard on its target, which
// fails when the pointer changes (the blackhole then calls the new callee).

#include <stdio.h>
#include <string.h>
#include <yk.h>

static char buf[16];
static int add1(int x) { return x + 1; }
static int add13(int x) { return x + 13; }

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  int (*f)(int) = add1;
  long total = 0;
  for (int i = 0; i < 40; i++) {
    yk_mt_control_point(mt, &loc);
    if (i == 20)
      f = add13;
    memcpy(buf, "abc", 4);
    int r = f(0);
    printf("i=%d len=%zu f=%d\n", i, strlen(buf), r);
    total += (long)strlen(buf) * 5 + r;
  }
  printf("total=%ld\n", total);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
