//! Pacing periodic pauses by wall-clock time: the recorder's progress records, the replayer's
//! progress reports.

use crate::{Error, Pause, PauseReason, Resumable, Store};
use std::time::{Duration, Instant};

/// A step budget sized so that pauses come about every `interval`. Steps per second vary by
/// orders of magnitude between guests and engines, so the budget adapts: doubled while pauses
/// come too often, halved when they come too late. The pauses are soft
/// ([`Store::set_soft_budget`]): on the JIT they do not leave compiled code. Close to the end
/// they are hard, so that a late soft pause cannot pass it.
#[derive(Debug)]
pub struct Ticks {
    interval: Duration,
    steps: u64,
    last: Instant,
}

impl Ticks {
    const MIN_STEPS: u64 = 1 << 12;
    const MAX_STEPS: u64 = 1 << 36;
    /// Steps before the end from which pauses are hard. A late soft pause runs on from a
    /// call's return to the caller's next check: far fewer steps than this, short of a deep
    /// chain of returns through long straight-line code.
    const SOFT_MARGIN: u64 = 1 << 20;

    /// Pauses about every `interval`.
    pub fn new(interval: Duration) -> Ticks {
        Ticks {
            interval,
            steps: 1 << 20,
            last: Instant::now(),
        }
    }

    /// Sets `store`'s next pause: a soft one after about `interval`, or a hard one at `end`
    /// if that comes first (hard ones once `end` is within a tick and a million steps). A pause
    /// at or after `end` is the end's.
    pub fn arm<T>(&mut self, store: &mut Store<T>, end: Option<u64>) {
        let now = Instant::now();
        let took = now - self.last;
        self.last = now;
        if took < self.interval / 2 {
            self.steps = (self.steps * 2).min(Self::MAX_STEPS);
        } else if took > self.interval * 2 {
            self.steps = (self.steps / 2).max(Self::MIN_STEPS);
        }
        let tick = store.position().saturating_add(self.steps);
        match end {
            // A soft pause on the JIT can come late (`Store::set_soft_budget`): close to the
            // end, pauses are hard, so that a late one does not pass the end.
            Some(end) if end <= tick.saturating_add(Self::SOFT_MARGIN) => {
                store.set_soft_budget(false);
                store.set_stop_position(Some(end.min(tick)));
            }
            _ => {
                store.set_soft_budget(true);
                store.set_stop_position(Some(tick));
            }
        }
    }

    /// Goes on from `result` through the periodic pauses: `at_pause` sees each one's position
    /// and says whether to go on; a pause at or after `end`, any other pause or the call's end
    /// is returned, and so is the pause `at_pause` stopped at. The pause is cleared at the end.
    ///
    /// # Errors
    /// As [`Store::resume`].
    pub fn drive<T>(
        &mut self,
        store: &mut Store<T>,
        mut result: Result<Resumable, Error>,
        end: Option<u64>,
        mut at_pause: impl FnMut(u64) -> bool,
    ) -> Result<Resumable, Error> {
        while let Ok(Resumable::Paused(Pause {
            reason: PauseReason::StepBudget,
            position,
        })) = &result
        {
            if end.is_some_and(|end| *position >= end) || !at_pause(*position) {
                break;
            }
            self.arm(store, end);
            result = store.resume();
        }
        Ticks::disarm(store);
        result
    }

    /// Clears the pause `arm` set.
    pub fn disarm<T>(store: &mut Store<T>) {
        store.set_soft_budget(false);
        store.set_stop_position(None);
    }
}
