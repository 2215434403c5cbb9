# The sum of the Collatz sequence lengths of 1..r0, and the longest one.
# r0 = n, r1 = i, r2 = x, r3 = total steps, r4 = scratch, r5 = 1,
# r6 = steps of this i, r7 = the most steps
    set r1 1
    set r3 0
    set r5 1
    set r7 0
outer:
    mov r2 r1
    set r6 0
inner:
    jlt r5 r2 step
    jmp next
step:
    mov r4 r2
    andi r4 1
    jz r4 even
    mov r4 r2      # odd: x = 3x + 1
    add r2 r4
    add r2 r4
    addi r2 1
    jmp count
even:
    shri r2 1
count:
    addi r6 1
    jmp inner
next:
    add r3 r6
    jlt r6 r7 notmax
    mov r7 r6
notmax:
    addi r1 1
    jlt r0 r1 done
    jmp outer
done:
    print r3
    print r7
    halt
