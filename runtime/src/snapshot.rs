//! Snapshots: the complete execution state of a store at one position.
//!
//! A snapshot holds every memory (as page-sharing images, see `memory.rs`), every table and
//! global, the dropped-segment flags, and the current call's value stack and frames. Restoring
//! one and resuming gives exactly the run that would have followed the original: the state is
//! all plain data, and nothing else (no host-side caches) influences execution.
//!
//! Host state (the embedder's `T`) is not part of a snapshot: a replayer's host functions answer
//! from the trace and hold no state that snapshots would need.

use crate::engine::EngineState;
use crate::error::{Error, Result};
use crate::memory::MemImage;
use crate::store::{CallState, SegmentState, Store};
use std::collections::HashSet;
use std::sync::Arc;

/// Bytes of a snapshot besides its memories.
fn own_bytes(s: &Snapshot) -> usize {
    std::mem::size_of::<Snapshot>()
        + s.tables.iter().map(|t| t.len() * 8).sum::<usize>()
        + s.globals.len() * 16
        + s.frames.values.len() * 8
        + s.frames.frames.len() * std::mem::size_of::<crate::engine::FrameState>()
}

/// The complete execution state of a store at one position.
#[derive(Clone, Debug)]
pub struct Snapshot {
    position: u64,
    memories: Vec<Arc<MemImage>>,
    tables: Vec<Vec<u64>>,
    /// Every global's value: both halves (a `v128`'s high half; 0 for other types).
    globals: Vec<(u64, u64)>,
    segments: Vec<SegmentState>,
    /// Every exception made so far (shared: they never change).
    exceptions: Arc<crate::store::ExnHeap>,
    /// The call in progress, engine-neutral (restorable on any engine).
    frames: EngineState,
    call: CallState,
    num_funcs: usize,
    num_instances: usize,
}

impl Snapshot {
    /// The position at which it was taken.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Bytes held by a set of snapshots together, counting shared memory pages once.
    pub fn footprint<'a>(snapshots: impl IntoIterator<Item = &'a Snapshot>) -> usize {
        let mut seen = HashSet::with_hasher(crate::memory::PtrHash::default());
        let mut bytes = 0;
        for s in snapshots {
            bytes += own_bytes(s);
            for m in &s.memories {
                bytes += m.account(&mut seen);
            }
        }
        bytes
    }

    /// The bytes that dropping this snapshot frees: its own, and the memory pages that no
    /// other snapshot (nor the store's memories) shares. Cheap, unlike [`Snapshot::footprint`]:
    /// it reads reference counts.
    pub fn unshared_bytes(&self) -> usize {
        own_bytes(self)
            + self
                .memories
                .iter()
                .filter(|m| Arc::strong_count(m) == 1)
                .map(|m| m.unshared())
                .sum::<usize>()
    }
}

impl<T> Store<T> {
    /// Captures the complete execution state.
    ///
    /// Costs the memory written since the previous snapshot or restore, plus one pointer per
    /// 256 KiB of memory.
    ///
    /// # Errors
    /// [`Error::Usage`] while a host function runs (the host's half of the call cannot be
    /// captured).
    pub fn snapshot(&mut self) -> Result<Snapshot> {
        if self.inner.call.in_host {
            return Err(Error::Usage(
                "cannot take a snapshot while a host function runs".into(),
            ));
        }
        let frames = if self.inner.call.active {
            self.engine.capture(&self.inner)
        } else {
            EngineState::default()
        };
        let inner = &mut self.inner;
        Ok(Snapshot {
            position: inner.position,
            memories: inner.memories.values_mut().map(|m| m.snapshot()).collect(),
            tables: inner.tables.values().map(|t| t.elements.clone()).collect(),
            globals: inner.globals.values().map(|g| (g.value, g.hi)).collect(),
            segments: inner.segments.values().cloned().collect(),
            exceptions: inner.exceptions.clone(),
            frames,
            call: inner.call.clone(),
            num_funcs: inner.funcs.len(),
            num_instances: inner.instances.len(),
        })
    }

    /// Restores a snapshot taken from this store. A call that was paused when it was taken is
    /// paused again and [`Store::resume`] continues it.
    ///
    /// # Errors
    /// [`Error::Usage`] while a host function runs, or if instances or memories were created
    /// since the snapshot was taken.
    pub fn restore(&mut self, snapshot: &Snapshot) -> Result<()> {
        let inner = &mut self.inner;
        if inner.call.in_host {
            return Err(Error::Usage(
                "cannot restore a snapshot while a host function runs".into(),
            ));
        }
        if inner.funcs.len() != snapshot.num_funcs
            || inner.instances.len() != snapshot.num_instances
            || inner.memories.len() != snapshot.memories.len()
            || inner.tables.len() != snapshot.tables.len()
            || inner.globals.len() != snapshot.globals.len()
        {
            return Err(Error::Usage(
                "snapshot does not belong to this store in its current shape".into(),
            ));
        }
        for (m, image) in inner.memories.values_mut().zip(&snapshot.memories) {
            m.restore(image);
        }
        for (t, elements) in inner.tables.values_mut().zip(&snapshot.tables) {
            t.elements.clone_from(elements);
        }
        for (g, &(value, hi)) in inner.globals.values_mut().zip(&snapshot.globals) {
            g.value = value;
            g.hi = hi;
        }
        for (s, saved) in inner.segments.values_mut().zip(&snapshot.segments) {
            s.clone_from(saved);
        }
        inner.exceptions.clone_from(&snapshot.exceptions);
        inner.call.clone_from(&snapshot.call);
        self.engine.restore(&self.inner, &snapshot.frames);
        let inner = &mut self.inner;
        inner.position = snapshot.position;
        Ok(())
    }
}
