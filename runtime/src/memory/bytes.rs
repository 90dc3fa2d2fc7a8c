//! The bytes of a linear memory: a growable, zero-initialized byte buffer.
//!
//! On x86-64 Linux a 32-bit memory lives in a *reservation*: [`GUARDED_SIZE`] bytes of address
//! space mapped inaccessible, of which the memory's current length is readable and writable.
//! Any 32-bit address plus any 32-bit offset plus the widest access stays inside it, so JIT
//! code accesses such a memory without a bounds check: an access beyond the length faults, and
//! the JIT's signal handler turns the fault into the Wasm trap (`jit/signals.rs`). The base
//! never moves when the memory grows. Everywhere else (64-bit memories, other hosts, or when
//! the address space cannot be reserved) the bytes are a plain vector, and JIT code checks
//! bounds.

use std::ops::{Deref, DerefMut};

/// The address space reserved for a guarded memory: 4 GiB of addresses, 4 GiB of offsets,
/// and a last Wasm page for the widest access at the largest address and offset.
pub(crate) const GUARDED_SIZE: usize = (8 << 30) + 65536;

/// Whether 32-bit memories are guarded on this host.
pub(crate) const GUARDS: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));

pub(crate) struct Bytes {
    ptr: *mut u8,
    len: usize,
    backing: Backing,
}

enum Backing {
    Vec(Vec<u8>),
    /// A reservation of [`GUARDED_SIZE`] bytes at `ptr`.
    Guarded,
}

// SAFETY: `Bytes` owns its buffer exclusively, like a `Vec<u8>`.
unsafe impl Send for Bytes {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for Bytes {}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bytes")
            .field("len", &self.len)
            .field("guarded", &self.is_guarded())
            .finish()
    }
}

impl Bytes {
    /// `len` zero bytes, in a guarded reservation when `guard` is asked for and possible.
    pub(crate) fn zeroed(len: usize, guard: bool) -> Bytes {
        if guard
            && GUARDS
            && len <= GUARDED_SIZE
            && let Some(b) = Self::reserve(len)
        {
            return b;
        }
        Self::from_vec(vec![0; len])
    }

    fn from_vec(mut v: Vec<u8>) -> Bytes {
        Bytes {
            ptr: v.as_mut_ptr(),
            len: v.len(),
            backing: Backing::Vec(v),
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn reserve(len: usize) -> Option<Bytes> {
        // SAFETY: a fresh anonymous mapping, owned by the result (unmapped in `drop`).
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                GUARDED_SIZE,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return None;
            }
            let b = Bytes {
                ptr: p.cast(),
                len: 0,
                backing: Backing::Guarded,
            };
            let mut b = b;
            if !b.protect(0, len, true) {
                return None;
            }
            b.len = len;
            Some(b)
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn reserve(_len: usize) -> Option<Bytes> {
        None
    }

    /// Makes `[from, to)` of the reservation accessible or not.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn protect(&mut self, from: usize, to: usize, accessible: bool) -> bool {
        if from >= to {
            return true;
        }
        let prot = if accessible {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_NONE
        };
        // SAFETY: the range lies in this reservation (lengths are multiples of 4 KiB pages).
        unsafe { libc::mprotect(self.ptr.add(from).cast(), to - from, prot) == 0 }
    }

    /// Zeroes `[from, to)` of the reservation by giving its pages back (they read as zero
    /// when touched again), falling back to writing zeros.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn discard(&mut self, from: usize, to: usize) {
        // SAFETY: the range lies in this reservation's accessible part, page-aligned (Wasm
        // pages are 64 KiB), and nothing borrows it (`&mut self`).
        let ok = unsafe {
            libc::madvise(self.ptr.add(from).cast(), to - from, libc::MADV_DONTNEED) == 0
        };
        if !ok {
            self[from..to].fill(0);
        }
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn discard(&mut self, from: usize, to: usize) {
        self[from..to].fill(0);
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    fn protect(&mut self, _from: usize, _to: usize, _accessible: bool) -> bool {
        false
    }

    /// Whether the bytes are a guarded reservation (see the module documentation).
    pub(crate) fn is_guarded(&self) -> bool {
        matches!(self.backing, Backing::Guarded)
    }

    /// Makes the length `new_len`: new bytes are zero. Returns `false`, changing nothing, when
    /// the host cannot provide the memory.
    pub(crate) fn resize(&mut self, new_len: usize) -> bool {
        match &mut self.backing {
            Backing::Vec(v) => {
                if new_len > v.len() && v.try_reserve_exact(new_len - v.len()).is_err() {
                    return false;
                }
                v.resize(new_len, 0);
                self.ptr = v.as_mut_ptr();
                self.len = v.len();
                true
            }
            Backing::Guarded => {
                if new_len > GUARDED_SIZE {
                    return false;
                }
                if new_len > self.len {
                    if !self.protect(self.len, new_len, true) {
                        return false;
                    }
                } else if new_len < self.len {
                    // The bytes cut off read as zero if the memory grows again.
                    self.discard(new_len, self.len);
                    // Left accessible, the cut-off bytes would be read and written by JIT
                    // code that relies on the fault: nothing sound can go on.
                    assert!(
                        self.protect(new_len, self.len, false),
                        "cannot make the end of a shrunk memory inaccessible: {}",
                        std::io::Error::last_os_error()
                    );
                }
                self.len = new_len;
                true
            }
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    #[inline(always)]
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` bytes (a vector's buffer or the accessible part of
        // the reservation), or dangling and aligned with `len` 0.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl DerefMut for Bytes {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if self.is_guarded() {
            // SAFETY: the reservation is this value's, and nothing refers to it any more.
            unsafe { libc::munmap(self.ptr.cast(), GUARDED_SIZE) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_shrinks_with_zeros() {
        for guard in [false, true] {
            let mut b = Bytes::zeroed(65536, guard);
            assert_eq!(b.is_guarded(), guard && GUARDS);
            assert!(b.iter().all(|x| *x == 0));
            b[65535] = 7;
            let base = b.as_ptr();
            assert!(b.resize(3 * 65536));
            if b.is_guarded() {
                assert_eq!(b.as_ptr(), base, "a guarded memory does not move");
            }
            assert_eq!(b[65535], 7);
            b[2 * 65536] = 9;
            assert!(b.resize(65536));
            assert!(b.resize(3 * 65536));
            assert_eq!(b[2 * 65536], 0, "bytes cut off come back zero");
            assert_eq!(b[65535], 7);
        }
    }

    #[test]
    fn a_guarded_memory_cannot_outgrow_its_reservation() {
        let mut b = Bytes::zeroed(0, true);
        if b.is_guarded() {
            assert!(!b.resize(GUARDED_SIZE + 1));
            assert_eq!(b.len(), 0);
        }
    }
}
