// Run-time:
//   env-var: YKD_LOG=3
//   env-var: YK_HOT_THRESHOLD=5
//   stderr:
//     yk-jit-event: start-tracing
//     yk-jit-event: stop-tracing
//     yk-jit-event: trace-compiled
//     yk-jit-event: enter-jit-code
//     ...
//   stdout:
//     total=1974848 corner=706,-21,k

// Nested loops over a 2-D array of structs in memory, with a global and a function-local
// `static` accumulator: the inner loop's location gets hot first and is traced; each outer
// iteration enters the trace again and leaves it when the inner loop ends.

#include <stdio.h>
#include <yk.h>

struct cell { int v; short w; char tag; };
static struct cell grid[20][30];
long total;

__attribute__((noinline)) static void bump(struct cell *c, int k) {
  static int calls;
  calls++;
  c->v += k;
  c->w = (short)(c->w ^ k);
  c->tag = (char)('a' + calls % 26);
}

int main(void) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation inner = yk_location_new();
  for (int r = 0; r < 20; r++)
    for (int c = 0; c < 30; c++)
      grid[r][c] = (struct cell){r * c, (short)(r - c), 'x'};
  for (int rep = 0; rep < 5; rep++) {
    for (int r = 0; r < 20; r++) {
      for (int c = 0; c < 30; c++) {
        yk_mt_control_point(mt, &inner);
        bump(&grid[r][c], rep + c);
        total += grid[r][c].v * 3 + grid[r][c].w + grid[r][c].tag;
      }
    }
  }
  printf("total=%ld corner=%d,%d,%c\n", total, grid[19][29].v, grid[19][29].w, grid[19][29].tag);
  yk_location_drop(inner);
  yk_mt_shutdown(mt);
  return 0;
}
