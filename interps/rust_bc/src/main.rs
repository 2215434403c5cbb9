//! `rust_bc`: a register-machine bytecode interpreter written in Rust and
//! JIT-compiled by yk. It is the worked example of a Rust interpreter using
//! `ykrt` (see the README, "A Rust interpreter"): one [`ykrt::MT`], a
//! [`ykrt::Location`] per loop header and [`ykrt::MT::control_point`] at the top
//! of the dispatch loop.
//!
//! Usage: `rust_bc PROGRAM.asm [ARG...]`; the arguments are put in `r0`, `r1`, ...
//! The program format is described in [`asm`].

mod asm;
mod interp;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: rust_bc PROGRAM.asm [ARG...]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rust_bc: can't read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let prog = match asm::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rust_bc: {path}:{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut regs = [0i64; asm::NREGS];
    for (k, a) in args[1..].iter().enumerate() {
        if k >= asm::NREGS {
            eprintln!("rust_bc: at most {} arguments", asm::NREGS);
            return ExitCode::from(2);
        }
        match a.parse() {
            Ok(v) => regs[k] = v,
            Err(_) => {
                eprintln!("rust_bc: argument {} is not an integer: {a:?}", k + 1);
                return ExitCode::from(2);
            }
        }
    }
    let mt = match ykrt::MT::new() {
        Ok(mt) => mt,
        Err(e) => {
            eprintln!("rust_bc: {e}");
            return ExitCode::FAILURE;
        }
    };
    let locs = interp::locations(&prog);
    let mut out = std::io::stdout().lock();
    let r = interp::run(&mt, &prog, &locs, &mut regs, &mut out);
    mt.shutdown();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rust_bc: {e}");
            ExitCode::FAILURE
        }
    }
}
