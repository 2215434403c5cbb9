// A register machine for the c_tests of traces that jump to each other: five instructions,
// five registers, a control point at every instruction whose location is real only at the
// loop heads the test names. Included (not linked) by the tests, so that the whole
// interpreter is in their one translation unit as in any other c_test.

#include <stdio.h>
#include <yk.h>

enum { SET, ADD, ADDI, JLT, HALT };

// Runs `prog` (`n` ints) with real locations at the pcs in `heads` (`nheads` of them); at
// HALT prints registers 3 (a), 4 (b) and 2 (outer).
static int run_reg_machine(const int *prog, unsigned n, const unsigned *heads, unsigned nheads) {
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[64];
  if (n > 64)
    return 1;
  for (unsigned i = 0; i < n; i++) {
    locs[i] = yk_location_null();
    for (unsigned h = 0; h < nheads; h++)
      if (heads[h] == i)
        locs[i] = yk_location_new();
  }
  long reg[5] = {0};
  int pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    const int *ins = &prog[yk_promote(pc)];
    switch (ins[0]) {
    case SET: reg[ins[1]] = ins[2]; pc += 3; break;
    case ADD: reg[ins[1]] += reg[ins[2]]; pc += 3; break;
    case ADDI: reg[ins[1]] += ins[2]; pc += 3; break;
    case JLT: pc = reg[ins[1]] < ins[2] ? ins[3] : pc + 4; break;
    case HALT:
      printf("a=%ld b=%ld outer=%ld\n", reg[3], reg[4], reg[2]);
      yk_mt_shutdown(mt);
      return 0;
    }
  }
}
