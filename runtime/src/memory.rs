//! Linear memory: a flat byte vector for speed, plus what makes snapshots cheap.
//!
//! # Snapshots share unchanged pages
//! Memory is tracked in 4 KiB pages. Each memory remembers the image it was last synchronized
//! with (`base`: the last snapshot taken or restored, or all zeros at creation) and a dirty bit per
//! page written since. Taking a snapshot copies only the dirty pages and shares every other page
//! (and every 64-page chunk without dirty pages) with `base` by reference count. So a snapshot
//! costs the memory written since the previous one plus one pointer per 256 KiB chunk.
//!
//! Restoring compares the target image with `base` chunk by chunk and page by page (pointer
//! equality) and copies only pages that differ or are dirty, so moving between nearby snapshots
//! is cheap too.
//!
//! Every write path (stores, bulk operations, data segments, host writes through the call
//! context) marks its pages dirty; a store instruction pays two bit operations for it.

use crate::types::{Limits, MemoryType};
use std::sync::{Arc, LazyLock};

mod bytes;

pub(crate) use bytes::{Bytes, GUARDED_SIZE, GUARDS};

/// Size of a Wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// log2 of the dirty-tracking page size.
pub(crate) const PAGE_BITS: u32 = 12;
/// Dirty-tracking page size (4 KiB).
pub const PAGE_SIZE: usize = 1 << PAGE_BITS;
/// Pages per chunk of the two-level page table.
const CHUNK_PAGES: usize = 64;

type Page = [u8; PAGE_SIZE];

/// A hasher for pointers (`account`'s sets hold tens of thousands; SipHash dominated
/// thinning a session's checkpoints).
#[derive(Clone, Copy, Default)]
pub(crate) struct PtrHasher(u64);

impl std::hash::Hasher for PtrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, x: usize) {
        self.0 = (x as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        // The product's high bits depend on all of the pointer's; the table indexes by the low.
        self.0 ^ (self.0 >> 32)
    }
}

pub(crate) type PtrHash = std::hash::BuildHasherDefault<PtrHasher>;

/// Bytes of a chunk besides its pages.
const CHUNK_BYTES: usize =
    std::mem::size_of::<Chunk>() + CHUNK_PAGES * std::mem::size_of::<usize>();

static ZERO_PAGE: LazyLock<Arc<Page>> = LazyLock::new(|| Arc::new([0; PAGE_SIZE]));
static ZERO_CHUNK: LazyLock<Arc<Chunk>> = LazyLock::new(|| {
    Arc::new(Chunk {
        pages: vec![ZERO_PAGE.clone(); CHUNK_PAGES],
    })
});

#[derive(Debug)]
struct Chunk {
    pages: Vec<Arc<Page>>,
}

/// An immutable copy of a memory's bytes at one moment, sharing pages with other images.
#[derive(Clone, Debug)]
pub struct MemImage {
    len: usize,
    chunks: Vec<Arc<Chunk>>,
}

impl MemImage {
    fn zeroed(len: usize) -> MemImage {
        let pages = len / PAGE_SIZE;
        MemImage {
            len,
            chunks: vec![ZERO_CHUNK.clone(); pages.div_ceil(CHUNK_PAGES)],
        }
    }

    fn page(&self, p: usize) -> Option<&Arc<Page>> {
        self.chunks.get(p / CHUNK_PAGES)?.pages.get(p % CHUNK_PAGES)
    }

    /// The bytes that dropping this image (its last owner) frees: the chunks and pages nothing
    /// else holds.
    pub(crate) fn unshared(&self) -> usize {
        let mut bytes = self.chunks.len() * std::mem::size_of::<usize>();
        for chunk in &self.chunks {
            if Arc::strong_count(chunk) == 1 {
                bytes += CHUNK_BYTES;
                for page in &chunk.pages {
                    if Arc::strong_count(page) == 1 {
                        bytes += PAGE_SIZE;
                    }
                }
            }
        }
        bytes
    }

    /// Adds the distinct pages and chunks of this image to `seen`, returning the bytes they add.
    pub(crate) fn account(&self, seen: &mut std::collections::HashSet<usize, PtrHash>) -> usize {
        let mut bytes = 0;
        for chunk in &self.chunks {
            if seen.insert(Arc::as_ptr(chunk) as *const u8 as usize) {
                bytes += CHUNK_BYTES;
                for page in &chunk.pages {
                    if seen.insert(Arc::as_ptr(page) as *const u8 as usize) {
                        bytes += PAGE_SIZE;
                    }
                }
            }
        }
        bytes + self.chunks.len() * std::mem::size_of::<usize>()
    }
}

/// A linear memory instance.
#[derive(Debug)]
pub struct MemoryInstance {
    pub(crate) data: Bytes,
    /// Declared type; `limits.min` is not updated by growth (see [`MemoryInstance::pages`]).
    pub(crate) ty: MemoryType,
    /// One byte per 4 KiB page written since `base` (non-zero: dirty). A byte rather than a
    /// bit, so that marking is a single store for the interpreter and for JIT code alike. One
    /// more byte than pages: JIT code marks a multi-byte store's page and the next one with a
    /// single two-byte store (a page marked that was not written only costs a page compare).
    dirty: Vec<u8>,
    base: Arc<MemImage>,
}

