//! The parser: the textual form (the syntax is in [`super`]) back into a trace.

use super::{ParseError, ParseErrorKind};
use crate::ir::*;
use crate::snapshot::*;
use std::collections::HashMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Val(String),
    Sym(String),
    Num(String),
    Punct(char),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Tok::Ident(s) | Tok::Num(s) => f.write_str(s),
            Tok::Val(s) => write!(f, "%{s}"),
            Tok::Sym(s) => write!(f, "@{s}"),
            Tok::Punct(c) => write!(f, "{c}"),
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn lex(line: &str, lineno: usize) -> Result<Vec<Tok>, ParseError> {
    let cs: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let word = |i: &mut usize| {
        let s = *i;
        while *i < cs.len() && is_word(cs[*i]) {
            *i += 1;
        }
        cs[s..*i].iter().collect::<String>()
    };
    while i < cs.len() {
        let c = cs[i];
        if c == ';' {
            break;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '%' || c == '@' {
            i += 1;
            let w = word(&mut i);
            if w.is_empty() {
                return Err(ParseError {
                    line: lineno,
                    kind: ParseErrorKind::BadChar(c),
                });
            }
            out.push(if c == '%' { Tok::Val(w) } else { Tok::Sym(w) });
        } else if c.is_ascii_digit()
            || (c == '-' && i + 1 < cs.len() && cs[i + 1].is_ascii_alphanumeric())
        {
            let s = i;
            i += 1;
            while i < cs.len() {
                let d = cs[i];
                let exp_sign = (d == '+' || d == '-')
                    && matches!(cs[i - 1], 'e' | 'E')
                    && !cs[s..i].iter().collect::<String>().contains("0x");
                if is_word(d) || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Tok::Num(cs[s..i].iter().collect()));
        } else if c.is_ascii_alphabetic() || c == '_' {
            out.push(Tok::Ident(word(&mut i)));
        } else if "(),:=[]".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(ParseError {
                line: lineno,
                kind: ParseErrorKind::BadChar(c),
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- parser

/// Parses a trace from its textual form (see the module comment).
pub fn parse(text: &str) -> Result<Trace, ParseError> {
    let mut lines = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let toks = lex(l, n + 1)?;
        if !toks.is_empty() {
            lines.push((n + 1, toks));
        }
    }
    Parser::default().run(&lines, text.lines().count().max(1))
}

#[derive(Default)]
struct Parser {
    trace: Option<Trace>,
    vals: HashMap<String, ValId>,
    /// The line each value was defined on (for errors).
    val_lines: Vec<usize>,
    /// Guards' snapshot names, by body index, for after the snapshots.
    guard_snaps: Vec<(usize, String, usize)>,
    exit_snap: Option<(String, usize)>,
}

struct Cursor<'a> {
    toks: &'a [Tok],
    pos: usize,
    line: usize,
}

impl Cursor<'_> {
    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            line: self.line,
            kind,
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self, expected: &'static str) -> Result<Tok, ParseError> {
        let t = self.toks.get(self.pos).cloned().ok_or_else(|| {
            self.err(ParseErrorKind::Expected {
                expected,
                found: "end of line".into(),
            })
        })?;
        self.pos += 1;
        Ok(t)
    }

    fn found(&self) -> String {
        self.peek()
            .map(|t| t.to_string())
            .unwrap_or_else(|| "end of line".into())
    }

    fn punct(&mut self, c: char, expected: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(ParseErrorKind::Expected {
                expected,
                found: self.found(),
            }))
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_ident(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self, expected: &'static str) -> Result<String, ParseError> {
        match self.next(expected)? {
            Tok::Ident(s) => Ok(s),
            t => Err(self.err(ParseErrorKind::Expected {
                expected,
                found: t.to_string(),
            })),
        }
    }

    fn end(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(self.err(ParseErrorKind::Expected {
                expected: "end of line",
                found: t.to_string(),
            })),
        }
    }

    fn ty(&mut self) -> Result<Ty, ParseError> {
        let s = self.ident("a type")?;
        parse_ty(&s).ok_or_else(|| self.err(ParseErrorKind::BadType(s)))
    }

    /// A signed 64-bit number (offsets, scales).
    fn i64(&mut self) -> Result<i64, ParseError> {
        match self.next("a number")? {
            Tok::Num(s) => parse_int(&s, 64).map(|v| v as i64).ok_or_else(|| {
                self.err(ParseErrorKind::BadLiteral {
                    text: s,
                    ty: Ty::I64,
                })
            }),
            t => Err(self.err(ParseErrorKind::Expected {
                expected: "a number",
                found: t.to_string(),
            })),
        }
    }

    fn u32(&mut self) -> Result<u32, ParseError> {
        match self.next("a number")? {
            Tok::Num(s) => parse_int(&s, 32)
                .filter(|_| !s.starts_with('-'))
                .map(|v| v as u32)
                .ok_or_else(|| {
                    self.err(ParseErrorKind::BadLiteral {
                        text: s,
                        ty: Ty::I32,
                    })
                }),
            t => Err(self.err(ParseErrorKind::Expected {
                expected: "a number",
                found: t.to_string(),
            })),
        }
    }
}

