// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=5
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     sum=104546

// An outlined function whose callees call back into the interpreter's code: `sort3` (outlined)
// calls libc's `qsort`, which calls `cmp`, which uses `yk_promote`. An outlined function pauses
// the recording while it runs, so the trace sees one native call of `sort3`: neither `cmp`'s
// blocks nor its promoted values reach the recording (where they would make the promotes
// disagree with the trace, and abort it).

#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

static long scale = 3;

static int cmp(const void *a, const void *b) {
  long k = yk_promote(scale);
  long x = *(const long *)a * k, y = *(const long *)b * k;
  return (x > y) - (x < y);
}

yk_outline static void sort3(long *v) { qsort(v, 3, sizeof *v, cmp); }

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long sum = 0;
  for (int i = 0; i < 300; i++) {
    yk_mt_control_point(mt, &loc);
    long v[3] = {(i * 7) % 11, (i * 5) % 13, (i * 3) % 17};
    sort3(v);
    sum += v[0] * 100 + v[1] * 10 + v[2];
  }
  printf("sum=%ld\n", sum);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
