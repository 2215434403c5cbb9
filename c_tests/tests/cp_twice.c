// Compiler:
//   status: error
//   stderr:
//     ...
//     ...function `two_control_points` has more than one control point...
//     ...

// A function may contain at most one control point (the control point transform gives each
// interpreter function one set of live variables): yk-ld must refuse to link the program and
// name the offending function.

#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static long two_control_points(YkMT *mt, YkLocation *a,
                                                         YkLocation *b, int n) {
  long sum = 0;
  for (int i = 0; i < n; i++) {
    yk_mt_control_point(mt, a);
    sum += i;
  }
  for (int i = 0; i < n; i++) {
    yk_mt_control_point(mt, b);
    sum += 2 * i;
  }
  return sum;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation a = yk_location_new(), b = yk_location_new();
  printf("%ld\n", two_control_points(mt, &a, &b, 10));
  return 0;
}
