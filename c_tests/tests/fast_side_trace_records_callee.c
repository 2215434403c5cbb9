// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YKD_LOG_IR=jit-pre-opt
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YK_HOT_THRESHOLD=3
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   stderr:
//     ...
//     yk-jit-event: trace-compiled
//     ...
//     define i64 @__yk_trace_2(...
//     ...
//     ...12345...
//     ...
//     --- End jit-pre-opt ---
//     yk-jit-event: side-trace-compiled
//     ...
//   stdout:
//     total=...

// A side trace's recording runs the recording versions of the interpreter's functions. The
// interpreter runs uninstrumented fast clones (yk-ld's `fast` module) until a recording starts;
// a side trace's recording starts at a guard failure inside the root trace, and what the
// blackhole and the interpreter then run must be recorded. The root trace (i < 100) never calls
// `high`; the side trace from its guard does, and inlines `high` (its constant 12345 is in the
// side trace's IR) only if `high`'s blocks were recorded: a fast `high` would record nothing and
// stay a native call.

#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static long low(long i) { return i % 3 ? i : -i; }
__attribute__((noinline)) static long high(long i) {
  if (i % 5 == 0)
    return i * 12345;
  return i + 12345;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long total = 0;
  for (long i = 0; i < 300; i++) {
    yk_mt_control_point(mt, &loc);
    if (i < 100)
      total += low(i);
    else
      total += high(i);
  }
  printf("total=%ld\n", total);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
