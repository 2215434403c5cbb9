// The bytecode interpreter of `cargo xtask fuzz-c` (differential fuzzing of the C
// toolchain): built once with the yk toolchain (the JIT) and once with plain `clang -O2`
// against `c_tests/bench/no_jit/yk.h` (no yk at all); both run the same generated programs
// (`xtask/src/fuzz/cgen.rs`) and must print the same.
//
// A register machine: 32 registers and 64 memory cells of int64_t, a call stack of 16 return
// addresses. Every behaviour is defined in C (arithmetic wraps, division by zero and
// INT64_MIN / -1 have fixed results, shift counts are taken mod 64, memory addresses mod 64),
// so the two builds can only differ through the JIT.
//
// A program is text, one instruction a line: `OP a b c` (a mnemonic and up to three integer
// operands, missing ones 0); `#` starts a comment; jump targets are instruction indices
// (`JIDX r t n` jumps to t + r mod n, into a table of n jumps: a switch).
// Usage: interp PROGRAM-FILE [REPS]: the program runs REPS times (default 1) from a fresh
// state (registers, memory, call stack), with the same locations, so that traces compiled in
// the background during one run are entered in the next. Built with -DFUZZ_PROGRAM="..." (a
// c_test), the program is that string instead and the only argument is REPS.
//
// yk annotations: a control point at the top of the dispatch loop, a location for every
// instruction a backward jump goes to (and null locations elsewhere), the pc promoted, the
// instruction words read through `yk_idempotent` accessors, a `yk_outline` helper (MIX) and
// an instruction that promotes a register (PROM).
//
// Output: each PRINT's register value, then at HALT the registers, a hash of the memory and
// the nonzero memory cells.

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yk.h>

#define NREGS 32
#define NMEM 64
#define NCALLS 16

#define OPS(X)                                                                           \
  X(HALT) X(LI) X(MOV) X(ADD) X(SUB) X(MUL) X(ADDI) X(MULI) X(DIV) X(MOD) X(AND) X(OR)    \
  X(XOR) X(SHL) X(SHR) X(SAR) X(NEG) X(NOT) X(LT) X(LE) X(EQ) X(NE) X(ULT) X(LD) X(ST)   \
  X(JMP) X(JZ) X(JNZ) X(JLT) X(JEQ) X(JIDX) X(CALL) X(RET) X(PRINT) X(PROM) X(MIX)

#define ENUM(o) OP_##o,
enum { OPS(ENUM) NOPS };
#define NAME(o) #o,
static const char *const op_names[] = {OPS(NAME)};

// The program: 4 words per instruction (opcode, a, b, c).
static int64_t *code;
static long ninstrs;

// The accessors: pure functions of their (promoted, so constant) arguments, which traces
// replace by the values recorded.
yk_idempotent static int64_t opcode(long pc) { return code[4 * pc]; }
yk_idempotent static int64_t operand(long pc, int k) { return code[4 * pc + k]; }

// A helper the traces call instead of inlining.
yk_outline static int64_t mix(int64_t x, int64_t y) {
  uint64_t h = (uint64_t)x * 0x9E3779B97F4A7C15ull;
  h ^= (uint64_t)y + (h >> 29);
  return (int64_t)(h * 0xBF58476D1CE4E5B9ull);
}

static int64_t div_(int64_t x, int64_t y) {
  if (y == 0)
    return 0;
  if (x == INT64_MIN && y == -1)
    return INT64_MIN;
  return x / y;
}

static int64_t mod_(int64_t x, int64_t y) {
  if (y == 0)
    return x;
  if (y == -1)
    return 0;
  return x % y;
}

static void die(const char *msg, long line) {
  fprintf(stderr, "interp: %s (line %ld)\n", msg, line);
  exit(2);
}

