// Exercises libykcapi through yk.h, playing the part of yk-ld by hand: it
// registers a YkAotInfo whose yk_ir section (header and bitcode) is read from argv[2] and calls the rewritten
// control point and the recording hooks itself. Modes (argv[1]): "err" prints
// yk_mt_new's error; "loop" runs a traced loop and exits without shutting the
// MT down (stats must still be written).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yk.h"

static _Thread_local uint8_t flag;
static uint8_t *swt_flag(void) { return &flag; }

yk_outline static int outlined(int x) { return x + 1; }
yk_idempotent static int idem(int x) { return x * 2; }

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  char *err = NULL;
  YkMT *mt = yk_mt_new(&err);
  if (strcmp(argv[1], "err") == 0) {
    if (mt != NULL || err == NULL)
      return 3;
    printf("%s\n", err);
    free(err);
    return 0;
  }
  if (mt == NULL) {
    fprintf(stderr, "%s\n", err);
    return 4;
  }
  FILE *f = fopen(argv[2], "rb");
  static uint8_t ir[1 << 16];
  size_t n = fread(ir, 1, sizeof(ir), f);
  fclose(f);
  static void *funcs[1];
  static YkAotInfo info;
  info = (YkAotInfo){YK_AOT_INFO_VERSION, ir, n, NULL, 0, funcs, 1, swt_flag};
  __yk_register_aot(&info);

  yk_mt_hot_threshold_set(mt, 2);
  YkLocation loc = yk_location_new(), null = yk_location_null();
  yk_location_set_debug_str(&loc, "loop-head");
  if (yk_location_is_null(loc) || !yk_location_is_null(null))
    return 5;
  int acc = 0;
  for (int i = 0; i < 8; i++) {
    yk_mt_control_point(mt, &loc); // unrewritten: a no-op
    __ykrt_control_point(mt, &null, NULL, 0);
    __ykrt_control_point(mt, &loc, NULL, 0);
    if (flag)
      __yk_swt_rec_block(0, 0);
    acc += yk_promote(i) + outlined(i) + idem(i);
    if (flag)
      __yk_swt_rec_promote((uint64_t)i);
    char *p = yk_promote(argv[0]);
    acc += p == argv[0];
  }
  printf("acc=%d interpreting=%d\n", acc, yk_is_interpreting());
  yk_location_drop(loc);
  return 0;
}