impl MemoryInstance {
    pub(crate) fn new(ty: MemoryType) -> MemoryInstance {
        let len = (ty.limits.min * WASM_PAGE_SIZE) as usize;
        MemoryInstance {
            data: Bytes::zeroed(len, !ty.memory64),
            ty,
            dirty: vec![0; len / PAGE_SIZE + 1],
            base: Arc::new(MemImage::zeroed(len)),
        }
    }

    /// Current size in Wasm pages.
    pub fn pages(&self) -> u64 {
        self.data.len() as u64 / WASM_PAGE_SIZE
    }

    /// Current limits (current size as minimum), for import matching.
    pub fn current_limits(&self) -> Limits {
        Limits {
            min: self.pages(),
            max: self.ty.limits.max,
        }
    }

    /// The bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` when the declared
    /// maximum or `limit` (in pages) would be exceeded.
    pub(crate) fn grow(&mut self, delta: u64, limit: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        let cap = self.ty.max_pages();
        let max = self.ty.limits.max.unwrap_or(cap).min(cap).min(limit);
        if new > max {
            return None;
        }
        if delta == 0 {
            return Some(old);
        }
        // 2^48 pages of 64 KiB do not fit a u64; memory the host cannot allocate makes the
        // growth fail (-1), as the specification allows, rather than abort the process.
        let new_len = usize::try_from(new.checked_mul(WASM_PAGE_SIZE)?).ok()?;
        if !self.data.resize(new_len) {
            return None;
        }
        self.dirty.resize(new_len / PAGE_SIZE + 1, 0);
        // The new pages are zero, as in a zeroed image: extend `base` so they start clean.
        let mut base = (*self.base).clone();
        let old_pages = base.len / PAGE_SIZE;
        let new_pages = new_len / PAGE_SIZE;
        for p in old_pages..new_pages {
            let c = p / CHUNK_PAGES;
            if c == base.chunks.len() {
                if p % CHUNK_PAGES == 0 && p + CHUNK_PAGES <= new_pages {
                    base.chunks.push(ZERO_CHUNK.clone());
                    continue;
                }
                base.chunks.push(Arc::new(Chunk { pages: Vec::new() }));
            }
            if base.chunks[c].pages.len() <= p % CHUNK_PAGES {
                Arc::make_mut_chunk(&mut base.chunks[c])
                    .pages
                    .push(ZERO_PAGE.clone());
            }
        }
        base.len = new_len;
        self.base = Arc::new(base);
        Some(old)
    }

    /// The dirty bytes, for JIT code that marks pages itself (one byte per 4 KiB page; see
    /// [`MemoryInstance::mark_dirty`]).
    pub(crate) fn dirty_ptr(&mut self) -> *mut u8 {
        self.dirty.as_mut_ptr()
    }

    /// Marks the pages of `[addr, addr + len)` dirty. `len` must be at least 1.
    #[inline(always)]
    pub(crate) fn mark_dirty(&mut self, addr: usize, len: usize) {
        let first = addr >> PAGE_BITS;
        let last = (addr + len - 1) >> PAGE_BITS;
        self.dirty[first] = 1;
        self.dirty[last] = 1;
        if last > first + 1 {
            for p in first + 1..last {
                self.dirty[p] = 1;
            }
        }
    }

    fn is_dirty(&self, p: usize) -> bool {
        self.dirty[p] != 0
    }

    /// Writes bytes, bounds-checked. Returns `false` when out of bounds (nothing written).
    pub(crate) fn write(&mut self, addr: u64, bytes: &[u8]) -> bool {
        let Some(r) = crate::wasm::range(&self.data, addr, bytes.len() as u64) else {
            return false;
        };
        if !bytes.is_empty() {
            self.mark_dirty(r.start, bytes.len());
            self.data[r].copy_from_slice(bytes);
        }
        true
    }