// Parses program text `src` into `code`/`ninstrs`.
static void parse(const char *src) {
  long cap = 64, line = 0;
  code = malloc(4 * cap * sizeof(int64_t));
  ninstrs = 0;
  const char *p = src;
  while (*p) {
    line++;
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char buf[256];
    if (len >= sizeof(buf))
      die("line too long", line);
    memcpy(buf, p, len);
    buf[len] = 0;
    p = end ? end + 1 : p + len;
    char *hash = strchr(buf, '#');
    if (hash)
      *hash = 0;
    char *tok = strtok(buf, " \t\r");
    if (!tok)
      continue;
    int op = -1;
    for (int i = 0; i < NOPS; i++)
      if (strcmp(tok, op_names[i]) == 0)
        op = i;
    if (op < 0)
      die("unknown instruction", line);
    if (ninstrs == cap) {
      cap *= 2;
      code = realloc(code, 4 * cap * sizeof(int64_t));
    }
    int64_t *w = &code[4 * ninstrs];
    w[0] = op;
    w[1] = w[2] = w[3] = 0;
    for (int k = 1; k < 4 && (tok = strtok(NULL, " \t\r")); k++)
      w[k] = strtoll(tok, NULL, 10);
    ninstrs++;
  }
  // Check the operands once, so that the dispatch loop needs no checks.
  for (long pc = 0; pc < ninstrs; pc++) {
    int64_t *w = &code[4 * pc];
    switch (w[0]) {
    case OP_JMP: case OP_CALL:
      if (w[1] < 0 || w[1] >= ninstrs)
        die("jump target out of range", pc + 1);
      break;
    case OP_JZ: case OP_JNZ:
      if (w[1] < 0 || w[1] >= NREGS || w[2] < 0 || w[2] >= ninstrs)
        die("bad operand", pc + 1);
      break;
    case OP_JLT: case OP_JEQ:
      if (w[1] < 0 || w[1] >= NREGS || w[2] < 0 || w[2] >= NREGS || w[3] < 0 || w[3] >= ninstrs)
        die("bad operand", pc + 1);
      break;
    case OP_JIDX:
      if (w[1] < 0 || w[1] >= NREGS || w[3] <= 0 || w[2] < 0 || w[2] + w[3] > ninstrs)
        die("bad operand", pc + 1);
      break;
    case OP_HALT: case OP_RET:
      break;
    default: {
      // Register operands: a always; b for the two- and three-register forms; c for the
      // three-register ones.
      int64_t op = w[0];
      int nregs = op == OP_LI || op == OP_PRINT || op == OP_PROM ? 1
                  : op == OP_MOV || op == OP_ADDI || op == OP_MULI || op == OP_NEG ||
                          op == OP_NOT || op == OP_LD || op == OP_ST
                      ? 2
                      : 3;
      for (int k = 1; k <= nregs; k++)
        if (w[k] < 0 || w[k] >= NREGS)
          die("register out of range", pc + 1);
    }
    }
  }
  if (ninstrs == 0 || opcode(ninstrs - 1) != OP_HALT)
    die("the program must end with HALT", ninstrs);
}

#ifndef FUZZ_PROGRAM
static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  size_t cap = 4096, len = 0;
  char *s = malloc(cap);
  size_t n;
  while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len - 1 == 0)
      s = realloc(s, cap *= 2);
  }
  s[len] = 0;
  fclose(f);
  return s;
}
#endif

int main(int argc, char **argv) {
  long reps = 1;
#ifdef FUZZ_PROGRAM
  if (argc > 1)
    reps = atol(argv[1]);
  parse(FUZZ_PROGRAM);
#else
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s PROGRAM [REPS]\n", argv[0]);
    return 2;
  }
  if (argc == 3)
    reps = atol(argv[2]);
  char *src = read_file(argv[1]);
  parse(src);
  free(src);
