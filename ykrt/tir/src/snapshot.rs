//! Snapshots: the interpreter state a guard's exit rebuilds.
//!
//! Owns [`Snapshot`] and the interning table [`Snapshots`]. Invariants:
//! a [`Snapshots`] table holds each distinct snapshot once (interning
//! returns the existing [`SnapId`] for an equal snapshot), ids are dense
//! indices in insertion order, and a frame's live values are sorted by AOT
//! value id without duplicates ([`Frame::new`] establishes it; `intern`
//! normalises frames built by hand).
//!
//! Frames are listed outermost first: frame 0 is the function holding the
//! control point. The resume point is an opaque id the builder chooses (the
//! deoptimiser maps it back to an instruction of the AOT function).

use crate::ir::Operand;
use rustc_hash::FxHashMap as HashMap;

/// An index into a trace's snapshot table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapId(pub u32);

/// One interpreter frame to rebuild.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Index of the AOT function.
    pub func: u32,
    /// Where in it execution resumes (opaque to this crate).
    pub resume: u32,
    /// `(AOT value id, its value)`, sorted by id.
    pub live: Vec<(u32, Operand)>,
}

impl Frame {
    /// A frame with its live values sorted by id (the last of duplicate ids
    /// wins).
    pub fn new(func: u32, resume: u32, mut live: Vec<(u32, Operand)>) -> Frame {
        live.reverse();
        live.sort_by_key(|(id, _)| *id);
        live.dedup_by_key(|(id, _)| *id);
        Frame { func, resume, live }
    }

    /// A frame whose live values are sorted by id already, each id once
    /// (checked in debug builds): [`Frame::new`] without the sort.
    pub fn sorted(func: u32, resume: u32, live: Vec<(u32, Operand)>) -> Frame {
        debug_assert!(live.windows(2).all(|w| w[0].0 < w[1].0), "{live:?}");
        Frame { func, resume, live }
    }
}

/// The state to rebuild: frames, outermost first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Snapshot {
    /// The frames, outermost first.
    pub frames: Vec<Frame>,
}

impl Snapshot {
    /// Every live operand, frame by frame.
    pub fn operands(&self) -> impl Iterator<Item = Operand> + '_ {
        self.frames
            .iter()
            .flat_map(|f| f.live.iter().map(|(_, o)| *o))
    }

    /// Applies `f` to every live operand.
    pub fn map_operands(&mut self, mut f: impl FnMut(Operand) -> Operand) {
        for fr in &mut self.frames {
            for (_, o) in &mut fr.live {
                *o = f(*o);
            }
        }
    }

    fn normalise(&mut self) {
        for fr in &mut self.frames {
            if !fr.live.is_sorted_by(|a, b| a.0 < b.0) {
                *fr = Frame::new(fr.func, fr.resume, std::mem::take(&mut fr.live));
            }
        }
    }
}

/// A trace's snapshots, interned.
#[derive(Clone, Debug, Default)]
pub struct Snapshots {
    list: Vec<Snapshot>,
    /// A snapshot's hash -> its id (snapshots are not stored twice: a
    /// guard's snapshot is hashed and compared, never cloned, when it is
    /// interned); ids of snapshots whose hash an earlier one has are in
    /// `clashes`.
    index: HashMap<u64, SnapId>,
    clashes: Vec<(u64, SnapId)>,
}

impl PartialEq for Snapshots {
    fn eq(&self, other: &Snapshots) -> bool {
        self.list == other.list
    }
}

impl Eq for Snapshots {}

fn hash_of(s: &Snapshot) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl Snapshots {
    /// The id of `s`, adding it if no equal snapshot is in the table.
    pub fn intern(&mut self, mut s: Snapshot) -> SnapId {
        s.normalise();
        let h = hash_of(&s);
        self.intern_hashed(s, h)
    }

    /// [`Snapshots::intern`] of normalised `s` whose hash is `h`.
    fn intern_hashed(&mut self, s: Snapshot, h: u64) -> SnapId {
        let id = SnapId(self.list.len() as u32);
        match self.index.get(&h) {
            None => {
                self.index.insert(h, id);
            }
            Some(&old) => {
                if self.list[old.0 as usize] == s {
                    return old;
                }
                let list = &self.list;
                if let Some(&(_, old)) = self
                    .clashes
                    .iter()
                    .find(|&&(ch, c)| ch == h && list[c.0 as usize] == s)
                {
                    return old;
                }
                self.clashes.push((h, id));
            }
        }
        self.list.push(s);
        id
    }

    /// Snapshot `id`, if the table has it.
    pub fn get(&self, id: SnapId) -> Option<&Snapshot> {
        self.list.get(id.0 as usize)
    }

    /// The number of snapshots.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the table holds no snapshot.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every snapshot with its id, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (SnapId, &Snapshot)> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, s)| (SnapId(i as u32), s))
    }

    /// Appends `s` without interning: for the parser, which must keep a
    /// text's snapshots as written (two equal snapshots stay two).
    pub(crate) fn push_raw(&mut self, mut s: Snapshot) -> SnapId {
        s.normalise();
        let id = SnapId(self.list.len() as u32);
        match self.index.entry(hash_of(&s)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                // Interning finds the first of equal snapshots.
                if self.list[e.get().0 as usize] != s {
                    self.clashes.push((*e.key(), id));
                }
            }
        }
        self.list.push(s);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Const, ValId};

    #[test]
    fn intern_shares_equal_snapshots() {
        let mut t = Snapshots::default();
        let a = Snapshot {
            frames: vec![Frame::new(
                1,
                2,
                vec![(5, Operand::Val(ValId(0))), (3, Const::int(64, 7).into())],
            )],
        };
        let b = Snapshot {
            frames: vec![Frame::new(
                1,
                2,
                vec![(3, Const::int(64, 7).into()), (5, Operand::Val(ValId(0)))],
            )],
        };
        let c = Snapshot {
            frames: vec![Frame::new(1, 3, vec![])],
        };
        assert_eq!(t.intern(a), SnapId(0));
        assert_eq!(t.intern(b), SnapId(0));
        assert_eq!(t.intern(c), SnapId(1));
        assert_eq!(t.len(), 2);
    }

    /// Different snapshots whose hashes are equal stay different, and each
    /// is found again (the index holds the first, `clashes` the others).
    #[test]
    fn intern_tells_clashing_snapshots_apart() {
        let mut t = Snapshots::default();
        let s = |resume: u32| Snapshot {
            frames: vec![Frame::new(1, resume, vec![(3, Const::int(64, 7).into())])],
        };
        assert_eq!(t.intern_hashed(s(1), 42), SnapId(0));
        assert_eq!(t.intern_hashed(s(2), 42), SnapId(1));
        assert_eq!(t.intern_hashed(s(3), 42), SnapId(2));
        assert_eq!(t.intern_hashed(s(2), 42), SnapId(1));
        assert_eq!(t.intern_hashed(s(3), 42), SnapId(2));
        assert_eq!(t.intern_hashed(s(1), 42), SnapId(0));
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(SnapId(2)), Some(&s(3)));
        // A parsed text keeps equal snapshots apart, and interning finds the
        // first of them.
        let mut p = Snapshots::default();
        assert_eq!(p.push_raw(s(1)), SnapId(0));
        assert_eq!(p.push_raw(s(1)), SnapId(1));
        assert_eq!(p.intern(s(1)), SnapId(0));
        assert_eq!(p.intern(s(4)), SnapId(2));
    }
}
