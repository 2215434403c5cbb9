// Run-time:
//   env-var: YK_HOT_THRESHOLD=12x
//   status: error
//   stderr:
//     yk_mt_new: invalid value "12x" for environment variable YK_HOT_THRESHOLD...
//   stdout:
//     yk_mt_new failed

// A malformed YK_HOT_THRESHOLD is a clear error naming the variable, returned by yk_mt_new
// (the plain build reads the environment the same way, so both builds agree).

#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

int main(void) {
  char *err = NULL;
  YkMT *mt = yk_mt_new(&err);
  if (mt == NULL) {
    printf("yk_mt_new failed\n");
    fflush(stdout);
    fprintf(stderr, "%s\n", err);
    free(err);
    return 1;
  }
  yk_mt_shutdown(mt);
  return 0;
}
