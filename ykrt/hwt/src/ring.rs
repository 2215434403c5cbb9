//! Draining perf's ring buffers: the AUX area (raw Intel PT packets) and the
//! data area (perf records, which say when AUX data was lost).
//!
//! The protocol (see `perf_event_open(2)`, "The mmap layout"): the kernel
//! advances `aux_head`/`data_head`; the reader copies `tail..head` (offsets
//! that only grow, taken modulo the power-of-two area size) and then publishes
//! the new `aux_tail`/`data_tail`, which gives the space back. With a writable
//! AUX mapping the kernel never overwrites unread data: when the area is full
//! it stops tracing and reports a `PERF_RECORD_AUX` with the TRUNCATED flag.
//! That record is how loss is detected, so a drained trace is complete or
//! rejected, never silently short.
//!
//! [RingBuffers] works on raw pointers to a `perf_event_mmap_page` and the two
//! areas, so the same code runs on the real mmap and, in the tests, on a
//! simulated page in ordinary memory (with wrap-around and a concurrent
//! "kernel" thread).

use perf_event_open_sys::bindings::{
    perf_event_header, perf_event_mmap_page, PERF_AUX_FLAG_COLLISION, PERF_AUX_FLAG_PARTIAL,
    PERF_AUX_FLAG_TRUNCATED, PERF_RECORD_AUX, PERF_RECORD_LOST,
};
use std::{
    fmt,
    ptr::addr_of_mut,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    thread::JoinHandle,
};

/// Trace data was lost or the buffers are inconsistent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The kernel reported that AUX data was lost (`PERF_RECORD_AUX` flags).
    AuxLost {
        /// The record's flags.
        flags: u64,
    },
    /// The kernel lost perf records (`PERF_RECORD_LOST`).
    RecordsLost {
        /// How many.
        count: u64,
    },
    /// Head and tail are further apart than the area, or head went backwards.
    Inconsistent {
        /// Which area.
        area: &'static str,
        /// The head read.
        head: u64,
        /// Our tail.
        tail: u64,
    },
    /// A record header in the data area is malformed.
    BadRecord {
        /// Its offset.
        at: u64,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::AuxLost { flags } => {
                let mut why = vec![];
                if flags & u64::from(PERF_AUX_FLAG_TRUNCATED) != 0 {
                    why.push("the AUX buffer filled up and tracing stopped (truncated)");
                }
                if flags & u64::from(PERF_AUX_FLAG_PARTIAL) != 0 {
                    why.push("the record has gaps (partial)");
                }
                if flags & u64::from(PERF_AUX_FLAG_COLLISION) != 0 {
                    why.push("samples collided");
                }
                write!(f, "trace data lost: {} (flags {flags:#x})", why.join(", "))
            }
            RingError::RecordsLost { count } => write!(f, "{count} perf records lost"),
            RingError::Inconsistent { area, head, tail } => write!(
                f,
                "{area} ring buffer inconsistent: head {head:#x}, tail {tail:#x}"
            ),
            RingError::BadRecord { at } => write!(f, "malformed perf record at {at:#x}"),
        }
    }
}

impl std::error::Error for RingError {}

/// Reader side of a perf mmap: header page, data area and AUX area.
pub struct RingBuffers {
    header: *mut perf_event_mmap_page,
    data: *const u8,
    data_size: u64,
    aux: *const u8,
    aux_size: u64,
}

// SAFETY: the pointers refer to a mapping owned by whoever owns this value; the
// shared fields are accessed atomically.
unsafe impl Send for RingBuffers {}

fn atomic(p: *mut u64) -> &'static AtomicU64 {
    // SAFETY: callers pass aligned u64 fields of a live header; AtomicU64 has
    // the same layout as u64.
    unsafe { AtomicU64::from_ptr(p) }
}

impl RingBuffers {
    /// Wrap raw buffers.
    ///
    /// # Safety
    /// `header` must point to a live, aligned `perf_event_mmap_page`; `data`
    /// and `aux` to `data_size` and `aux_size` readable bytes; both sizes must
    /// be powers of two; all must outlive the returned value.
    pub unsafe fn from_raw(
        header: *mut perf_event_mmap_page,
        data: *const u8,
        data_size: u64,
        aux: *const u8,
        aux_size: u64,
    ) -> Self {
        assert!(data_size.is_power_of_two() && aux_size.is_power_of_two());
        RingBuffers {
            header,
            data,
            data_size,
            aux,
            aux_size,
        }
    }

