// The program of c_tests/tests/bad_ir_section.rs: a hot loop, traced and compiled on its
// 5th iteration when the JIT is on; the same output whether it is or not.

#include <stdio.h>
#include <yk.h>

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  long total = 0;
  for (long i = 0; i <= 1000; i++) {
    yk_mt_control_point(mt, &loc);
    total += i * (i % 3 == 0 ? 2 : 1);
  }
  printf("total = %ld\n", total);
  yk_location_drop(loc);
  yk_mt_shutdown(mt);
  return 0;
}
