// The benchmark of `cargo xtask bench-swt`: what the software tracer's instrumentation costs
// when nothing is being traced. A small switch-dispatch bytecode interpreter (the shape of the
// interpreters yk is for) runs a fixed, loop-heavy program: the sum of the Collatz sequence
// lengths of 1..N. It has a control point, so yk-ld instruments it, but it runs with
// YK_JITC=none, so no trace is ever compiled: the difference from the plain build is the cost
// of the instrumentation and of the control point calls alone.
//
// Usage: instr_cost [N]   (default N = 300000)

#include <stdio.h>
#include <stdlib.h>
#include <yk.h>

enum op {
  SET,   // reg[a] = imm
  MOV,   // reg[a] = reg[b]
  ADDI,  // reg[a] += imm
  ANDI,  // reg[c] = reg[a] & imm
  SHRI,  // reg[a] >>= imm
  MUL3I, // reg[a] = reg[a] * 3 + 1
  JZ,    // if reg[a] == 0 goto imm
  JNE,   // if reg[a] != reg[b] goto imm
  JLE,   // if reg[a] <= reg[b] goto imm
  JMP,   // goto imm
  HALT,
};

struct insn {
  enum op op;
  int a, b, c;
  long imm;
};

// r0 = i, r1 = N, r2 = x, r3 = total steps, r4 = scratch, r5 = one
static const struct insn prog[] = {
    /* 0 */ {SET, 0, 0, 0, 1},
    /* 1 */ {SET, 3, 0, 0, 0},
    /* 2 */ {SET, 5, 0, 0, 1},
    /* 3 */ {MOV, 2, 0, 0, 0},   // outer loop: x = i
    /* 4 */ {JNE, 2, 5, 0, 6},   // inner loop: while x != 1
    /* 5 */ {JMP, 0, 0, 0, 13},
    /* 6 */ {ANDI, 2, 0, 4, 1},  // r4 = x & 1
    /* 7 */ {JZ, 4, 0, 0, 10},
    /* 8 */ {MUL3I, 2, 0, 0, 0}, // odd: x = 3x + 1
    /* 9 */ {JMP, 0, 0, 0, 11},
    /* 10 */ {SHRI, 2, 0, 0, 1}, // even: x >>= 1
    /* 11 */ {ADDI, 3, 0, 0, 1}, // steps++
    /* 12 */ {JMP, 0, 0, 0, 4},  // back to the inner loop
    /* 13 */ {ADDI, 0, 0, 0, 1}, // i++
    /* 14 */ {JLE, 0, 1, 0, 3},  // while i <= N
    /* 15 */ {HALT, 0, 0, 0, 0},
};

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 300000;
  enum { NINSNS = sizeof(prog) / sizeof(prog[0]) };
  YkMT *mt = yk_mt_new(NULL);
  YkLocation locs[NINSNS];
  for (int i = 0; i < NINSNS; i++)
    locs[i] = yk_location_new();

  long reg[6] = {0};
  reg[1] = n;
  int pc = 0;
  for (;;) {
    yk_mt_control_point(mt, &locs[pc]);
    const struct insn *in = &prog[pc];
    pc++;
    switch (in->op) {
    case SET:
      reg[in->a] = in->imm;
      break;
    case MOV:
      reg[in->a] = reg[in->b];
      break;
    case ADDI:
      reg[in->a] += in->imm;
      break;
    case ANDI:
      reg[in->c] = reg[in->a] & in->imm;
      break;
    case SHRI:
      reg[in->a] >>= in->imm;
      break;
    case MUL3I:
      reg[in->a] = reg[in->a] * 3 + 1;
      break;
    case JZ:
      if (reg[in->a] == 0)
        pc = in->imm;
      break;
    case JNE:
      if (reg[in->a] != reg[in->b])
        pc = in->imm;
      break;
    case JLE:
      if (reg[in->a] <= reg[in->b])
        pc = in->imm;
      break;
    case JMP:
      pc = in->imm;
      break;
    case HALT:
      goto done;
    }
  }
done:
  printf("collatz steps for 1..%ld: %ld\n", n, reg[3]);
  for (int i = 0; i < NINSNS; i++)
    yk_location_drop(locs[i]);
  yk_mt_shutdown(mt);
  return 0;
}
