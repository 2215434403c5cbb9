// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YK_HOT_THRESHOLD=3
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     total=85800 same=300

// Function pointers are the same in every version of the code. yk-ld gives each traceable
// function an uninstrumented fast clone, run while the thread is not recording, and every
// address taken (in fast code, in the recording versions, in traces, through the embedded IR's
// address table) is the original's, which runs its fast clone when not recording. Here a pointer
// taken in fast code before the loop is called inside the trace, pointers taken in the loop (by
// fast code, by the recording version of `pick` and by the trace) are called in the loop and,
// after it, by fast code, and all compare equal to each other as in the plain build.

#include <stdio.h>
#include <yk.h>

typedef long (*op)(long);

__attribute__((noinline)) static long add(long x) { return x + 3; }
__attribute__((noinline)) static long mul(long x) {
  if (x > 100)
    return x * 2;
  return x * 3;
}
__attribute__((noinline)) static op pick(long i) { return (i & 1) ? add : mul; }

static op during[200];

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  op before = pick(1);
  long total = 0, same = 0;
  for (long i = 0; i < 200; i++) {
    yk_mt_control_point(mt, &loc);
    op now = pick(i);
    during[i] = now;
    total += before(i) + now(i);
  }
  for (long i = 0; i < 200; i++) {
    total += during[i](i);
    same += during[i] == pick(i);
    same += (i & 1) && during[i] == before;
  }
  printf("total=%ld same=%ld\n", total, same);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
