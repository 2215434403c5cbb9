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
//     acc=25010 last=309

// A guard that fails two inlined calls deep (`outer` -> `mid` -> `inner`), while `mid` and
// `inner` have locals in memory (an array and a struct whose addresses escape to `inner` and
// `fill`). The blackhole rebuilds the three frames from the values live in each, finishes
// `inner` (taking the branch the trace did not record), then `mid` and `outer` with their
// memory intact.

#include <stdio.h>
#include <yk.h>

struct pair { long lo, hi; };

__attribute__((noinline)) static void fill(long *a, int n, long seed) {
  for (int k = 0; k < n; k++)
    a[k] = seed + k;
}

__attribute__((noinline)) static long inner(long *arr, struct pair *p, int i) {
  long r;
  if (i < 70)
    r = arr[1] + p->lo;
  else
    r = arr[3] * 2 - p->hi;
  p->hi += r;
  return r;
}

__attribute__((noinline)) static long mid(int i) {
  long arr[4];
  struct pair p = {i, 2 * i};
  fill(arr, 4, i);
  long r = inner(arr, &p, i);
  return r + p.hi + arr[0];
}

__attribute__((noinline)) static long outer(int i, long *acc) {
  long before = *acc;
  *acc += mid(i);
  return *acc - before;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long acc = 0, last = 0;
  for (int i = 0; i < 100; i++) {
    yk_mt_control_point(mt, &loc);
    last = outer(i, &acc);
  }
  printf("acc=%ld last=%ld\n", acc, last);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
