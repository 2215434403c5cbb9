use super::*;

const SAMPLE: &str = "\
loop(%0: ptr, %1: i64)
  %2 = load i64 %0
  store i64 %2, %0
  %3 = ptr_add %0, 8
  %4 = dyn_ptr_add %0, i32 -3, 8, 16
  %5 = add i64 %2, 1
  %6 = icmp slt i64 %5, 10
  %7 = fcmp olt f64 1.5, -0.0
  %8 = zext i1 %6 to i64
  %9 = select %6, i64 %5, -1
  %10 = alloca 16, 8
  %11 = call i64 @f3(i64 %5, ptr %10, f32 0x7fc00001) readonly idempotent
  call void %3() any
  %12 = load volatile const i8 0x1000
  store volatile f64 inf, null
  %13 = call ptr @g2() pure
  guard true %6, s0
  guard false %7, s1
  jump %13, %5
s0: [f3 r7 a12=%4 a13=i64 5] [f1 r2]
s1: [f0 r0 a1=ptr null a2=@f7 a3=f64 0x7ff8000000000001 a4=i1 true]
";

#[test]
fn round_trip() {
    let t = parse(SAMPLE).unwrap();
    let s = print(&t);
    assert_eq!(s, SAMPLE);
    assert_eq!(parse(&s).unwrap(), t);
}

#[test]
fn names_are_free_and_renumbered() {
    let t = parse("trace(%a: i64)\n  %x = add i64 %a, %a ; twice\n  exit s\ns: [f0 r0 a0=%x]\n")
        .unwrap();
    assert_eq!(
        print(&t),
        "trace(%0: i64)\n  %1 = add i64 %0, %0\n  exit s0\ns0: [f0 r0 a0=%1]\n"
    );
}

fn err(text: &str) -> ParseError {
    parse(text).unwrap_err()
}

#[test]
fn errors_have_lines() {
    let e = err("loop(%0: i64)\n  %1 = add i64 %0, %9\n  jump %1\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::UnknownValue("9".into())
        }
    );
    let e = err("loop(%0: i64)\n\n  %1 = add i32 %0, 1\n  jump %1\n");
    assert_eq!(e.line, 3);
    assert!(
        matches!(e.kind, ParseErrorKind::Type(TypeError::Mismatch { .. })),
        "{e}"
    );
    let e = err("loop(%0: i8)\n  %1 = add i8 %0, 300\n  jump %1\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::BadLiteral {
                text: "300".into(),
                ty: Ty::I8
            }
        }
    );
    let e = err("loop(%0: i1)\n  guard true %0, s3\n  jump %0\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::UnknownSnapshot("s3".into())
        }
    );
    let e = err("loop(%0: i64)\n  %1 = frob i64 %0\n  jump %1\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::UnknownOpcode("frob".into())
        }
    );
    let e = err("trace(%0: i64)\n  jump %0\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::WrongEnd
        }
    );
    let e = err("loop(%0: i64)\n  %1 = add i64 %0, 1\n");
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::UnexpectedEof
        }
    );
    let e = err(
        "loop(%0: i1)\n  guard true %0, s0\n  %1 = add i64 1, 2\n  jump %0\ns0: [f0 r0 a0=%1]\n",
    );
    assert_eq!(e.line, 2);
    assert!(
        matches!(
            e.kind,
            ParseErrorKind::Type(TypeError::SnapshotAfterGuard { .. })
        ),
        "{e}"
    );
    assert_eq!(
        err("loop(%0: i64)\n  %1 = zext i64 %0 to i32\n  jump %0\n").line,
        2
    );
    assert_eq!(
        format!("{}", err("loop(%0: i64) x\n  jump %0\n")),
        "line 1: expected end of line, found 'x'"
    );
}