#endif

  YkMT *mt = yk_mt_new(NULL);
  // A location for every backward-jump target, null ones elsewhere.
  YkLocation *locs = calloc(ninstrs, sizeof(YkLocation));
  for (long pc = 0; pc < ninstrs; pc++) {
    int64_t op = code[4 * pc], t = -1;
    if (op == OP_JMP)
      t = code[4 * pc + 1];
    else if (op == OP_JZ || op == OP_JNZ)
      t = code[4 * pc + 2];
    else if (op == OP_JLT || op == OP_JEQ)
      t = code[4 * pc + 3];
    if (t >= 0 && t <= pc && yk_location_is_null(locs[t]))
      locs[t] = yk_location_new();
  }

  for (long rep = 0; rep < reps; rep++) {
    if (reps > 1)
      printf("rep %ld\n", rep);
    int64_t r[NREGS] = {0}, mem[NMEM] = {0};
    long calls[NCALLS];
    int csp = 0;
    long pc = 0;
    for (;;) {
      yk_mt_control_point(mt, &locs[pc]);
      pc = yk_promote(pc);
      int64_t a = operand(pc, 1), b = operand(pc, 2), c = operand(pc, 3);
      switch (opcode(pc)) {
      case OP_LI: r[a] = b; pc++; break;
      case OP_MOV: r[a] = r[b]; pc++; break;
      case OP_ADD: r[a] = (int64_t)((uint64_t)r[b] + (uint64_t)r[c]); pc++; break;
      case OP_SUB: r[a] = (int64_t)((uint64_t)r[b] - (uint64_t)r[c]); pc++; break;
      case OP_MUL: r[a] = (int64_t)((uint64_t)r[b] * (uint64_t)r[c]); pc++; break;
      case OP_ADDI: r[a] = (int64_t)((uint64_t)r[b] + (uint64_t)c); pc++; break;
      case OP_MULI: r[a] = (int64_t)((uint64_t)r[b] * (uint64_t)c); pc++; break;
      case OP_DIV: r[a] = div_(r[b], r[c]); pc++; break;
      case OP_MOD: r[a] = mod_(r[b], r[c]); pc++; break;
      case OP_AND: r[a] = r[b] & r[c]; pc++; break;
      case OP_OR: r[a] = r[b] | r[c]; pc++; break;
      case OP_XOR: r[a] = r[b] ^ r[c]; pc++; break;
      case OP_SHL: r[a] = (int64_t)((uint64_t)r[b] << (r[c] & 63)); pc++; break;
      case OP_SHR: r[a] = (int64_t)((uint64_t)r[b] >> (r[c] & 63)); pc++; break;
      case OP_SAR: {
        // An arithmetic shift written without relying on >> of a negative value.
        int s = (int)(r[c] & 63);
        uint64_t u = (uint64_t)r[b] >> s;
        if (r[b] < 0 && s > 0)
          u |= ~(UINT64_MAX >> s);
        r[a] = (int64_t)u;
        pc++;
        break;
      }
      case OP_NEG: r[a] = (int64_t)(0 - (uint64_t)r[b]); pc++; break;
      case OP_NOT: r[a] = ~r[b]; pc++; break;
      case OP_LT: r[a] = r[b] < r[c]; pc++; break;
      case OP_LE: r[a] = r[b] <= r[c]; pc++; break;
      case OP_EQ: r[a] = r[b] == r[c]; pc++; break;
      case OP_NE: r[a] = r[b] != r[c]; pc++; break;
      case OP_ULT: r[a] = (uint64_t)r[b] < (uint64_t)r[c]; pc++; break;
      case OP_LD: r[a] = mem[(uint64_t)(r[b] + 0ull + (uint64_t)c) & (NMEM - 1)]; pc++; break;
      case OP_ST: mem[(uint64_t)(r[b] + 0ull + (uint64_t)c) & (NMEM - 1)] = r[a]; pc++; break;
      case OP_JMP: pc = a; break;
      case OP_JZ: pc = r[a] == 0 ? b : pc + 1; break;
      case OP_JNZ: pc = r[a] != 0 ? b : pc + 1; break;
      case OP_JLT: pc = r[a] < r[b] ? c : pc + 1; break;
      case OP_JEQ: pc = r[a] == r[b] ? c : pc + 1; break;
      // An indirect jump into a table of c instructions at b (a switch).
      case OP_JIDX: pc = b + (long)((uint64_t)r[a] % (uint64_t)c); break;
      case OP_CALL:
        if (csp == NCALLS) {
          printf("call stack overflow at %ld\n", pc);
          goto halt;
        }
        calls[csp++] = pc + 1;
        pc = a;
        break;
      case OP_RET:
        if (csp == 0) {
          printf("return with an empty call stack at %ld\n", pc);
          goto halt;
        }
        pc = calls[--csp];
        break;
      case OP_PRINT: printf("%" PRId64 "\n", r[a]); pc++; break;
      case OP_PROM: r[a] = yk_promote(r[a]); pc++; break;
      case OP_MIX: r[a] = mix(r[b], r[c]); pc++; break;
      case OP_HALT: goto halt;
      default: printf("bad opcode at %ld\n", pc); goto halt;
      }
    }
  halt:
    for (int i = 0; i < NREGS; i++)
      printf("r%d=%" PRId64 "%c", i, r[i], i % 8 == 7 ? '\n' : ' ');
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < NMEM; i++)
      h = (h ^ (uint64_t)mem[i]) * 1099511628211ull;
    printf("mem hash=%016" PRIx64 "\n", h);
    for (int i = 0; i < NMEM; i++)
      if (mem[i])
        printf("mem[%d]=%" PRId64 "\n", i, mem[i]);
    printf("pc=%ld csp=%d\n", pc, csp);
  }
  yk_mt_shutdown(mt);
  for (long i = 0; i < ninstrs; i++)
    if (!yk_location_is_null(locs[i]))
      yk_location_drop_at(&locs[i]);
  free(locs);
  free(code);
  return 0;
}
