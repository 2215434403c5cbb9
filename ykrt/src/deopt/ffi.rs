//! Calling a native function with a signature known only at run time, for
//! the blackhole (System V x86-64 only).
//!
//! The trampoline loads six integer and eight SSE argument registers from
//! arrays, copies the remaining arguments onto a 16-byte aligned stack, sets
//! `al` to 8 (an upper bound on the SSE registers used, which is what a
//! varargs callee needs) and returns `rax`, `rdx`, `xmm0` and `xmm1`.

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("the blackhole's native calls support x86-64 Linux only");

std::arch::global_asm!(
    ".globl __yk_bh_call_native",
    ".type __yk_bh_call_native,@function",
    "__yk_bh_call_native:",
    // rdi = f, rsi = gp[6], rdx = sse[8], rcx = stack, r8 = nstack, r9 = out[4]
    "push rbp",
    "mov rbp, rsp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "mov r12, rdi",
    "mov r13, r9",
    "mov r14, rsi",
    "mov rbx, rdx",
    "mov rax, r8",
    "shl rax, 3",
    "sub rsp, rax",
    "and rsp, -16",
    "xor r10, r10",
    "2:",
    "cmp r10, r8",
    "jae 3f",
    "mov r11, [rcx + r10*8]",
    "mov [rsp + r10*8], r11",
    "inc r10",
    "jmp 2b",
    "3:",
    "movq xmm0, [rbx]",
    "movq xmm1, [rbx + 8]",
    "movq xmm2, [rbx + 16]",
    "movq xmm3, [rbx + 24]",
    "movq xmm4, [rbx + 32]",
    "movq xmm5, [rbx + 40]",
    "movq xmm6, [rbx + 48]",
    "movq xmm7, [rbx + 56]",
    "mov rdi, [r14]",
    "mov rsi, [r14 + 8]",
    "mov rdx, [r14 + 16]",
    "mov rcx, [r14 + 24]",
    "mov r8, [r14 + 32]",
    "mov r9, [r14 + 40]",
    "mov eax, 8",
    "call r12",
    "mov [r13], rax",
    "mov [r13 + 8], rdx",
    "movq [r13 + 16], xmm0",
    "movq [r13 + 24], xmm1",
    "lea rsp, [rbp - 32]",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".size __yk_bh_call_native, . - __yk_bh_call_native",
);

extern "C" {
    fn __yk_bh_call_native(
        f: usize,
        gp: *const u64,
        sse: *const u64,
        stack: *const u64,
        nstack: u64,
        out: *mut u64,
    );
}

/// Arguments being marshalled for one call.
#[derive(Default)]
pub struct Args {
    gp: Vec<u64>,
    sse: Vec<u64>,
    stack: Vec<u64>,
}

impl Args {
    /// An integer or pointer argument.
    pub fn int(&mut self, x: u64) {
        if self.gp.len() < 6 {
            self.gp.push(x)
        } else {
            self.stack.push(x)
        }
    }

    /// A `float` (low 32 bits) or `double` argument.
    pub fn sse(&mut self, x: u64) {
        if self.sse.len() < 8 {
            self.sse.push(x)
        } else {
            self.stack.push(x)
        }
    }

    /// Calls `f`, returning `[rax, rdx, xmm0, xmm1]`.
    ///
    /// # Safety
    /// `f` must be a function whose System V signature matches the arguments.
    pub unsafe fn call(mut self, f: usize) -> [u64; 4] {
        self.gp.resize(6, 0);
        self.sse.resize(8, 0);
        let mut out = [0u64; 4];
        // SAFETY: the trampoline reads exactly these arrays; the caller vouches
        // for the signature.
        unsafe {
            __yk_bh_call_native(
                f,
                self.gp.as_ptr(),
                self.sse.as_ptr(),
                self.stack.as_ptr(),
                self.stack.len() as u64,
                out.as_mut_ptr(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn mix(
        a: i64,
        b: f64,
        c: i32,
        d: f32,
        e: i64,
        f: i64,
        g: i64,
        h: i64,
        i: i64,
    ) -> f64 {
        a as f64
            + b * 2.0
            + c as f64 * 3.0
            + d as f64 * 4.0
            + (e + f + g + h) as f64
            + i as f64 * 100.0
    }

    #[test]
    fn calls_with_stack_and_sse_arguments() {
        let mut a = Args::default();
        a.int(1);
        a.sse(2.5f64.to_bits());
        a.int(3);
        a.sse((1.5f32).to_bits() as u64);
        for x in [4, 5, 6, 7, 8] {
            a.int(x);
        }
        // SAFETY: `mix` is a C function taking exactly these arguments.
        let r = unsafe { a.call(mix as *const () as usize) };
        let want = 1.0 + 5.0 + 9.0 + 6.0 + 22.0 + 800.0;
        assert_eq!(f64::from_bits(r[2]), want);
    }

    #[test]
    fn two_register_results() {
        // A 16-byte struct of integers comes back in rax:rdx.
        #[repr(C)]
        struct P(u64, u64);
        extern "C" fn p(a: u64) -> P {
            P(a, a * 2)
        }
        let mut a = Args::default();
        a.int(21);
        // SAFETY: `p` is a C function taking one integer.
        let r = unsafe { a.call(p as *const () as usize) };
        assert_eq!((r[0], r[1]), (21, 42));
    }
}
