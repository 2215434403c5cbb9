// Run-time:
//   exec-arg: first
//   exec-arg: second arg
//   stdin:
//     hello
//     world
//   status: 3
//   stdout:
//     argc = 3
//     argv[1] = first
//     argv[2] = second arg
//     stdin bytes = 11
//     stdin newlines = 1

// Checks the harness itself: arguments, stdin and the exit code reach both builds, and the
// JIT build's exit code is passed through.

#include <stdio.h>

int main(int argc, char **argv) {
  printf("argc = %d\n", argc);
  for (int i = 1; i < argc; i++)
    printf("argv[%d] = %s\n", i, argv[i]);
  int c, lines = 0, bytes = 0;
  while ((c = getchar()) != EOF) {
    bytes++;
    if (c == '\n')
      lines++;
  }
  printf("stdin bytes = %d\nstdin newlines = %d\n", bytes, lines);
  return 3;
}
