// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=2
//   env-var: YK_SIDETRACE_THRESHOLD=1000000000
//   env-var: YKD_LOG_STATS=-
//   stderr:
//     ...
//     yk-jit-event: trace-compiled
//     ...
//     yk-jit-event: trace-losing
//     ...
//       "traces_compiled_ok": 5,
//     ...
//       "traces_losing": 5,
//     ...
//   stdout:
//     even=50000 odd=50000 acc=1874950000

// A loop whose trace leaves through the blackhole every other iteration and gets no side trace
// (the side-trace threshold is out of reach): after 256 such exits in fewer than 256 * 32
// iterations the trace tree loses to the interpreter and is retired (`trace-losing`), and the
// location backs off as after a failed recording: it is recorded again at a doubled threshold,
// and after the fifth such trace never again. So exactly five traces are compiled and retired,
// and the loop finishes in the interpreter with the same results.

#include <stdio.h>
#include <yk.h>

// Calls, so that the branch stays a branch (a guard), not a select.
__attribute__((noinline)) static long half(long i) { return i / 2; }
__attribute__((noinline)) static long quarter(long i) { return i / 4; }

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long even = 0, odd = 0, acc = 0;
  for (long i = 0; i < 100000; i++) {
    yk_mt_control_point(mt, &loc);
    if (i % 2 == 0) {
      even++;
      acc += half(i);
    } else {
      odd++;
      acc += quarter(i);
    }
  }
  printf("even=%ld odd=%ld acc=%ld\n", even, odd, acc);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
