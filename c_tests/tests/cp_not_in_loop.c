// Compiler:
//   status: error
//   stderr:
//     ...
//     ...the control point in function `not_looping` is not in a loop...
//     ...

// A control point that is not inside a loop can never close a trace: yk-ld must refuse to
// link the program and name the offending function.

#include <stdio.h>
#include <yk.h>

__attribute__((noinline)) static int not_looping(YkMT *mt, YkLocation *loc, int x) {
  yk_mt_control_point(mt, loc);
  return x + 1;
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation loc = yk_location_new();
  printf("%d\n", not_looping(mt, &loc, 41));
  return 0;
}
