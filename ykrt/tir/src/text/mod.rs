//! The textual form of a trace: [`print`] and [`parse`].
//!
//! Owns the syntax. Invariant: `parse(&print(t)) == Ok(t)` for every
//! well-formed trace `t` (the printer numbers values and snapshots
//! canonically; the parser accepts any names and keeps the order of
//! definitions, so values and snapshots get the same ids back).
//!
//! ```text
//! ; a comment runs to the end of the line
//! loop(%0: ptr, %1: i64)             ; or trace(...) for a trace ending in exit
//!   %2 = load i64 %0                 ; load volatile / load const
//!   store i64 %2, %0                 ; store volatile
//!   %3 = ptr_add %0, 8
//!   %4 = dyn_ptr_add %0, i64 %1, 8, 16   ; %0 + %1 * 8 + 16
//!   %5 = add i64 %2, 1               ; sub mul sdiv udiv srem urem and or xor shl lshr ashr fadd ...
//!   %6 = icmp slt i64 %5, 10         ; fcmp olt f64 %a, %b
//!   %7 = zext i1 %6 to i64           ; sext trunc bitcast ptrtoint inttoptr fpto[su]i [su]itofp fpext fptrunc
//!   %8 = select %6, i64 %5, 0
//!   %9 = alloca 16, 8                ; size, align
//!   %10 = call i64 @f3(i64 %5, ptr %9) readonly idempotent   ; pure | readonly | any
//!   guard true %6, s0
//!   jump %0, %5                      ; or: exit s0
//! s0: [f3 r7 a12=%4 a13=i64 5] [f1 r2]
//! ```
//!
//! Constants take their type from the position: `1`, `-1`, `0x1f`, `true`,
//! `false` for ints; `1.5`, `-0.0`, `inf`, or raw bits `0x3ff0000000000000`
//! for floats; `null`, an address `0x1000`, `@f3` (function 3) or `@g2`
//! (global 2) for pointers. Where no type is implied (call arguments,
//! snapshot values) a constant is written `i64 5`. A snapshot lists its
//! frames outermost first: `f<function> r<resume point>` and `a<AOT value
//! id>=<operand>` pairs.

mod parse;
mod print;

pub use parse::parse;
pub use print::{literal, print};

use crate::ir::*;
use std::fmt;

/// A parse error at a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong there.
    pub kind: ParseErrorKind,
}

/// What is wrong with a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Something else was expected.
    Expected {
        /// What was expected (`"a type"`, `"':'"`, ...).
        expected: &'static str,
        /// What was there instead (a token, or `end of line`).
        found: String,
    },
    /// A character that starts no token.
    BadChar(char),
    /// A name that is no instruction.
    UnknownOpcode(String),
    /// A value (named without its `%`) used but not defined before.
    UnknownValue(String),
    /// A guard or exit names a snapshot the text doesn't define.
    UnknownSnapshot(String),
    /// A value name (without its `%`) defined twice.
    DuplicateValue(String),
    /// A snapshot name defined twice.
    DuplicateSnapshot(String),
    /// A literal that doesn't fit or parse as its type.
    BadLiteral {
        /// The literal as written.
        text: String,
        /// The type it was read as.
        ty: Ty,
    },
    /// A name that is no type, or `void` for a parameter.
    BadType(String),
    /// `loop` must end with `jump`, `trace` with `exit`.
    WrongEnd,
    /// The text ended before the trace did.
    UnexpectedEof,
    /// The trace is ill-typed.
    Type(TypeError),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ParseErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found '{found}'")
            }
            ParseErrorKind::BadChar(c) => write!(f, "unexpected character '{c}'"),
            ParseErrorKind::UnknownOpcode(s) => write!(f, "unknown instruction '{s}'"),
            ParseErrorKind::UnknownValue(s) => write!(f, "unknown value '%{s}'"),
            ParseErrorKind::UnknownSnapshot(s) => write!(f, "unknown snapshot '{s}'"),
            ParseErrorKind::DuplicateValue(s) => write!(f, "value '%{s}' defined twice"),
            ParseErrorKind::DuplicateSnapshot(s) => write!(f, "snapshot '{s}' defined twice"),
            ParseErrorKind::BadLiteral { text, ty } => {
                write!(f, "'{text}' is not a constant of type {ty}")
            }
            ParseErrorKind::BadType(s) => write!(f, "unknown type '{s}'"),
            ParseErrorKind::WrongEnd => write!(f, "a loop ends with jump, a trace with exit"),
            ParseErrorKind::UnexpectedEof => write!(f, "unexpected end of text"),
            ParseErrorKind::Type(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests;
