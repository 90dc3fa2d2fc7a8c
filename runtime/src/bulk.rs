//! Bulk memory and table operations: one definition for every engine (the interpreter executes
//! them inline, the JIT through libcalls). Each checks its bounds first and changes nothing when
//! it traps, as the specification has it.

use crate::memory::MemoryInstance;
use crate::store::TableInstance;
use crate::trap::TrapCode;
use crate::wasm;

/// `memory.copy`.
pub(crate) fn memory_copy(
    m: &mut MemoryInstance,
    dst: u64,
    src: u64,
    n: u64,
) -> Result<(), TrapCode> {
    let (Some(from), Some(to)) = (wasm::range(&m.data, src, n), wasm::range(&m.data, dst, n))
    else {
        return Err(TrapCode::MemoryOutOfBounds);
    };
    if n > 0 {
        m.mark_dirty(to.start, to.len());
        m.data.copy_within(from, to.start);
    }
    Ok(())
}

/// `memory.fill`.
pub(crate) fn memory_fill(
    m: &mut MemoryInstance,
    dst: u64,
    value: u8,
    n: u64,
) -> Result<(), TrapCode> {
    let Some(to) = wasm::range(&m.data, dst, n) else {
        return Err(TrapCode::MemoryOutOfBounds);
    };
    if n > 0 {
        m.mark_dirty(to.start, to.len());
        m.data[to].fill(value);
    }
    Ok(())
}

/// `memory.init` from a data segment's bytes (empty once dropped).
pub(crate) fn memory_init(
    m: &mut MemoryInstance,
    bytes: &[u8],
    dst: u64,
    src: u64,
    n: u64,
) -> Result<(), TrapCode> {
    let (Some(from), Some(to)) = (wasm::range(bytes, src, n), wasm::range(&m.data, dst, n)) else {
        return Err(TrapCode::MemoryOutOfBounds);
    };
    if n > 0 {
        m.mark_dirty(to.start, to.len());
        m.data[to].copy_from_slice(&bytes[from]);
    }
    Ok(())
}

/// Whether `n` elements from `start` lie within `len` (64-bit tables make the sum overflow).
fn fits(start: u64, n: u64, len: usize) -> bool {
    start.checked_add(n).is_some_and(|end| end <= len as u64)
}

/// `table.init` from an element segment's items (empty once dropped).
pub(crate) fn table_init(
    t: &mut TableInstance,
    items: &[u64],
    dst: u64,
    src: u64,
    n: u64,
) -> Result<(), TrapCode> {
    if !fits(src, n, items.len()) || !fits(dst, n, t.elements.len()) {
        return Err(TrapCode::TableOutOfBounds);
    }
    t.elements[dst as usize..(dst + n) as usize]
        .copy_from_slice(&items[src as usize..(src + n) as usize]);
    Ok(())
}

/// `table.copy` between two tables of a store (possibly the same one).
pub(crate) fn table_copy(
    tables: &mut cranelift_entity::PrimaryMap<crate::store::Table, TableInstance>,
    dt: crate::store::Table,
    st: crate::store::Table,
    d: u64,
    s: u64,
    n: u64,
) -> Result<(), TrapCode> {
    if !fits(s, n, tables[st].elements.len()) || !fits(d, n, tables[dt].elements.len()) {
        return Err(TrapCode::TableOutOfBounds);
    }
    let (s, d, n) = (s as usize, d as usize, n as usize);
    if dt == st {
        tables[dt].elements.copy_within(s..s + n, d);
    } else if n > 0 {
        let tmp: Vec<u64> = tables[st].elements[s..s + n].to_vec();
        tables[dt].elements[d..d + n].copy_from_slice(&tmp);
    }
    Ok(())
}

/// `table.grow`: the old size, or -1 (as `u32::MAX`) beyond the maximum or `limit`.
pub(crate) fn table_grow(t: &mut TableInstance, n: u64, init: u64, limit: u64) -> u64 {
    let old = t.elements.len() as u64;
    let (cap, failed) = if t.ty.table64 {
        (u64::MAX, u64::MAX)
    } else {
        (u64::from(u32::MAX), u64::from(u32::MAX))
    };
    let n = index(t, n);
    let max = t.ty.limits.max.unwrap_or(cap).min(cap).min(limit);
    match old.checked_add(n) {
        Some(new) if new <= max => {
            t.elements.resize(new as usize, init);
            old
        }
        _ => failed,
    }
}

/// An index or count operand of table `t`: 64 bits for a 64-bit table, the low 32 for the
/// others.
#[inline]
pub(crate) fn index(t: &TableInstance, cell: u64) -> u64 {
    if t.ty.table64 {
        cell
    } else {
        u64::from(cell as u32)
    }
}

