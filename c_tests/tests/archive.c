// extra-archive: extra/archive_helper.c extra/archive_unused.c
// Run-time:
//   stdout:
//     triangle(100) = 5050
//     triangle(2000) = 2001000
//     calls = 3

// Links against a static archive. In the JIT build its members are bitcode objects (compiled
// with `yk-config --cflags`), which the LTO link must pull in and merge with the main program;
// members that nothing uses must stay out.

#include <stdio.h>

long archived_triangle(long n);
long archived_calls(void);

int main(void) {
  printf("triangle(100) = %ld\n", archived_triangle(100));
  printf("triangle(2000) = %ld\n", archived_triangle(2000));
  archived_calls();
  archived_calls();
  printf("calls = %ld\n", archived_calls());
  return 0;
}