    fn field(&self, f: fn(*mut perf_event_mmap_page) -> *mut u64) -> &AtomicU64 {
        atomic(f(self.header))
    }

    /// Copy `len` bytes starting at ring offset `from` (mod `size`) to `out`,
    /// splitting the copy where it wraps.
    fn copy_wrapped(base: *const u8, size: u64, from: u64, len: u64, out: &mut Vec<u8>) {
        let start = from & (size - 1);
        let first = len.min(size - start);
        // SAFETY: both ranges lie within the `size` bytes at `base`.
        unsafe {
            out.extend_from_slice(std::slice::from_raw_parts(
                base.add(start as usize),
                first as usize,
            ));
            out.extend_from_slice(std::slice::from_raw_parts(base, (len - first) as usize));
        }
    }

    /// Move all AUX data written so far to `out` and give the space back.
    /// Returns the number of bytes moved.
    pub fn drain_aux(&mut self, out: &mut Vec<u8>) -> Result<usize, RingError> {
        // Acquire pairs with the kernel's write of aux_head after the data.
        // SAFETY: `h` is `self.header`, which points to a live, aligned
        // `perf_event_mmap_page` (`from_raw`'s contract); `addr_of_mut!` only
        // computes the field's address, without reading it or making a
        // reference.
        let head = self
            .field(|h| unsafe { addr_of_mut!((*h).aux_head) })
            .load(Ordering::Acquire);
        // SAFETY: as above: `h` is the live, aligned header of `from_raw`'s
        // contract, and no reference is made.
        let tail_f = self.field(|h| unsafe { addr_of_mut!((*h).aux_tail) });
        let tail = tail_f.load(Ordering::Relaxed);
        if head < tail || head - tail > self.aux_size {
            return Err(RingError::Inconsistent {
                area: "AUX",
                head,
                tail,
            });
        }
        let len = head - tail;
        out.reserve(len as usize);
        Self::copy_wrapped(self.aux, self.aux_size, tail, len, out);
        // Release: the copy is complete before the kernel may reuse the space.
        tail_f.store(head, Ordering::Release);
        Ok(len as usize)
    }

    /// Read the perf records written so far; fail if any reports lost data.
    /// Returns how many records were read.
    pub fn drain_records(&mut self) -> Result<usize, RingError> {
        // SAFETY: `h` is `self.header`, which points to a live, aligned
        // `perf_event_mmap_page` (`from_raw`'s contract); `addr_of_mut!` only
        // computes the field's address, without reading it or making a
        // reference.
        let head = self
            .field(|h| unsafe { addr_of_mut!((*h).data_head) })
            .load(Ordering::Acquire);
        // SAFETY: as above: `h` is the live, aligned header of `from_raw`'s
        // contract, and no reference is made.
        let tail_f = self.field(|h| unsafe { addr_of_mut!((*h).data_tail) });
        let mut tail = tail_f.load(Ordering::Relaxed);
        if head < tail || head - tail > self.data_size {
            return Err(RingError::Inconsistent {
                area: "data",
                head,
                tail,
            });
        }
        let hdr_len = std::mem::size_of::<perf_event_header>() as u64;
        let mut n = 0;
        let mut rec = Vec::new();
        let mut result = Ok(());
        while tail < head {
            rec.clear();
            if head - tail < hdr_len {
                result = Err(RingError::BadRecord { at: tail });
                break;
            }
            Self::copy_wrapped(self.data, self.data_size, tail, hdr_len, &mut rec);
            let ty = u32::from_ne_bytes(rec[0..4].try_into().unwrap());
            let size = u64::from(u16::from_ne_bytes(rec[6..8].try_into().unwrap()));
            if size < hdr_len || size > head - tail {
                result = Err(RingError::BadRecord { at: tail });
                break;
            }
            rec.clear();
            Self::copy_wrapped(self.data, self.data_size, tail, size, &mut rec);
            let word = |i: usize| {
                rec.get(8 + i * 8..16 + i * 8)
                    .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
            };
            tail += size;
            n += 1;
            // Keep reading after a loss so the ring is emptied, but report it.
            if result.is_ok() {
                if ty == PERF_RECORD_AUX {
                    // u64 aux_offset, u64 aux_size, u64 flags.
                    let Some(flags) = word(2) else {
                        result = Err(RingError::BadRecord { at: tail - size });
                        continue;
                    };
                    let lossy = u64::from(
                        PERF_AUX_FLAG_TRUNCATED | PERF_AUX_FLAG_PARTIAL | PERF_AUX_FLAG_COLLISION,
                    );
                    if flags & lossy != 0 {
                        result = Err(RingError::AuxLost { flags });
                    }
                } else if ty == PERF_RECORD_LOST {
                    // u64 id, u64 lost.
                    result = Err(RingError::RecordsLost {
                        count: word(1).unwrap_or(0),
                    });
                }
            }
        }
        tail_f.store(tail, Ordering::Release);
        result.map(|()| n)
    }
}

