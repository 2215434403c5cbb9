//! The printer: a trace in the textual form (the syntax is in [`super`]).

use crate::ir::*;
use std::fmt::{self, Write};

/// Prints `t` in the textual form.
pub fn print(t: &Trace) -> String {
    let mut p = Printer {
        t,
        names: vec![None; t.nvals()],
    };
    let mut n = 0u32;
    for (i, name) in p.names.iter_mut().enumerate() {
        let ty = t.val_ty(ValId(i as u32));
        if ty != Ty::Void {
            *name = Some(n);
            n += 1;
        }
    }
    let mut s = String::new();
    p.write(&mut s).expect("writing to a String");
    s
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&print(self))
    }
}

struct Printer<'a> {
    t: &'a Trace,
    names: Vec<Option<u32>>,
}

/// A constant's literal, without its type.
pub fn literal(c: Const) -> String {
    match c {
        Const::Int { width: 1, bits } => (if bits != 0 { "true" } else { "false" }).into(),
        Const::Int { width, bits } => sext(bits, u32::from(width)).to_string(),
        Const::F32(b) => {
            let x = f32::from_bits(b);
            let s = format!("{x:?}");
            if !x.is_nan() && s.parse::<f32>().map(f32::to_bits) == Ok(b) {
                s
            } else {
                format!("0x{b:x}")
            }
        }
        Const::F64(b) => {
            let x = f64::from_bits(b);
            let s = format!("{x:?}");
            if !x.is_nan() && s.parse::<f64>().map(f64::to_bits) == Ok(b) {
                s
            } else {
                format!("0x{b:x}")
            }
        }
        Const::Ptr(0) => "null".into(),
        Const::Ptr(a) => format!("0x{a:x}"),
        Const::Sym(Sym::Func(i)) => format!("@f{i}"),
        Const::Sym(Sym::Global(i)) => format!("@g{i}"),
    }
}

impl Printer<'_> {
    /// An operand whose type the position implies.
    fn op(&self, o: Operand) -> String {
        match o {
            Operand::Val(v) => match self.names.get(v.idx()).copied().flatten() {
                Some(n) => format!("%{n}"),
                None => format!("%<bad {}>", v.0),
            },
            Operand::Const(c) => literal(c),
        }
    }

    /// An operand with its type where it's a constant.
    fn typed_op(&self, o: Operand) -> String {
        match o {
            Operand::Const(
                c @ (Const::Int { .. } | Const::F32(_) | Const::F64(_) | Const::Ptr(_)),
            ) => {
                format!("{} {}", c.ty(), literal(c))
            }
            _ => self.op(o),
        }
    }

    fn write(&self, s: &mut String) -> fmt::Result {
        let t = self.t;
        let kw = if matches!(t.end, End::Jump(_)) {
            "loop"
        } else {
            "trace"
        };
        let ps: Vec<String> = t
            .params
            .iter()
            .enumerate()
            .map(|(i, ty)| format!("%{i}: {ty}"))
            .collect();
        writeln!(s, "{kw}({})", ps.join(", "))?;
        for (i, inst) in t.body.iter().enumerate() {
            s.push_str("  ");
            if let Some(n) = self.names[t.val_of(i).idx()] {
                write!(s, "%{n} = ")?;
            }
            self.inst(s, inst)?;
            s.push('\n');
        }
        match &t.end {
            End::Jump(args) => {
                let a: Vec<String> = args.iter().map(|o| self.op(*o)).collect();
                if a.is_empty() {
                    writeln!(s, "  jump")?;
                } else {
                    writeln!(s, "  jump {}", a.join(", "))?;
                }
            }
            End::Exit(snap) => writeln!(s, "  exit s{}", snap.0)?,
        }
        for (id, snap) in t.snaps.iter() {
            write!(s, "s{}:", id.0)?;
            for fr in &snap.frames {
                write!(s, " [f{} r{}", fr.func, fr.resume)?;
                for (a, o) in &fr.live {
                    write!(s, " a{a}={}", self.typed_op(*o))?;
                }
                s.push(']');
            }
            s.push('\n');
        }
        Ok(())
    }

    fn inst(&self, s: &mut String, inst: &Inst) -> fmt::Result {
        let t = self.t;
        let ty_of = |o: &Operand| match o {
            Operand::Const(c) => c.ty(),
            Operand::Val(v) => t.val_ty(*v),
        };
        match inst {
            Inst::Load { ty, ptr, flags } => {
                s.push_str("load ");
                if flags.volatile {
                    s.push_str("volatile ");
                }
                if flags.constant {
                    s.push_str("const ");
                }
                write!(s, "{ty} {}", self.op(*ptr))
            }
            Inst::Store { val, ptr, volatile } => {
                let v = if *volatile { "volatile " } else { "" };
                write!(
                    s,
                    "store {v}{} {}, {}",
                    ty_of(val),
                    self.op(*val),
                    self.op(*ptr)
                )
            }
            Inst::PtrAdd { ptr, off } => write!(s, "ptr_add {}, {off}", self.op(*ptr)),
            Inst::DynPtrAdd {
                ptr,
                idx,
                scale,
                off,
            } => {
                write!(
                    s,
                    "dyn_ptr_add {}, {} {}, {scale}, {off}",
                    self.op(*ptr),
                    ty_of(idx),
                    self.op(*idx)
                )
            }
            Inst::Bin { op, ty, lhs, rhs } => {
                write!(s, "{} {ty} {}, {}", op.name(), self.op(*lhs), self.op(*rhs))
            }
            Inst::ICmp { pred, lhs, rhs } => {
                write!(
                    s,
                    "icmp {} {} {}, {}",
                    pred.name(),
                    ty_of(lhs),
                    self.op(*lhs),
                    self.op(*rhs)
                )
            }
            Inst::FCmp { pred, lhs, rhs } => {
                write!(
                    s,
                    "fcmp {} {} {}, {}",
                    pred.name(),
                    ty_of(lhs),
                    self.op(*lhs),
                    self.op(*rhs)
                )
            }
            Inst::Cast { op, val, to } => {
                write!(s, "{} {} {} to {to}", op.name(), ty_of(val), self.op(*val))
            }
            Inst::Select { cond, ty, t, f } => {
                write!(
                    s,
                    "select {}, {ty} {}, {}",
                    self.op(*cond),
                    self.op(*t),
                    self.op(*f)
                )
            }
            Inst::Alloca { size, align } => write!(s, "alloca {size}, {align}"),
            Inst::Call {
                callee,
                args,
                ret,
                effects,
                idempotent,
            } => {
                let a: Vec<String> = args
                    .iter()
                    .map(|o| format!("{} {}", ty_of(o), self.op(*o)))
                    .collect();
                let e = match effects {
                    Effects::Pure => "pure",
                    Effects::ReadOnly => "readonly",
                    Effects::Any => "any",
                };
                write!(s, "call {ret} {}({}) {e}", self.op(*callee), a.join(", "))?;
                if *idempotent {
                    s.push_str(" idempotent");
                }
                Ok(())
            }
            Inst::Guard { cond, expect, snap } => {
                write!(s, "guard {expect} {}, s{}", self.op(*cond), snap.0)
            }
        }
    }
}

// ---------------------------------------------------------------- lexer