/// `table.fill`.
pub(crate) fn table_fill(t: &mut TableInstance, i: u64, v: u64, n: u64) -> Result<(), TrapCode> {
    if !fits(i, n, t.elements.len()) {
        return Err(TrapCode::TableOutOfBounds);
    }
    t.elements[i as usize..(i + n) as usize].fill(v);
    Ok(())
}

/// An address operand of memory `m` as a byte address: 64 bits for a 64-bit memory, the low
/// 32 for the others.
#[inline]
pub(crate) fn address(m: &MemoryInstance, cell: u64) -> u64 {
    if m.ty.memory64 {
        cell
    } else {
        u64::from(cell as u32)
    }
}

/// The general path's load (any memory, 64-bit addresses, any offset), on every engine.
pub(crate) fn load(
    m: &MemoryInstance,
    base: u64,
    offset: u64,
    kind: crate::code::LoadKind,
) -> Result<u64, TrapCode> {
    address(m, base)
        .checked_add(offset)
        .and_then(|a| crate::interp::fused_load(&m.data, a, kind))
        .ok_or(TrapCode::MemoryOutOfBounds)
}

/// The general path's store, as [`load`].
pub(crate) fn store(
    m: &mut MemoryInstance,
    base: u64,
    offset: u64,
    width: crate::code::StoreWidth,
    value: u64,
) -> Result<(), TrapCode> {
    let a = address(m, base)
        .checked_add(offset)
        .ok_or(TrapCode::MemoryOutOfBounds)?;
    if crate::interp::fused_store(m, a, width, value) {
        Ok(())
    } else {
        Err(TrapCode::MemoryOutOfBounds)
    }
}

/// `memory.grow` of any memory: the old size in pages, or -1 (in the address type's width).
pub(crate) fn memory_grow(m: &mut MemoryInstance, delta: u64, limit: u64) -> u64 {
    let failed = if m.ty.memory64 {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    m.grow(address(m, delta), limit).unwrap_or(failed)
}

/// `memory.copy` between any two memories (or within one). `n` is 64-bit only when both
/// memories are.
pub(crate) fn memory_copy_x(
    memories: &mut cranelift_entity::PrimaryMap<crate::store::Memory, MemoryInstance>,
    dst_mem: crate::store::Memory,
    src_mem: crate::store::Memory,
    dst: u64,
    src: u64,
    n: u64,
) -> Result<(), TrapCode> {
    let (d64, s64) = (memories[dst_mem].ty.memory64, memories[src_mem].ty.memory64);
    let n = if d64 && s64 { n } else { u64::from(n as u32) };
    let dst = address(&memories[dst_mem], dst);
    let src = address(&memories[src_mem], src);
    if dst_mem == src_mem {
        return memory_copy(&mut memories[dst_mem], dst, src, n);
    }
    let Some(from) = wasm::range(&memories[src_mem].data, src, n) else {
        return Err(TrapCode::MemoryOutOfBounds);
    };
    let Some(to) = wasm::range(&memories[dst_mem].data, dst, n) else {
        return Err(TrapCode::MemoryOutOfBounds);
    };
    if n > 0 {
        let bytes = memories[src_mem].data[from].to_vec();
        let m = &mut memories[dst_mem];
        m.mark_dirty(to.start, to.len());
        m.data[to].copy_from_slice(&bytes);
    }
    Ok(())
}

/// A SIMD load of `len` bytes (at most 16) at `base + offset` of any memory, in the low end
/// of the result.
pub(crate) fn load_bytes(
    m: &MemoryInstance,
    base: u64,
    offset: u64,
    len: u64,
) -> Result<u128, TrapCode> {
    let r = address(m, base)
        .checked_add(offset)
        .and_then(|a| crate::wasm::range(&m.data, a, len))
        .ok_or(TrapCode::MemoryOutOfBounds)?;
    let mut b = [0u8; 16];
    b[..r.len()].copy_from_slice(&m.data[r]);
    Ok(u128::from_le_bytes(b))
}

/// A SIMD store of the low `len` bytes of `value` at `base + offset` of any memory.
pub(crate) fn store_bytes(
    m: &mut MemoryInstance,
    base: u64,
    offset: u64,
    len: u64,
    value: u128,
) -> Result<(), TrapCode> {
    let a = address(m, base)
        .checked_add(offset)
        .ok_or(TrapCode::MemoryOutOfBounds)?;
    if m.write(a, &value.to_le_bytes()[..len as usize]) {
        Ok(())
    } else {
        Err(TrapCode::MemoryOutOfBounds)
    }
}