/// Drains [RingBuffers] on a background thread, so the AUX area is emptied
/// while the traced thread runs and does not fill up between drains.
pub struct Drainer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<Vec<u8>, RingError>>>,
}

impl Drainer {
    /// Start draining `rings`; `wait` blocks until there may be new data (in
    /// production a `poll` on the perf fd with a short timeout).
    pub fn spawn(mut rings: RingBuffers, mut wait: impl FnMut() + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("hwt-drain".into())
            .spawn(move || {
                let mut out = Vec::new();
                loop {
                    // Read the flag before draining, so the last drain happens
                    // after the producer has stopped.
                    let last = stop2.load(Ordering::Acquire);
                    rings.drain_aux(&mut out)?;
                    rings.drain_records()?;
                    if last {
                        return Ok(out);
                    }
                    wait();
                }
            })
            .expect("spawning the trace drain thread");
        Drainer {
            stop,
            handle: Some(handle),
        }
    }

    /// Call once the producer has stopped writing: drain what is left and
    /// return all the data, or the first loss detected.
    pub fn finish(mut self) -> Result<Vec<u8>, RingError> {
        self.stop.store(true, Ordering::Release);
        let h = self.handle.take().expect("finish called once");
        h.join().expect("the trace drain thread panicked")
    }
}

impl Drop for Drainer {
    /// The thread must be gone before the buffers it reads are unmapped.
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.stop.store(true, Ordering::Release);
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated mmap: header page, data and AUX areas in ordinary memory,
    /// and the kernel's side of the protocol.
    struct Sim {
        header: Box<perf_event_mmap_page>,
        data: Vec<u8>,
        aux: Vec<u8>,
    }

    impl Sim {
        fn new(data_size: usize, aux_size: usize) -> Self {
            // SAFETY: perf_event_mmap_page is plain integers; all-zero is valid.
            let header = Box::new(unsafe { std::mem::zeroed::<perf_event_mmap_page>() });
            Sim {
                header,
                data: vec![0; data_size],
                aux: vec![0; aux_size],
            }
        }

        fn rings(&mut self) -> RingBuffers {
            // SAFETY: the Sim outlives the RingBuffers in every test.
            unsafe {
                RingBuffers::from_raw(
                    &mut *self.header,
                    self.data.as_ptr(),
                    self.data.len() as u64,
                    self.aux.as_ptr(),
                    self.aux.len() as u64,
                )
            }
        }
    }

    /// Kernel side, on raw pointers so it can run on another thread.
    #[derive(Clone, Copy)]
    struct Kernel {
        header: *mut perf_event_mmap_page,
        data: *mut u8,
        data_size: u64,
        aux: *mut u8,
        aux_size: u64,
    }
    // SAFETY: test code: the pointers point into a `Sim` that outlives every
    // thread given a `Kernel` (scoped threads, or a `Drainer` finished or
    // dropped first), the header's shared fields are accessed atomically, and
    // the kernel side writes only area bytes the reader does not read until
    // they are published.
    unsafe impl Send for Kernel {}

    impl Kernel {
        fn of(sim: &mut Sim) -> Self {
            Kernel {
                header: &mut *sim.header,
                data: sim.data.as_mut_ptr(),
                data_size: sim.data.len() as u64,
                aux: sim.aux.as_mut_ptr(),
                aux_size: sim.aux.len() as u64,
            }
        }