fn parse_ty(s: &str) -> Option<Ty> {
    match s {
        "f32" => Some(Ty::F32),
        "f64" => Some(Ty::F64),
        "ptr" => Some(Ty::Ptr),
        "void" => Some(Ty::Void),
        _ => {
            let w: u8 = s.strip_prefix('i')?.parse().ok()?;
            (1..=64).contains(&w).then_some(Ty::Int(w))
        }
    }
}

/// Parses a decimal or `0x` hex integer that fits `w` bits signed or
/// unsigned; returns its bits masked to `w`.
fn parse_int(s: &str, w: u32) -> Option<u64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let mag = match body.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => body.parse::<u64>().ok()?,
    };
    if neg {
        let lim = if w >= 64 { 1u64 << 63 } else { 1u64 << (w - 1) };
        (mag <= lim).then(|| (mag as i64).wrapping_neg() as u64 & mask(w))
    } else {
        (mag <= mask(w)).then_some(mag)
    }
}

fn parse_sym(s: &str) -> Option<Sym> {
    let (k, n) = s.split_at(1);
    let n: u32 = n.parse().ok()?;
    match k {
        "f" => Some(Sym::Func(n)),
        "g" => Some(Sym::Global(n)),
        _ => None,
    }
}

/// A literal of type `ty`.
fn parse_lit(tok: &Tok, ty: Ty) -> Option<Const> {
    let s = match tok {
        Tok::Num(s) | Tok::Ident(s) => s.as_str(),
        Tok::Sym(s) if ty == Ty::Ptr => return parse_sym(s).map(Const::Sym),
        _ => return None,
    };
    match ty {
        Ty::Int(1) if s == "true" => Some(Const::bool(true)),
        Ty::Int(1) if s == "false" => Some(Const::bool(false)),
        Ty::Int(w) => parse_int(s, u32::from(w)).map(|b| Const::int(w, b)),
        Ty::F32 => match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok().map(Const::F32),
            None => s.parse::<f32>().ok().map(Const::f32),
        },
        Ty::F64 => match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok().map(Const::F64),
            None => s.parse::<f64>().ok().map(Const::f64),
        },
        Ty::Ptr if s == "null" => Some(Const::Ptr(0)),
        Ty::Ptr => parse_int(s, 64)
            .filter(|_| !s.starts_with('-'))
            .map(Const::Ptr),
        Ty::Void => None,
    }
}

impl Parser {
    fn t(&mut self) -> &mut Trace {
        self.trace.as_mut().expect("header parsed first")
    }

    fn val(&self, c: &Cursor, name: &str) -> Result<ValId, ParseError> {
        self.vals
            .get(name)
            .copied()
            .ok_or_else(|| c.err(ParseErrorKind::UnknownValue(name.into())))
    }

    /// An operand; `ctx` is the type the position implies, if any.
    fn operand(&self, c: &mut Cursor, ctx: Option<Ty>) -> Result<Operand, ParseError> {
        let ty = match (c.peek(), ctx) {
            (Some(Tok::Val(n)), _) => {
                let n = n.clone();
                c.pos += 1;
                return Ok(Operand::Val(self.val(c, &n)?));
            }
            (Some(Tok::Sym(_)), None) => Ty::Ptr,
            (_, Some(t)) => t,
            (_, None) => c.ty()?,
        };
        let tok = c.next("an operand")?;
        parse_lit(&tok, ty).map(Operand::Const).ok_or_else(|| {
            c.err(ParseErrorKind::BadLiteral {
                text: tok.to_string(),
                ty,
            })
        })
    }

