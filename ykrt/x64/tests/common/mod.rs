//! Helpers shared by the native tests: the fixed memory regions of tir's
//! test generator, the native `@f1`-`@f3`, symbols, and the runtime
//! functions a trace calls (`exit_fn`, `check_fn`) with what they saw.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, OnceLock};
use tir::testgen::{CONST, SHARED};
use x64::*;

pub const START_LOC: u64 = 0x5000;
pub const REENTER: u64 = 3;
pub const RESUME: u64 = 1;
pub const JUMP_MIN: u64 = 0x1000;
/// What `exit_fn` returns unless told otherwise.
pub const EXIT_RETURN: u64 = 0x77;

/// Maps the shared and constant regions (a page each, once per process) and
/// locks them for the caller; None if they can't be mapped.
pub fn regions() -> Option<MutexGuard<'static, ()>> {
    static MAPPED: OnceLock<bool> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let ok = *MAPPED.get_or_init(|| {
        [SHARED, CONST].iter().all(|&a| {
            // SAFETY: a fixed anonymous mapping that replaces nothing
            // (MAP_FIXED_NOREPLACE); checked below.
            let p = unsafe {
                libc::mmap(
                    a as *mut libc::c_void,
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED && p as u64 != a {
                // An old kernel ignoring the flag: not where we need it.
                // SAFETY: the mapping just made, unused.
                unsafe { libc::munmap(p, 4096) };
            }
            p as u64 == a
        })
    });
    ok.then(|| LOCK.lock().unwrap_or_else(|e| e.into_inner()))
}

pub extern "C" fn f1(a: u64, b: u64) -> u64 {
    a.wrapping_mul(31).wrapping_add(b)
}

pub extern "C" fn f2(p: *const u64) -> u64 {
    // SAFETY: the differential test runs natively only what the evaluator
    // ran without an access outside a live region.
    unsafe { p.read_unaligned() }
}

pub extern "C" fn f3(p: *mut u64, v: u64) -> u64 {
    // SAFETY: as `f2`.
    unsafe {
        let old = p.read_unaligned();
        p.write_unaligned(v);
        old
    }
}

/// `@f1`-`@f3` as the generator's env defines them; other functions from
/// `extra`; globals from `globals`.
pub struct TestSyms;

impl Symbols for TestSyms {
    fn func(&self, n: u32) -> Result<Callee, Error> {
        let addr = match n {
            1 => f1 as *const () as u64,
            2 => f2 as *const () as u64,
            3 => f3 as *const () as u64,
            _ => return Err(Error::Symbol(format!("@f{n}"))),
        };
        Ok(Callee::Addr {
            addr,
            arg_ext: Vec::new(),
        })
    }

    fn global(&self, n: u32) -> Result<u64, Error> {
        Err(Error::Symbol(format!("@g{n}")))
    }
}

/// What `info` points to in the tests: the counter's pointer at offset 0
/// (`Plan::counter = Some(0)`), then the tier check's limit.
#[repr(C)]
pub struct Info {
    pub counter: *mut u64,
    pub limit: u64,
}

thread_local! {
    /// The guard numbers `exit_fn` got, in order.
    static EXITS: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
    /// What `exit_fn` returns next (then EXIT_RETURN).
    static EXIT_RESULTS: RefCell<VecDeque<i64>> = const { RefCell::new(VecDeque::new()) };
    /// The `own` addresses `check_fn` got.
    static CHECKS: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
    /// Copies of buf words 0..16 at each exit.
    static EXIT_BUFS: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

pub extern "C" fn exit_fn(_info: *mut u8, gno: i64, buf: *mut u64, _vars: *mut u8) -> i64 {
    EXITS.with(|e| e.borrow_mut().push(gno));
    // SAFETY: the tests' buffers have at least 16 words.
    let b = unsafe { std::slice::from_raw_parts(buf, 16) }.to_vec();
    EXIT_BUFS.with(|e| e.borrow_mut().push(b));
    EXIT_RESULTS
        .with(|r| r.borrow_mut().pop_front())
        .unwrap_or(EXIT_RETURN as i64)
}

/// Says "replaced" once the counter passes the limit.
pub extern "C" fn check_fn(info: *mut u8, own: i64) -> i64 {
    CHECKS.with(|c| c.borrow_mut().push(own));
    // SAFETY: the tests pass an `Info` whose counter pointer is live.
    let i = unsafe { &*(info as *const Info) };
    // SAFETY: as above.
    i64::from(unsafe { *i.counter } > i.limit)
}

/// Makes `exit_fn` return these values first.
pub fn exit_results(rs: &[i64]) {
    EXIT_RESULTS.with(|r| *r.borrow_mut() = rs.iter().copied().collect());
}

/// Runs the trace function (after clearing what the runtime functions saw).
pub fn run_trace(code: &Code, vars: *mut u8, info: &mut Info, buf: &mut [u64]) -> i64 {
    EXITS.with(|e| e.borrow_mut().clear());
    CHECKS.with(|c| c.borrow_mut().clear());
    EXIT_BUFS.with(|c| c.borrow_mut().clear());
    // SAFETY: `code` is a trace function with the trace ABI; its memory
    // accesses are the caller's responsibility.
    let f: extern "C" fn(*mut u8, *mut u8, *mut u64) -> i64 =
        unsafe { std::mem::transmute(code.entry()) };
    f(vars, info as *mut Info as *mut u8, buf.as_mut_ptr())
}

/// The guard numbers of the last run's exits.
pub fn exits() -> Vec<i64> {
    EXITS.with(|e| e.borrow().clone())
}

/// The buffers (words 0..16) at the last run's exits.
pub fn exit_bufs() -> Vec<Vec<u64>> {
    EXIT_BUFS.with(|e| e.borrow().clone())
}

/// The last exit's guard number, if any.
pub fn last_guard() -> Option<i64> {
    EXITS.with(|e| e.borrow().last().copied())
}

/// The `own` addresses the last run's tier checks passed.
pub fn checks() -> Vec<i64> {
    CHECKS.with(|c| c.borrow().clone())
}
