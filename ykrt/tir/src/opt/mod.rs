//! Optimisation: the forward optimiser a builder appends through
//! ([`forward`]), the backward pass run on the finished trace ([`backward`]),
//! and what both share: where pointers point ([`PtrMap`], [`Loc`]) and
//! whether two accesses may alias ([`may_alias`]).
//!
//! The alias model. Every pointer value is `base + off` with `off` a
//! constant: `ptr_add` chains collapse onto their base, a constant address
//! is `null + address`, and a `dyn_ptr_add`, a load, a call result or a
//! parameter is a base of its own. A pointer derived (by `ptr_add` or
//! `dyn_ptr_add`) from an `alloca` has that alloca as its *root*. Two
//! accesses
//!
//! - from the same base alias exactly when their byte ranges overlap;
//! - rooted at two distinct allocas never alias;
//! - one rooted at an alloca that has not *escaped* and one not rooted at
//!   it never alias (an alloca escapes when a pointer into it is stored,
//!   passed to a call, cast, selected, compared, or passed to the next
//!   iteration: anything that could let an unrooted pointer reach it);
//! - from two distinct globals (`@gN`) never alias;
//! - derived from bases of two distinct *alias classes* never alias: a
//!   class is a fact the interpreter states about a pointer value
//!   (`yk_disjoint(p, class)`, [`forward::TraceBuilder::set_class`]): the
//!   memory reached from pointers of different classes is disjoint (e.g. an
//!   interpreter's operand stack and its thread state), and a pointer
//!   derived by `ptr_add` or `dyn_ptr_add` keeps its base's class;
//! - otherwise may alias.

pub mod backward;
pub mod forward;

use crate::ir::TypeError;
use crate::ir::{Const, Inst, Operand, Sym, Trace, ValId, ValMap};
use crate::snapshot::SnapId;
use std::fmt;

pub use forward::{MemReader, NoMem, TraceBuilder};

/// Why optimisation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptError {
    /// A guard's condition folds to the opposite of what it expects: the
    /// trace would always leave there, so the recording must end.
    GuardAlwaysFails {
        /// The guard's snapshot.
        snap: SnapId,
    },
    /// An appended instruction is ill-typed.
    Type(TypeError),
}

impl fmt::Display for OptError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            OptError::GuardAlwaysFails { snap } => {
                write!(f, "guard always fails (snapshot s{})", snap.0)
            }
            OptError::Type(e) => write!(f, "ill-typed instruction: {e}"),
        }
    }
}

impl std::error::Error for OptError {}

/// Runs the forward optimiser over `t` (as a builder would have appended
/// it), then the backward pass.
pub fn optimise(t: &Trace, mem: &dyn MemReader) -> Result<Trace, OptError> {
    Ok(backward::run(&forward::run(t, mem)?))
}

/// Where a pointer points: `base + off`, inside alloca `root` if known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    /// What the pointer is an offset from: a value, a symbol, or `null` for
    /// an absolute address.
    pub base: Operand,
    /// The offset from `base`, in bytes.
    pub off: i64,
    /// The alloca the pointer was derived from, if any.
    pub root: Option<ValId>,
    /// The alias class of the base, if it has one (see the module comment):
    /// [`PtrMap::loc`] gives the class known when it is called.
    pub class: Option<u32>,
}

/// The [`Loc`] of each pointer-producing instruction seen so far.
#[derive(Clone, Debug, Default)]
pub struct PtrMap {
    locs: ValMap<Loc>,
    /// Alias classes of bases (values used as pointers, not derived).
    classes: ValMap<u32>,
}

impl PtrMap {
    /// Records what `v = inst` points to.
    pub fn note(&mut self, v: ValId, inst: &Inst) {
        let l = match inst {
            Inst::Alloca { .. } => Loc {
                base: Operand::Val(v),
                off: 0,
                root: Some(v),
                class: None,
            },
            Inst::PtrAdd { ptr, off } => {
                let l = self.loc(*ptr);
                Loc {
                    off: l.off.wrapping_add(*off),
                    ..l
                }
            }
            Inst::DynPtrAdd { ptr, .. } => {
                // A new base, into the same object: of the same class.
                let from = self.loc(*ptr);
                if let Some(c) = from.class {
                    self.classes.insert(v, c);
                }
                Loc {
                    base: Operand::Val(v),
                    off: 0,
                    root: from.root,
                    class: from.class,
                }
            }
            _ => return,
        };
        self.locs.insert(v, l);
    }

    /// States that pointer `p` points into an object of alias class
    /// `class`, and so does every pointer derived from `p`'s base (a
    /// parameter, a load's or a call's result: pointer arithmetic stays
    /// within its object). The first class stated for a base stands; an
    /// alloca's pointers and constants get none. Returns the base if it
    /// got its class now (a `Loc` of it taken earlier has no class).
    pub fn set_class(&mut self, p: Operand, class: u32) -> Option<Operand> {
        let l = self.loc(p);
        match (l.base, l.root) {
            (Operand::Val(b), None) if !self.classes.contains(b) => {
                self.classes.insert(b, class);
                Some(l.base)
            }
            _ => None,
        }
    }

    /// Where `p` points.
    pub fn loc(&self, p: Operand) -> Loc {
        match p {
            Operand::Val(v) => {
                let l = self.locs.get(v).unwrap_or(Loc {
                    base: p,
                    off: 0,
                    root: None,
                    class: None,
                });
                // The base's class, as known now.
                let class = match l.base {
                    Operand::Val(b) => self.classes.get(b),
                    _ => None,
                };
                Loc { class, ..l }
            }
            Operand::Const(Const::Ptr(a)) => Loc {
                base: Operand::Const(Const::Ptr(0)),
                off: a as i64,
                root: None,
                class: None,
            },
            Operand::Const(_) => Loc {
                base: p,
                off: 0,
                root: None,
                class: None,
            },
        }
    }

    /// The alloca `p` points into, if any.
    pub fn root(&self, p: Operand) -> Option<ValId> {
        self.loc(p).root
    }
}

/// Whether an access of `sa` bytes at `a` may overlap one of `sb` bytes at
/// `b` (see the module comment); `escaped` says which allocas escaped.
pub fn may_alias(a: Loc, sa: u64, b: Loc, sb: u64, escaped: impl Fn(ValId) -> bool) -> bool {
    if a.base == b.base {
        let (ao, bo) = (i128::from(a.off), i128::from(b.off));
        return ao < bo + i128::from(sb) && bo < ao + i128::from(sa);
    }
    if let (Some(x), Some(y)) = (a.class, b.class) {
        if x != y {
            return false;
        }
    }
    match (a.root, b.root) {
        (Some(x), Some(y)) => x == y,
        (Some(x), None) => escaped(x),
        (None, Some(y)) => escaped(y),
        (None, None) => !matches!(
            (a.base, b.base),
            (
                Operand::Const(Const::Sym(Sym::Global(_))),
                Operand::Const(Const::Sym(Sym::Global(_)))
            )
        ),
    }
}

/// Whether an access of `sa` bytes at `a` lies within `sb` bytes at `b`.
pub fn covers(b: Loc, sb: u64, a: Loc, sa: u64) -> bool {
    a.base == b.base
        && i128::from(b.off) <= i128::from(a.off)
        && i128::from(a.off) + i128::from(sa) <= i128::from(b.off) + i128::from(sb)
}