        /// Write as much of `bytes` as fits; return how many were written.
        fn write_aux(&self, bytes: &[u8]) -> usize {
            // SAFETY: test code: `self.header` points to the `Sim`'s boxed
            // header, alive for the whole test; only the field's address is
            // taken.
            let head_f = atomic(unsafe { addr_of_mut!((*self.header).aux_head) });
            // SAFETY: test code: `self.header` points to the `Sim`'s boxed
            // header, alive for the whole test; only the field's address is
            // taken.
            let tail =
                atomic(unsafe { addr_of_mut!((*self.header).aux_tail) }).load(Ordering::Acquire);
            let head = head_f.load(Ordering::Relaxed);
            let free = self.aux_size - (head - tail);
            let n = (bytes.len() as u64).min(free);
            for i in 0..n {
                let at = ((head + i) & (self.aux_size - 1)) as usize;
                // SAFETY: test code: `at` is masked below `aux_size`, the
                // length of the `Sim`'s AUX area, and the byte is free space
                // that the reader does not read until `aux_head` publishes it.
                unsafe { self.aux.add(at).write_volatile(bytes[i as usize]) };
            }
            head_f.store(head + n, Ordering::Release);
            n as usize
        }

        fn write_record(&self, ty: u32, words: &[u64]) {
            let mut rec = vec![];
            rec.extend(ty.to_ne_bytes());
            rec.extend(0u16.to_ne_bytes());
            rec.extend(((8 + 8 * words.len()) as u16).to_ne_bytes());
            for w in words {
                rec.extend(w.to_ne_bytes());
            }
            // SAFETY: test code: `self.header` points to the `Sim`'s boxed
            // header, alive for the whole test; only the field's address is
            // taken.
            let head_f = atomic(unsafe { addr_of_mut!((*self.header).data_head) });
            let head = head_f.load(Ordering::Relaxed);
            for (i, b) in rec.iter().enumerate() {
                let at = ((head + i as u64) & (self.data_size - 1)) as usize;
                // SAFETY: test code: `at` is masked below `data_size`, the
                // length of the `Sim`'s data area, which the reader does not
                // read past `data_head`, published after these writes.
                unsafe { self.data.add(at).write_volatile(*b) };
            }
            head_f.store(head + rec.len() as u64, Ordering::Release);
        }
    }

