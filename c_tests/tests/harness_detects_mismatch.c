// plain-cflags: -DPLAIN_BUILD
// Run-time:
//   status: error
//   stdout:
//     c_tests: the plain and the JIT build disagree (see stderr)
//   stderr:
//     c_tests: plain and JIT builds disagree
//     ...
//     ---- stdout differs (plain: 2 lines, JIT: 2 lines) ----
//       line 2:
//         plain: "built plainly"
//         JIT:   "built with yk"
//     ...

// Checks the harness itself: when the two builds print different things, the Run-time step
// must fail, whatever the test expected of stdout. `plain-cflags:` makes the builds differ.

#include <stdio.h>

int main(void) {
  printf("same line\n");
#ifdef PLAIN_BUILD
  printf("built plainly\n");
#else
  printf("built with yk\n");
#endif
  return 0;
}
