// Run-time:
//   env-var: YKD_LOG_STATS=-
//   env-var: YK_HOT_THRESHOLD=2
//   env-var: YK_SIDETRACE_THRESHOLD=1
//   stderr:
//     ...
//     "side_traces_compiled": 16,
//     ...
//     "traces_losing": 1,
//     ...
//   stdout:
//     79800

// A promoted value that is new on every iteration: the root trace's guard on it fails each
// time, and so does the guard at the start of each side trace recorded from it (the side trace
// recorded at iteration n checks for n), so each iteration would add one more side trace to
// the chain. Side traces more than ykrt's MAX_SIDE_DEPTH (8) levels below the root record
// none: their guards go to the blackhole. After 256 such exits in fewer than 256 * 32
// iterations the tree loses to the interpreter and is retired (`guard::EXIT_WINDOW`); the
// location is recorded again at a doubled threshold and grows a second chain of 8, which the
// loop ends before it is judged: 16 side traces, one tree retired.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long total = 0;
  for (long i = 0; i < 400; i++) {
    yk_mt_control_point(mt, &loc);
    total += yk_promote(i);
  }
  printf("%ld\n", total);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
