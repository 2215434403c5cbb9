// Run-time:
//   env-var: YK_HOT_THRESHOLD=5
//   env-var: YK_SIDETRACE_THRESHOLD=2
//   env-var: YKD_SERIALISE_COMPILATION=1
//   env-var: YKD_LOG=3
//   exec-arg: 1
//   stderr:
//     ...
//     yk-jit-event: trace-compiled
//     ...
//     yk-jit-event: side-trace-compiled
//     ...
//   stdout:
//     r0=1 r1=0 r2=2 r3=0 r4=1 r5=0 r6=0 r7=0
//     r8=0 r9=775 r10=3 r11=-16 r12=-80 r13=194 r14=775 r15=1
//     r16=0 r17=0 r18=0 r19=0 r20=0 r21=0 r22=0 r23=0
//     r24=0 r25=0 r26=0 r27=0 r28=0 r29=0 r30=0 r31=0
//     mem hash=eebb010fb3c1d4fe
//     mem[1]=159
//     mem[3]=159
//     mem[5]=159
//     mem[7]=159
//     mem[9]=159
//     mem[11]=159
//     mem[13]=159
//     mem[15]=159
//     mem[17]=159
//     mem[19]=159
//     mem[21]=159
//     mem[23]=159
//     mem[25]=159
//     mem[27]=159
//     mem[29]=159
//     mem[31]=1
//     mem[33]=159
//     mem[35]=159
//     mem[37]=159
//     mem[39]=159
//     mem[41]=159
//     mem[43]=159
//     mem[45]=159
//     mem[47]=159
//     mem[49]=5
//     mem[51]=159
//     mem[53]=159
//     mem[55]=159
//     mem[57]=159
//     mem[59]=159
//     mem[61]=159
//     pc=130 csp=0

// The program of `cargo xtask fuzz-c` seed 8 (`cargo xtask fuzz-c --c-test 8`, with the
// YKD_LOG lines added): nested loops whose branches change direction, a call, loads and
// stores; about 9 traces and 23 side traces compile. It keeps the c_test form of the
// fuzzer's mismatches (the program compiled into the interpreter) working.
// The fuzzer's interpreter (c_tests/fuzz/interp.c) with the program compiled in.

