//! Tests of a recording that reaches the end of the other kind of
//! recording (root or side).

use super::*;

/// A recording that reaches the end of the other kind (a root recording at
/// the end of a side trace's, which the blackhole can meet when the side
/// recording was given up during its run and interpreter code it called
/// started a root recording; or the reverse) is given up as its own kind
/// fails: the root recording's location backs off, the side recording's
/// guard gets no side trace; neither is compiled as the other.
#[test]
fn a_recording_that_ends_as_the_other_kind_is_given_up() {
    use crate::guard::{GuardInfo, TraceInfo, SIDE_FAILED};
    // A root recording at a side trace's end.
    let (mt, log) = testutil::mt("end_kind_root", 0);
    let loc = Location::new();
    iter(&mt, &loc);
    assert!(swt::is_recording());
    mt.stop_side_tracing();
    assert!(!swt::is_recording() && !flag_on());
    assert_eq!(mt.stats().get(Counter::TracesRecordedErr), 1);
    assert_eq!(mt.stats().get(Counter::SideTracesCompiled), 0);
    assert_eq!(
        lines(&log)[1],
        "yk-jit-event: trace-aborted: a root recording reached the end of a side trace"
    );
    assert_eq!(
        loc.state(),
        State::Counting {
            count: 0,
            failures: 1
        }
    );
    // A side recording at a root recording's end.
    let (mt, log) = testutil::mt("end_kind_side", 0);
    let root = Location::new();
    let info = TraceInfo::new(
        9,
        vec![GuardInfo::new(Vec::new())],
        LocationPtr::from(&root),
        0,
        None,
        0,
        &*mt,
    );
    info.guards[0]
        .side_state
        .store(crate::guard::SIDE_RECORDING, Ordering::Relaxed);
    mt.start_side_tracing(&info, 0, 0, false);
    assert!(swt::is_recording());
    let other = Location::new();
    mt.stop_tracing(LocationPtr::from(&other), None);
    assert!(!swt::is_recording() && !flag_on());
    assert_eq!(
        info.guards[0].side_state.load(Ordering::Relaxed),
        SIDE_FAILED
    );
    assert_eq!(mt.stats().get(Counter::TracesRecordedOk), 0);
    assert_eq!(
        lines(&log),
        ["yk-jit-event: trace-aborted: a side trace's recording reached a root recording's end"]
    );
    assert_eq!(
        other.state(),
        State::Counting {
            count: 0,
            failures: 0
        }
    );
}