    fn run(mut self, lines: &[(usize, Vec<Tok>)], last_line: usize) -> Result<Trace, ParseError> {
        let mut it = lines.iter();
        let Some((hl, head)) = it.next() else {
            return Err(ParseError {
                line: last_line,
                kind: ParseErrorKind::UnexpectedEof,
            });
        };
        let mut c = Cursor {
            toks: head,
            pos: 0,
            line: *hl,
        };
        let kw = c.ident("'loop' or 'trace'")?;
        let is_loop = match kw.as_str() {
            "loop" => true,
            "trace" => false,
            _ => {
                return Err(c.err(ParseErrorKind::Expected {
                    expected: "'loop' or 'trace'",
                    found: kw,
                }))
            }
        };
        c.punct('(', "'('")?;
        let mut params = Vec::new();
        if !c.eat_punct(')') {
            loop {
                let name = match c.next("a parameter")? {
                    Tok::Val(n) => n,
                    t => {
                        return Err(c.err(ParseErrorKind::Expected {
                            expected: "a parameter",
                            found: t.to_string(),
                        }))
                    }
                };
                c.punct(':', "':'")?;
                let ty = c.ty()?;
                if ty == Ty::Void {
                    return Err(c.err(ParseErrorKind::BadType("void".into())));
                }
                if self
                    .vals
                    .insert(name.clone(), ValId(params.len() as u32))
                    .is_some()
                {
                    return Err(c.err(ParseErrorKind::DuplicateValue(name)));
                }
                self.val_lines.push(*hl);
                params.push(ty);
                if c.eat_punct(')') {
                    break;
                }
                c.punct(',', "',' or ')'")?;
            }
        }
        c.end()?;
        self.trace = Some(Trace {
            params,
            body: Vec::new(),
            end: End::Jump(Vec::new()),
            snaps: Snapshots::default(),
        });
        let mut end_line = last_line;
        // Body up to jump/exit.
        let mut ended = false;
        for (ln, toks) in it.by_ref() {
            let mut c = Cursor {
                toks,
                pos: 0,
                line: *ln,
            };
            if c.eat_ident("jump") {
                if !is_loop {
                    return Err(c.err(ParseErrorKind::WrongEnd));
                }
                let mut args = Vec::new();
                let nparams = self.t().params.len();
                while c.peek().is_some() {
                    let ty = self
                        .trace
                        .as_ref()
                        .and_then(|t| t.params.get(args.len()).copied());
                    args.push(self.operand(&mut c, ty.or(Some(Ty::Void)))?);
                    if c.peek().is_some() {
                        c.punct(',', "','")?;
                    }
                }
                if args.len() != nparams {
                    return Err(c.err(ParseErrorKind::Type(TypeError::JumpArity {
                        expected: nparams,
                        found: args.len(),
                    })));
                }
                self.t().end = End::Jump(args);
                end_line = *ln;
                ended = true;
                break;
            }
            if c.eat_ident("exit") {
                if is_loop {
                    return Err(c.err(ParseErrorKind::WrongEnd));
                }
                let s = c.ident("a snapshot")?;
                c.end()?;
                self.exit_snap = Some((s, *ln));
                end_line = *ln;
                ended = true;
                break;
            }
            self.line(&mut c)?;
        }
        if !ended {
            return Err(ParseError {
                line: last_line,
                kind: ParseErrorKind::UnexpectedEof,
            });
        }
        // Snapshots.
        let mut snap_names: HashMap<String, SnapId> = HashMap::new();
        for (ln, toks) in it {
            let mut c = Cursor {
                toks,
                pos: 0,
                line: *ln,
            };
            let name = c.ident("a snapshot name")?;
            c.punct(':', "':'")?;
            let mut frames = Vec::new();
            while c.eat_punct('[') {
                let f = c.ident("f<function>")?;
                let func = f.strip_prefix('f').and_then(|n| n.parse().ok());
                let r = c.ident("r<resume point>")?;
                let resume = r.strip_prefix('r').and_then(|n| n.parse().ok());
                let (Some(func), Some(resume)) = (func, resume) else {
                    return Err(c.err(ParseErrorKind::Expected {
                        expected: "f<function> r<resume point>",
                        found: format!("{f} {r}"),
                    }));
                };
                let mut live = Vec::new();
                while !c.eat_punct(']') {
                    let a = c.ident("a<AOT value id>=<operand> or ']'")?;
                    let Some(id) = a.strip_prefix('a').and_then(|n| n.parse::<u32>().ok()) else {
                        return Err(c.err(ParseErrorKind::Expected {
                            expected: "a<AOT value id>",
                            found: a,
                        }));
                    };
                    c.punct('=', "'='")?;
                    live.push((id, self.operand(&mut c, None)?));
                }
                frames.push(Frame { func, resume, live });
            }
            c.end()?;
            let id = self.t().snaps.push_raw(Snapshot { frames });
            if snap_names.insert(name.clone(), id).is_some() {
                return Err(c.err(ParseErrorKind::DuplicateSnapshot(name)));
            }
        }
        // Resolve snapshot names.
        let lookup = |name: &str, line: usize| {
            snap_names.get(name).copied().ok_or(ParseError {
                line,
                kind: ParseErrorKind::UnknownSnapshot(name.into()),
            })
        };
        for (bi, name, line) in std::mem::take(&mut self.guard_snaps) {
            let id = lookup(&name, line)?;
            if let Inst::Guard { snap, .. } = &mut self.t().body[bi] {
                *snap = id;
            }
        }
        if let Some((name, line)) = self.exit_snap.take() {
            let id = lookup(&name, line)?;
            self.t().end = End::Exit(id);
        }
        let trace = self.trace.take().expect("header parsed");
        trace.verify().map_err(|e| {
            let at = match &e {
                TypeError::Undefined { at, .. }
                | TypeError::VoidUse { at, .. }
                | TypeError::Mismatch { at, .. }
                | TypeError::BadType { at, .. }
                | TypeError::BadCast { at, .. }
                | TypeError::NoSnapshot { at, .. }
                | TypeError::SnapshotAfterGuard { at, .. }
                | TypeError::BadAlloca { at } => Some(*at),
                TypeError::JumpArity { .. } => None,
            };
            let line = at
                .and_then(|v| self.val_lines.get(v.idx()).copied())
                .unwrap_or(end_line);
            ParseError {
                line,
                kind: ParseErrorKind::Type(e),
            }
        })?;
        Ok(trace)
    }

