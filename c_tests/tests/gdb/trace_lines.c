// Not a lang_tester test (it lives in a subdirectory): the program
// `c_tests/tests/gdb_trace_lines.rs` builds and runs under gdb, to check that
// a compiled trace carries the interpreter's source lines. The `LINE:` markers
// name the lines the test looks for.

#include <stdio.h>
#include <yk.h>

// A native call from inside the trace (outlined functions are not inlined):
// where gdb's breakpoint stops.
yk_outline long probe(long i) {
  return i * 3; // LINE:probe
}

// Inlined by clang into `step`: its AOT locations have an inlinedAt chain.
static inline long twice(long x) {
  return probe(x) + probe(x + 1); // LINE:twice
}

// Not inlined by clang: the trace builder inlines it (a frame of its own).
__attribute__((noinline)) static long step(long acc, long i) {
  return acc + twice(i); // LINE:step
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long acc = 0;
  for (long i = 0; i < 1000; i++) {
    yk_mt_control_point(mt, &loc); // LINE:cp
    acc = step(acc, i);            // LINE:loop
  }
  printf("acc=%ld\n", acc);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
