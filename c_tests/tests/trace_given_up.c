// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=2
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YK_COMPILE_BUDGET=0
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     ...
//     yk-jit-event: trace-compiled
//     ...
//     yk-jit-event: trace-aborted: trace too long...
//     ...
//     yk-jit-event: trace-given-up
//     ...
//       "trace_executions": 1,
//       "guard_failures": 64,
//     ...
//       "traces_given_up": 1,
//     ...
//   stdout:
//     acc=6000 mix=...

// A loop whose trace leaves at a guard every third iteration (the inner loop's exit), where
// the side trace can't be built (the rest of the outer loop is a loop of its own without a
// control point, too long to record): each of those exits runs the blackhole, which costs far
// more than the iterations the trace saved. After the guard has
// failed 64 times (`SUSPEND_AFTER`), at least once every 32 iterations (`GIVE_UP_RATIO`), the
// trace is given up for good: that run leaves the trace (the blackhole's way back into the loop
// becomes a resume) and the loop runs in the interpreter from then on, with the same results.
// (The recordings that start on the outer loop's path are too long and back off first.)

#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static unsigned long mix(unsigned long h, unsigned long j) {
  return (h ^ j) * 1099511628211UL + (h >> 7);
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long acc = 0;
  unsigned long h = 14695981039346656037UL;
  for (int outer = 0; outer < 1000; outer++) {
    for (int i = 0; i < 3; i++) {
      yk_mt_control_point(mt, &loc);
      acc += i + 1;
    }
    for (unsigned long j = 0; j < 10000; j++)
      h = mix(h, j);
  }
  printf("acc=%ld mix=%lu\n", acc, h);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