#define FUZZ_PROGRAM \
  "JMP 3 0 0                                # 0 to main\n" \
  "MULI 14 7 31                             # 1 f0\n" \
  "RET 0 0 0                                # 2\n" \
  "LI 0 -100 0                              # 3 main\n" \
  "LI 7 -64 0                               # 4\n" \
  "LI 5 -88 0                               # 5\n" \
  "LI 0 -2147483648 0                       # 6\n" \
  "LI 12 78 0                               # 7\n" \
  "LI 3 -55 0                               # 8\n" \
  "LI 13 65 0                               # 9\n" \
  "LI 11 -16 0                              # 10\n" \
  "LI 16 179 0                              # 11 loop r16 x179\n" \
  "JZ 16 96 0                               # 12\n" \
  "LI 15 7 0                                # 13\n" \
  "MOD 15 16 15                             # 14\n" \
  "LI 0 1 0                                 # 15\n" \
  "JEQ 15 0 39                              # 16 if\n" \
  "LI 2 7 0                                 # 17\n" \
  "MOD 2 16 2                               # 18\n" \
  "LI 3 5 0                                 # 19\n" \
  "JEQ 2 3 23                               # 20 if\n" \
  "CALL 1 0 0                               # 21 call f0\n" \
  "JMP 38 0 0                               # 22 endif\n" \
  "LI 1 5 0                                 # 23\n" \
  "MOD 1 16 1                               # 24\n" \
  "LI 2 0 0                                 # 25\n" \
  "JEQ 1 2 28                               # 26 if\n" \
  "JMP 29 0 0                               # 27 endif\n" \
  "ADDI 7 16 20                             # 28\n" \
  "LI 17 2 0                                # 29 loop r17 x2\n" \
  "JZ 17 38 0                               # 30\n" \
  "LT 8 10 17                               # 31\n" \
  "ST 16 16 29                              # 32\n" \
  "LD 10 6 42                               # 33\n" \
  "LI 2 -2147483648 0                       # 34\n" \
  "ST 3 9 45                                # 35\n" \
  "ADDI 17 17 -1                            # 36\n" \
  "JMP 30 0 0                               # 37 back\n" \
  "JMP 40 0 0                               # 38 endif\n" \
  "CALL 1 0 0                               # 39 call f0\n" \
  "LI 17 2 0                                # 40 loop r17 x2\n" \
  "JZ 17 69 0                               # 41\n" \
  "LD 8 0 39                                # 42\n" \
  "LT 13 1 15                               # 43\n" \
  "LI 18 13 0                               # 44 loop r18 x13\n" \
  "JZ 18 57 0                               # 45\n" \
  "SHL 3 8 16                               # 46\n" \
  "MULI 4 8 931041202690992992              # 47\n" \
  "JEQ 1 6 57                               # 48 break\n" \
  "ADDI 5 16 55                             # 49\n" \
  "LI 14 206 0                              # 50\n" \
  "JLT 16 14 54                             # 51 if\n" \
  "SHR 14 6 11                              # 52\n" \
  "JMP 55 0 0                               # 53 endif\n" \
  "LI 12 -80 0                              # 54\n" \
  "ADDI 18 18 -1                            # 55\n" \
  "JMP 45 0 0                               # 56 back\n" \
  "LD 9 17 57                               # 57\n" \
  "OR 5 10 3                                # 58\n" \
  "LI 18 8 0                                # 59 loop r18 x8\n" \
  "JZ 18 67 0                               # 60\n" \
  "CALL 1 0 0                               # 61 call f0\n" \
  "LI 0 187 0                               # 62\n" \
  "JLT 0 17 67                              # 63 break\n" \
  "LD 4 18 59                               # 64\n" \
  "ADDI 18 18 -1                            # 65\n" \
  "JMP 60 0 0                               # 66 back\n" \
  "ADDI 17 17 -1                            # 67\n" \
  "JMP 41 0 0                               # 68 back\n" \
  "JNZ 15 72 0                              # 69 if\n" \
  "LI 3 -9223372036854775807 0              # 70\n" \
  "JMP 74 0 0                               # 71 endif\n" \
  "MUL 5 13 3                               # 72\n" \
  "AND 15 1 7                               # 73\n" \
  "CALL 1 0 0                               # 74 call f0\n" \
  "LI 0 171 0                               # 75\n" \
  "JLT 16 0 78                              # 76 if\n" \
  "JMP 93 0 0                               # 77 endif\n" \
  "LI 17 3 0                                # 78 loop r17 x3\n" \
  "LI 8 5 0                                 # 79\n" \
  "MOD 8 16 8                               # 80\n" \
  "LI 9 4 0                                 # 81\n" \
  "JEQ 8 9 93                               # 82 break\n" \
  "SUB 1 16 17                              # 83\n" \
  "CALL 1 0 0                               # 84 call f0\n" \
  "LI 18 2 0                                # 85 loop r18 x2\n" \
  "JZ 18 91 0                               # 86\n" \
  "MULI 13 17 88                            # 87\n" \
  "ADDI 13 17 -64                           # 88\n" \
  "ADDI 18 18 -1                            # 89\n" \
  "JMP 86 0 0                               # 90 back\n" \
  "ADDI 17 17 -1                            # 91\n" \
  "JNZ 17 79 0                              # 92 back\n" \
  "ST 4 16 29                               # 93\n" \
  "ADDI 16 16 -1                            # 94\n" \
  "JMP 12 0 0                               # 95 back\n" \
  "LI 16 197 0                              # 96 loop r16 x197\n" \
  "JEQ 1 9 99                               # 97 if\n" \
  "JMP 101 0 0                              # 98 endif\n" \
  "JLT 13 11 126                            # 99 break\n" \
  "ST 9 16 41                               # 100\n" \
  "LE 0 16 13                               # 101\n" \
  "LT 15 6 16                               # 102\n" \
  "LI 17 13 0                               # 103 loop r17 x13\n" \
  "LI 9 6 0                                 # 104\n" \
  "MOD 9 16 9                               # 105\n" \
  "LI 10 3 0                                # 106\n" \
  "JEQ 9 10 111                             # 107 if\n" \
  "PROM 12 0 0                              # 108\n" \
  "LD 3 4 7                                 # 109\n" \
  "JMP 119 0 0                              # 110 endif\n" \
  "LI 13 194 0                              # 111\n" \
  "JLT 17 13 116                            # 112 if\n" \
  "OR 10 8 9                                # 113\n" \
  "LE 12 17 14                              # 114\n" \
  "JMP 119 0 0                              # 115 endif\n" \
  "ST 8 9 60                                # 116\n" \
  "LE 7 3 5                                 # 117\n" \
  "SAR 5 15 17                              # 118\n" \
  "JEQ 15 14 124                            # 119 break\n" \
  "ULT 7 2 0                                # 120\n" \
  "DIV 8 13 1                               # 121\n" \
  "ADDI 17 17 -1                            # 122\n" \
  "JNZ 17 104 0                             # 123 back\n" \
  "ADDI 16 16 -1                            # 124\n" \
  "JNZ 16 97 0                              # 125 back\n" \
  "LD 4 12 38                               # 126\n" \
  "MOV 4 9 0                                # 127\n" \
  "ADD 9 1 14                               # 128\n" \
  "ST 4 14 24                               # 129\n" \
  "HALT 0 0 0                               # 130\n" \
  ""

#include "../fuzz/interp.c"
