// Run-time:
//   env-var: YKD_SERIALISE_COMPILATION=0
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   stderr:
//     side traces compiled: yes
//     guard failures after warm-up: none
//   stdout:
//     even=1000000 odd=1000000 acc=499999500000

// Side traces compile on the compile thread, as root traces do: while the guard's side trace
// waits for its compilation the guard keeps failing into the blackhole, and once it is installed
// the guard runs it directly. A branch that alternates every iteration of a long loop: the root
// trace's guard fails on every other iteration until its side trace is compiled in the
// background, after which (checked through `yk_mt_stats`, over the last half million or more
// iterations) no guard fails but the loop's exit at the end of each run. The program computes the
// same in the plain build (no JIT: the warm-up then runs to its cap); the statistics go to
// stderr, which only the JIT build's run is checked on.

#include <stdio.h>
#include <string.h>
#include <yk.h>

static uint64_t stat(YkMT *mt, const char *name) {
  YkStat s[64];
  size_t n = yk_mt_stats(mt, s, 64);
  for (size_t i = 0; i < n && i < 64; i++)
    if (strcmp(s[i].name, name) == 0)
      return s[i].count;
  return (uint64_t)-1;
}

static void run(YkMT *mt, YkLocation *loc, long from, long to, long *even, long *odd,
                long *acc) {
  for (long i = from; i < to; i++) {
    yk_mt_control_point(mt, loc);
    if (i % 2 == 0) {
      (*even)++;
      *acc += i;
    } else {
      (*odd)++;
      *acc -= i / 2;
    }
  }
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long even = 0, odd = 0, acc = 0;
  // Warm up until the side trace is in (it compiles in the background).
  long i = 0;
  while (stat(mt, "side_traces_compiled") == 0 && i < 1500000) {
    run(mt, &loc, i, i + 1000, &even, &odd, &acc);
    i += 1000;
  }
  // One more short run, so that a trace entry begun before the side trace was installed is over.
  run(mt, &loc, i, i + 1000, &even, &odd, &acc);
  i += 1000;
  uint64_t before = stat(mt, "guard_failures");
  uint64_t entries = stat(mt, "trace_executions");
  // Each call of `run` leaves its loop once (a guard failure) and enters the trace once.
  long runs = 0;
  while (i < 2000000) {
    long to = i + 100000 < 2000000 ? i + 100000 : 2000000;
    run(mt, &loc, i, to, &even, &odd, &acc);
    i = to;
    runs++;
  }
  uint64_t after = stat(mt, "guard_failures");
  uint64_t entries_after = stat(mt, "trace_executions");
  printf("even=%ld odd=%ld acc=%ld\n", even, odd, acc);
  fprintf(stderr, "side traces compiled: %s\n",
          stat(mt, "side_traces_compiled") >= 1 ? "yes" : "no");
  if (after - before <= (uint64_t)runs && entries_after - entries >= (uint64_t)runs)
    fprintf(stderr, "guard failures after warm-up: none\n");
  else
    fprintf(stderr, "guard failures after warm-up: %lu in %ld runs (%lu trace entries)\n",
           (unsigned long)(after - before), runs, (unsigned long)(entries_after - entries));
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
