//! The API as the runtime's trace builder uses it: append through the
//! optimiser, intern snapshots, finish, run the backward pass.

use tir::opt::{backward, NoMem, OptError, TraceBuilder};
use tir::text::print;
use tir::*;

fn i64c(v: i64) -> Operand {
    Const::int(64, v as u64).into()
}

#[test]
fn append_returns_what_stands_for_the_result() {
    let mut b = TraceBuilder::new(vec![Ty::Ptr, Ty::I64], &NoMem);
    let (fp, x) = (b.param(0), b.param(1));
    // Folded: a constant.
    let k = b
        .append(Inst::Bin {
            op: BinOp::Mul,
            ty: Ty::I64,
            lhs: i64c(6),
            rhs: i64c(7),
        })
        .unwrap();
    assert_eq!(k, Some(i64c(42)));
    // Simplified to an existing value.
    let same = b
        .append(Inst::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            lhs: x,
            rhs: i64c(0),
        })
        .unwrap();
    assert_eq!(same, Some(x));
    // Emitted: a new value; the same again: that value (CSE).
    let a1 = b
        .append(Inst::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            lhs: x,
            rhs: k.unwrap(),
        })
        .unwrap();
    let a2 = b
        .append(Inst::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            lhs: k.unwrap(),
            rhs: x,
        })
        .unwrap();
    assert!(matches!(a1, Some(Operand::Val(_))));
    assert_eq!(a1, a2);
    // A store has no result; a load of what it stored is the stored value.
    let st = b
        .append(Inst::Store {
            val: a1.unwrap(),
            ptr: fp,
            volatile: false,
        })
        .unwrap();
    assert_eq!(st, None);
    let ld = b
        .append(Inst::Load {
            ty: Ty::I64,
            ptr: fp,
            flags: LoadFlags::default(),
        })
        .unwrap();
    assert_eq!(ld, a1);
    // Guards share snapshots with the same state; a guard on x == 3 makes
    // x read as 3 afterwards, in later instructions and snapshots alike.
    let live = |v: Operand| Snapshot {
        frames: vec![Frame::new(0, 9, vec![(1, v)])],
    };
    let s0 = b.snapshot(live(x));
    assert_eq!(b.snapshot(live(x)), s0);
    let c = b
        .append(Inst::ICmp {
            pred: IPred::Eq,
            lhs: x,
            rhs: i64c(3),
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        b.append(Inst::Guard {
            cond: c,
            expect: true,
            snap: s0
        })
        .unwrap(),
        None
    );
    assert_eq!(b.resolve(x), i64c(3));
    let s1 = b.snapshot(live(x));
    assert_ne!(s1, s0);
    assert_eq!(
        b.trace().snaps.get(s1).unwrap().frames[0].live,
        vec![(1, i64c(3))]
    );
    // The same guard again vanishes; its opposite ends the recording.
    assert_eq!(
        b.append(Inst::Guard {
            cond: c,
            expect: true,
            snap: s1
        })
        .unwrap(),
        None
    );
    assert_eq!(
        b.append(Inst::Guard {
            cond: c,
            expect: false,
            snap: s1
        }),
        Err(OptError::GuardAlwaysFails { snap: s1 })
    );
    // Ill-typed instructions are refused with the reason.
    assert!(matches!(
        b.append(Inst::Bin {
            op: BinOp::Add,
            ty: Ty::I32,
            lhs: x,
            rhs: i64c(1)
        }),
        Err(OptError::Type(TypeError::Mismatch { .. }))
    ));
    let st = b.stats().clone();
    assert_eq!((st.cse, st.loads_forwarded, st.guards_removed), (1, 1, 1));
    // (Values computed before the guard are not refolded: %2 stays.)
    let t = b.finish_loop(vec![fp, a1.unwrap()]).unwrap();
    let t = backward::run(&t);
    assert_eq!(
        print(&t),
        "loop(%0: ptr, %1: i64)
  %2 = add i64 %1, 42
  store i64 %2, %0
  %3 = icmp eq i64 %1, 3
  guard true %3, s0
  jump %0, %2
s0: [f0 r9 a1=%1]
"
    );
}

/// Appends `inst`, which has a result.
fn val(b: &mut TraceBuilder, inst: Inst) -> Operand {
    b.append(inst).unwrap().unwrap()
}

#[test]
fn bases_of_distinct_alias_classes_never_alias() {
    // %0, %1: two bases the interpreter says point into objects of
    // different classes (an operand stack and a thread's state); %2 has no
    // class.
    let mut b = TraceBuilder::new(vec![Ty::Ptr, Ty::Ptr, Ty::Ptr, Ty::I64], &NoMem);
    let (stack, state, other, i) = (b.param(0), b.param(1), b.param(2), b.param(3));
    b.set_class(stack, 1);
    // Derived pointers keep their base's class, also through dyn_ptr_add;
    // stating a class of a derived pointer states it of its base.
    let slot = val(
        &mut b,
        Inst::PtrAdd {
            ptr: stack,
            off: 16,
        },
    );
    let field = val(&mut b, Inst::PtrAdd { ptr: state, off: 8 });
    b.set_class(field, 2);
    let ld = |b: &mut TraceBuilder, ty, ptr| {
        val(
            b,
            Inst::Load {
                ty,
                ptr,
                flags: LoadFlags::default(),
            },
        )
    };
    let st = |b: &mut TraceBuilder, v, ptr| {
        b.append(Inst::Store {
            val: v,
            ptr,
            volatile: false,
        })
        .unwrap();
    };
    let top = ld(&mut b, Ty::Ptr, field);
    // A store into the stack keeps what is known of the state, and the
    // other way round.
    st(&mut b, i64c(5), stack);
    assert_eq!(ld(&mut b, Ty::Ptr, field), top);
    let n = val(
        &mut b,
        Inst::DynPtrAdd {
            ptr: stack,
            idx: i,
            scale: 16,
            off: 0,
        },
    );
    st(&mut b, i64c(6), n);
    assert_eq!(ld(&mut b, Ty::Ptr, field), top);
    // (That store may have written the slot: same class, another base.)
    let tag = ld(&mut b, Ty::I8, slot);
    st(&mut b, stack, field);
    assert_eq!(ld(&mut b, Ty::I8, slot), tag);
    // A store through a pointer with no class forgets both.
    st(&mut b, i64c(7), other);
    assert_ne!(ld(&mut b, Ty::Ptr, field), top);
    assert_ne!(ld(&mut b, Ty::I8, slot), tag);
    // A store into the stack forgets what it may overlap in the stack.
    let tag2 = ld(&mut b, Ty::I8, slot);
    st(&mut b, i64c(8), n);
    assert_ne!(ld(&mut b, Ty::I8, slot), tag2);
}

/// A `ValMap` answers for the values inserted, nothing for the others
/// (beyond its capacity too), and an insertion replaces.
#[test]
fn val_map_keeps_what_is_inserted() {
    let mut m: ValMap<u32> = ValMap::with_capacity(2);
    assert_eq!(m.get(ValId(0)), None);
    assert_eq!(m.get(ValId(100)), None);
    m.insert(ValId(1), 7);
    m.insert(ValId(40), 9);
    assert_eq!(m.get(ValId(1)), Some(7));
    assert_eq!(m.get(ValId(40)), Some(9));
    assert!(!m.contains(ValId(39)));
    m.insert(ValId(1), 8);
    assert_eq!(m.get(ValId(1)), Some(8));
    let d: ValMap<u32> = ValMap::default();
    assert!(!d.contains(ValId(0)));
}