    /// Stores `N` bytes at `addr` (a Wasm store), bounds-checked. Returns `false` when out of
    /// bounds (nothing written).
    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, addr: u64, bytes: [u8; N]) -> bool {
        let Some(a) = crate::wasm::store(&mut self.data, addr, bytes) else {
            return false;
        };
        self.mark_dirty(a, N);
        true
    }

    /// Captures the current bytes, sharing unchanged pages with the previous image.
    pub(crate) fn snapshot(&mut self) -> Arc<MemImage> {
        let pages = self.data.len() / PAGE_SIZE;
        let mut chunks = Vec::with_capacity(pages.div_ceil(CHUNK_PAGES));
        for c in 0..pages.div_ceil(CHUNK_PAGES) {
            let range = c * CHUNK_PAGES..pages.min((c + 1) * CHUNK_PAGES);
            let base_chunk = self.base.chunks.get(c);
            let clean = range.clone().all(|p| !self.is_dirty(p));
            if let Some(bc) = base_chunk
                && clean
                && bc.pages.len() == range.len()
            {
                chunks.push(bc.clone());
                continue;
            }
            let mut new = Vec::with_capacity(range.len());
            for p in range {
                match self.base.page(p) {
                    Some(page) if !self.is_dirty(p) => new.push(page.clone()),
                    _ => {
                        let bytes = &self.data[p * PAGE_SIZE..(p + 1) * PAGE_SIZE];
                        if bytes.iter().all(|b| *b == 0) {
                            new.push(ZERO_PAGE.clone());
                        } else {
                            let mut page = Arc::new([0u8; PAGE_SIZE]);
                            Arc::get_mut(&mut page)
                                .expect("fresh")
                                .copy_from_slice(bytes);
                            new.push(page);
                        }
                    }
                }
            }
            chunks.push(Arc::new(Chunk { pages: new }));
        }
        let image = Arc::new(MemImage {
            len: self.data.len(),
            chunks,
        });
        self.base = image.clone();
        self.dirty.fill(0);
        image
    }

    /// Makes the memory equal to `image`, copying only pages that differ from what it holds.
    pub(crate) fn restore(&mut self, image: &Arc<MemImage>) {
        // The image was this memory's once, so its length fits (a guarded memory's reservation
        // holds any 32-bit length).
        assert!(
            self.data.resize(image.len),
            "restoring a snapshot: the host cannot provide {} bytes of memory",
            image.len
        );
        let pages = image.len / PAGE_SIZE;
        self.dirty.resize(pages + 1, 0);
        for (c, chunk) in image.chunks.iter().enumerate() {
            let range = c * CHUNK_PAGES..pages.min((c + 1) * CHUNK_PAGES);
            if let Some(bc) = self.base.chunks.get(c)
                && Arc::ptr_eq(bc, chunk)
                && range.clone().all(|p| !self.is_dirty(p))
            {
                continue;
            }
            for p in range {
                let target = &chunk.pages[p % CHUNK_PAGES];
                let same = matches!(self.base.page(p), Some(b) if Arc::ptr_eq(b, target));
                if !same || self.is_dirty(p) {
                    self.data[p * PAGE_SIZE..(p + 1) * PAGE_SIZE].copy_from_slice(&target[..]);
                }
            }
        }
        self.base = image.clone();
        self.dirty.fill(0);
    }
}

/// `Arc::make_mut` for chunks (which are not `Clone` themselves, to keep copies explicit).
trait MakeMutChunk {
    fn make_mut_chunk(this: &mut Arc<Chunk>) -> &mut Chunk;
}

impl MakeMutChunk for Arc<Chunk> {
    fn make_mut_chunk(this: &mut Arc<Chunk>) -> &mut Chunk {
        if Arc::get_mut(this).is_none() {
            *this = Arc::new(Chunk {
                pages: this.pages.clone(),
            });
        }
        Arc::get_mut(this).expect("unique after copy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(pages: u64) -> MemoryInstance {
        MemoryInstance::new(MemoryType {
            memory64: false,
            limits: Limits {
                min: pages,
                max: None,
            },
        })
    }

    #[test]
    fn snapshot_restore_round_trip_with_growth() {
        let mut m = mem(1);
        assert!(m.write(10, b"hello"));
        let s1 = m.snapshot();
        assert!(m.write(70_000 - 65536, b"x"));
        assert_eq!(m.grow(2, u64::MAX), Some(1));
        assert!(m.write(65536 * 2 + 5, b"grown"));
        let s2 = m.snapshot();
        m.restore(&s1);
        assert_eq!(m.pages(), 1);
        assert_eq!(&m.data[10..15], b"hello");
        assert_eq!(m.data[70_000 - 65536], 0);
        m.restore(&s2);
        assert_eq!(m.pages(), 3);
        assert_eq!(&m.data[65536 * 2 + 5..65536 * 2 + 10], b"grown");
        assert_eq!(m.data[70_000 - 65536], b'x');
        // Writes after a restore are undone by restoring again.
        assert!(m.write(10, b"HELLO"));
        m.restore(&s2);
        assert_eq!(&m.data[10..15], b"hello");
    }

    #[test]
    fn out_of_bounds_writes_change_nothing() {
        let mut m = mem(1);
        assert!(!m.write(65535, b"ab"));
        assert!(!m.write(u64::MAX, b"a"));
        assert!(m.data.iter().all(|b| *b == 0));
    }

    #[test]
    fn growth_respects_limits() {
        let mut m = MemoryInstance::new(MemoryType {
            memory64: false,
            limits: Limits {
                min: 1,
                max: Some(2),
            },
        });
        assert_eq!(m.grow(1, u64::MAX), Some(1));
        assert_eq!(m.grow(1, u64::MAX), None);
        assert_eq!(m.pages(), 2);
        let mut m = mem(0);
        assert_eq!(m.grow(3, 2), None);
    }
}