    /// A deterministic PRNG (xorshift) for the tests.
    fn rng(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn drains_everything_across_wraparound() {
        let mut sim = Sim::new(64, 64);
        let k = Kernel::of(&mut sim);
        let mut r = sim.rings();
        let mut seed = 0x1234_5678u64;
        let mut written = vec![];
        let mut got = vec![];
        let mut pending: Vec<u8> = vec![];
        for round in 0..2000u32 {
            // The "hardware" produces a chunk (0..=80 bytes, more than the area).
            let len = (rng(&mut seed) % 81) as usize;
            pending.extend((0..len).map(|i| (round as usize * 31 + i) as u8));
            let n = k.write_aux(&pending);
            written.extend(pending.drain(..n));
            if !rng(&mut seed).is_multiple_of(3) {
                r.drain_aux(&mut got).unwrap();
            }
        }
        let n = k.write_aux(&pending);
        written.extend(pending.drain(..n));
        r.drain_aux(&mut got).unwrap();
        assert_eq!(got, written);
        // The head went round the 64-byte area many times.
        assert!(sim.header.aux_head > 64 * 100);
        assert_eq!(sim.header.aux_tail, sim.header.aux_head);
    }

    #[test]
    fn full_area_is_drained_exactly() {
        let mut sim = Sim::new(64, 32);
        let k = Kernel::of(&mut sim);
        let mut r = sim.rings();
        let mut got = vec![];
        // Fill from a tail in the middle of the area, so the copy wraps.
        assert_eq!(k.write_aux(&[1; 20]), 20);
        r.drain_aux(&mut got).unwrap();
        let bytes: Vec<u8> = (0..40).collect();
        assert_eq!(k.write_aux(&bytes), 32, "only the free space is written");
        assert_eq!(r.drain_aux(&mut got).unwrap(), 32);
        assert_eq!(&got[20..], &bytes[..32]);
        assert_eq!(r.drain_aux(&mut got).unwrap(), 0);
    }

    #[test]
    fn inconsistent_heads_are_errors() {
        let mut sim = Sim::new(64, 32);
        sim.header.aux_head = 33;
        let mut r = sim.rings();
        let mut got = vec![];
        assert!(matches!(
            r.drain_aux(&mut got),
            Err(RingError::Inconsistent { area: "AUX", .. })
        ));
        assert!(
            got.is_empty(),
            "nothing is copied from an inconsistent ring"
        );
        sim.header.aux_head = 5;
        sim.header.aux_tail = 6;
        assert!(sim.rings().drain_aux(&mut got).is_err());
        sim.header.data_head = 65;
        assert!(matches!(
            sim.rings().drain_records(),
            Err(RingError::Inconsistent { area: "data", .. })
        ));
    }

    #[test]
    fn records_report_loss_and_wrap() {
        let mut sim = Sim::new(64, 32);
        let k = Kernel::of(&mut sim);
        let mut r = sim.rings();
        // Harmless records (an AUX record without loss flags, an unknown one).
        k.write_record(PERF_RECORD_AUX, &[0, 16, 0]);
        k.write_record(12, &[1]);
        assert_eq!(r.drain_records().unwrap(), 2);
        // 32 + 16 bytes so far: the next 32-byte record wraps the 64-byte area.
        k.write_record(
            PERF_RECORD_AUX,
            &[16, 16, u64::from(PERF_AUX_FLAG_TRUNCATED)],
        );
        let e = r.drain_records().unwrap_err();
        assert_eq!(
            e,
            RingError::AuxLost {
                flags: u64::from(PERF_AUX_FLAG_TRUNCATED)
            }
        );
        assert!(e.to_string().contains("truncated"), "{e}");
        k.write_record(PERF_RECORD_LOST, &[7, 3]);
        assert_eq!(r.drain_records(), Err(RingError::RecordsLost { count: 3 }));
        // The reader has caught up with the kernel after each drain.
        assert_eq!(sim.header.data_tail, sim.header.data_head);
        // A record claiming to be shorter than its header is malformed.
        k.write_record(PERF_RECORD_AUX, &[]);
        let at = (sim.header.data_tail & 63) as usize;
        sim.data[(at + 6) % 64] = 4;
        sim.data[(at + 7) % 64] = 0;
        assert!(matches!(
            sim.rings().drain_records(),
            Err(RingError::BadRecord { .. })
        ));
    }

    #[test]
    fn concurrent_kernel_and_reader() {
        // The kernel side writes from another thread while the reader drains:
        // every byte must arrive, in order, once.
        let mut sim = Sim::new(64, 256);
        let k = Kernel::of(&mut sim);
        let mut r = sim.rings();
        let total = 200_000usize;
        let done = AtomicBool::new(false);
        let mut got = vec![];
        std::thread::scope(|s| {
            let done = &done;
            s.spawn(move || {
                let bytes: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
                let mut at = 0;
                let mut seed = 99u64;
                while at < total {
                    let len = 1 + (rng(&mut seed) % 97) as usize;
                    at += k.write_aux(&bytes[at..(at + len).min(total)]);
                }
                done.store(true, Ordering::Release);
            });
            loop {
                let finished = done.load(Ordering::Acquire);
                r.drain_aux(&mut got).unwrap();
                if finished {
                    break;
                }
            }
        });
        assert_eq!(got.len(), total);
        assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }

    #[test]
    fn drainer_thread_collects_everything_through_a_small_area() {
        let mut sim = Sim::new(64, 128);
        let k = Kernel::of(&mut sim);
        let d = Drainer::spawn(sim.rings(), std::thread::yield_now);
        let total = 300_000usize;
        let bytes: Vec<u8> = (0..total).map(|i| (i * 7 % 253) as u8).collect();
        let mut at = 0;
        let mut seed = 5u64;
        while at < total {
            let len = 1 + (rng(&mut seed) % 200) as usize;
            at += k.write_aux(&bytes[at..(at + len).min(total)]);
        }
        assert_eq!(d.finish().unwrap(), bytes);
    }

    #[test]
    fn drainer_reports_loss() {
        let mut sim = Sim::new(64, 128);
        let k = Kernel::of(&mut sim);
        k.write_aux(&[1, 2, 3]);
        k.write_record(PERF_RECORD_AUX, &[0, 3, u64::from(PERF_AUX_FLAG_TRUNCATED)]);
        let d = Drainer::spawn(sim.rings(), std::thread::yield_now);
        assert!(matches!(d.finish(), Err(RingError::AuxLost { .. })));
        // Dropping an unfinished drainer stops its thread.
        let d = Drainer::spawn(sim.rings(), std::thread::yield_now);
        drop(d);
    }
}
