//! The record stream's element type.

use crate::{DebugEvent, EndOfRun, HostCall, Position};

/// One element of the record stream.
///
/// Records appear in the stream in the order they happened, so their positions never decrease.
/// A finished trace's last record, and only that one, is [`Record::End`].
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum Record {
    /// A call through the host-call seam.
    HostCall(HostCall),
    /// A debug event.
    Event(DebugEvent),
    /// The end of the run. Written by [`crate::TraceWriter::finish`].
    End(EndOfRun),
    /// The run has completed this many steps. The recorder writes one at least every few
    /// hundred milliseconds, so that a trace whose recorder was killed says how far the run got
    /// even when the guest made no host call for a long time. Added in format 1.2.
    Progress(Position),
}

impl Record {
    /// The position at which the record happened.
    pub fn position(&self) -> Position {
        match self {
            Record::HostCall(call) => call.position,
            Record::Event(event) => event.position,
            Record::End(end) => end.total_steps,
            Record::Progress(position) => *position,
        }
    }

    /// A cheap upper-bound estimate of the record's archived size in bytes, used by the writer to
    /// cut chunks and to refuse records that could never fit in one.
    pub(crate) fn estimated_size(&self) -> usize {
        // Fixed parts are generous so that the estimate stays an upper bound whatever rkyv's
        // padding; only the variable parts (bytes, strings, vectors) can make a record large.
        const FIXED: usize = 64;
        const PER_VALUE: usize = 32;
        const PER_WRITE: usize = 32;
        const PER_FRAME: usize = 8;
        match self {
            Record::HostCall(call) => {
                let writes: usize = call
                    .memory_writes
                    .iter()
                    .map(|w| PER_WRITE + w.bytes.len())
                    .sum();
                let message = match &call.outcome {
                    crate::CallOutcome::Error(m) => m.len(),
                    _ => 0,
                };
                FIXED + PER_VALUE * (call.args.len() + call.results.len()) + writes + message
            }
            Record::Event(event) => {
                let text = match &event.kind {
                    crate::EventKind::Trap { message, .. } => {
                        message.as_ref().map_or(0, String::len)
                    }
                    crate::EventKind::HostCallError { message, .. } => message.len(),
                    crate::EventKind::Interrupted(crate::Interruption::Other(m)) => m.len(),
                    _ => 0,
                };
                FIXED + PER_FRAME * event.backtrace.len() + text
            }
            Record::End(end) => {
                let text = match &end.outcome {
                    crate::RunOutcome::Trap { message, .. } => {
                        message.as_ref().map_or(0, String::len)
                    }
                    crate::RunOutcome::HostError { message, .. } => message.len(),
                    _ => 0,
                };
                FIXED + text
            }
            Record::Progress(_) => FIXED,
        }
    }
}

impl From<HostCall> for Record {
    fn from(call: HostCall) -> Self {
        Record::HostCall(call)
    }
}

impl From<DebugEvent> for Record {
    fn from(event: DebugEvent) -> Self {
        Record::Event(event)
    }
}