    /// One body line.
    fn line(&mut self, c: &mut Cursor) -> Result<(), ParseError> {
        let mut name = None;
        if let (Some(Tok::Val(n)), Some(Tok::Punct('='))) = (c.toks.first(), c.toks.get(1)) {
            name = Some(n.clone());
            c.pos = 2;
        }
        let op = c.ident("an instruction")?;
        let inst = match op.as_str() {
            "load" => {
                let mut flags = LoadFlags::default();
                loop {
                    if c.eat_ident("volatile") {
                        flags.volatile = true;
                    } else if c.eat_ident("const") {
                        flags.constant = true;
                    } else {
                        break;
                    }
                }
                let ty = c.ty()?;
                let ptr = self.operand(c, Some(Ty::Ptr))?;
                Inst::Load { ty, ptr, flags }
            }
            "store" => {
                let volatile = c.eat_ident("volatile");
                let ty = c.ty()?;
                let val = self.operand(c, Some(ty))?;
                c.punct(',', "','")?;
                let ptr = self.operand(c, Some(Ty::Ptr))?;
                Inst::Store { val, ptr, volatile }
            }
            "ptr_add" => {
                let ptr = self.operand(c, Some(Ty::Ptr))?;
                c.punct(',', "','")?;
                Inst::PtrAdd { ptr, off: c.i64()? }
            }
            "dyn_ptr_add" => {
                let ptr = self.operand(c, Some(Ty::Ptr))?;
                c.punct(',', "','")?;
                let ity = c.ty()?;
                let idx = self.operand(c, Some(ity))?;
                c.punct(',', "','")?;
                let scale = c.i64()?;
                c.punct(',', "','")?;
                Inst::DynPtrAdd {
                    ptr,
                    idx,
                    scale,
                    off: c.i64()?,
                }
            }
            "icmp" | "fcmp" => {
                let p = c.ident("a predicate")?;
                let ty = c.ty()?;
                let lhs = self.operand(c, Some(ty))?;
                c.punct(',', "','")?;
                let rhs = self.operand(c, Some(ty))?;
                if op == "icmp" {
                    let pred = IPred::ALL.into_iter().find(|x| x.name() == p);
                    let pred = pred.ok_or_else(|| {
                        c.err(ParseErrorKind::Expected {
                            expected: "an icmp predicate",
                            found: p,
                        })
                    })?;
                    Inst::ICmp { pred, lhs, rhs }
                } else {
                    let pred = FPred::ALL.into_iter().find(|x| x.name() == p);
                    let pred = pred.ok_or_else(|| {
                        c.err(ParseErrorKind::Expected {
                            expected: "an fcmp predicate",
                            found: p,
                        })
                    })?;
                    Inst::FCmp { pred, lhs, rhs }
                }
            }
            "select" => {
                let cond = self.operand(c, Some(Ty::I1))?;
                c.punct(',', "','")?;
                let ty = c.ty()?;
                let t = self.operand(c, Some(ty))?;
                c.punct(',', "','")?;
                let f = self.operand(c, Some(ty))?;
                Inst::Select { cond, ty, t, f }
            }
            "alloca" => {
                let size = c.u32()?;
                c.punct(',', "','")?;
                Inst::Alloca {
                    size,
                    align: c.u32()?,
                }
            }
            "call" => {
                let ret = c.ty()?;
                let callee = self.operand(c, Some(Ty::Ptr))?;
                c.punct('(', "'('")?;
                let mut args = Vec::new();
                if !c.eat_punct(')') {
                    loop {
                        let ty = c.ty()?;
                        let a = self.operand(c, Some(ty))?;
                        if let Operand::Val(v) = a {
                            let found = self.trace.as_ref().map_or(ty, |t| t.val_ty(v));
                            if found != ty {
                                let at = ValId(self.trace.as_ref().map_or(0, |t| t.nvals()) as u32);
                                return Err(c.err(ParseErrorKind::Type(TypeError::Mismatch {
                                    at,
                                    expected: ty,
                                    found,
                                })));
                            }
                        }
                        args.push(a);
                        if c.eat_punct(')') {
                            break;
                        }
                        c.punct(',', "',' or ')'")?;
                    }
                }
                let e = c.ident("pure, readonly or any")?;
                let effects = match e.as_str() {
                    "pure" => Effects::Pure,
                    "readonly" => Effects::ReadOnly,
                    "any" => Effects::Any,
                    _ => {
                        return Err(c.err(ParseErrorKind::Expected {
                            expected: "pure, readonly or any",
                            found: e,
                        }))
                    }
                };
                let idempotent = c.eat_ident("idempotent");
                Inst::Call {
                    callee,
                    args,
                    ret,
                    effects,
                    idempotent,
                }
            }
            "guard" => {
                let e = c.ident("true or false")?;
                let expect = match e.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(c.err(ParseErrorKind::Expected {
                            expected: "true or false",
                            found: e,
                        }))
                    }
                };
                let cond = self.operand(c, Some(Ty::I1))?;
                c.punct(',', "','")?;
                let s = c.ident("a snapshot")?;
                let bi = self.t().body.len();
                self.guard_snaps.push((bi, s, c.line));
                Inst::Guard {
                    cond,
                    expect,
                    snap: SnapId(u32::MAX),
                }
            }
            _ => {
                if let Some(bop) = BinOp::ALL.into_iter().find(|b| b.name() == op) {
                    let ty = c.ty()?;
                    let lhs = self.operand(c, Some(ty))?;
                    c.punct(',', "','")?;
                    let rhs = self.operand(c, Some(ty))?;
                    Inst::Bin {
                        op: bop,
                        ty,
                        lhs,
                        rhs,
                    }
                } else if let Some(cop) = CastOp::ALL.into_iter().find(|x| x.name() == op) {
                    let from = c.ty()?;
                    let val = self.operand(c, Some(from))?;
                    if !c.eat_ident("to") {
                        return Err(c.err(ParseErrorKind::Expected {
                            expected: "'to'",
                            found: c.found(),
                        }));
                    }
                    Inst::Cast {
                        op: cop,
                        val,
                        to: c.ty()?,
                    }
                } else {
                    return Err(c.err(ParseErrorKind::UnknownOpcode(op)));
                }
            }
        };
        c.end()?;
        let has_result = inst.result_ty() != Ty::Void;
        let id = ValId(self.t().nvals() as u32);
        match (name, has_result) {
            (Some(n), true) => {
                if self.vals.insert(n.clone(), id).is_some() {
                    return Err(c.err(ParseErrorKind::DuplicateValue(n)));
                }
            }
            (None, false) => {}
            (Some(_), false) => {
                return Err(c.err(ParseErrorKind::Expected {
                    expected: "no result name for a void instruction",
                    found: op,
                }))
            }
            (None, true) => {
                return Err(c.err(ParseErrorKind::Expected {
                    expected: "'%name =' for an instruction with a result",
                    found: op,
                }))
            }
        }
        self.val_lines.push(c.line);
        self.t().body.push(inst);
        Ok(())
    }
}
