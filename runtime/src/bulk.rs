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

/// `table.init` from an element segment's items (empty once dropped).
pub(crate) fn table_init(
    t: &mut TableInstance,
    items: &[u64],
    dst: u64,
    src: u64,
    n: u64,
) -> Result<(), TrapCode> {
    if src + n > items.len() as u64 || dst + n > t.elements.len() as u64 {
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
    if s + n > tables[st].elements.len() as u64 || d + n > tables[dt].elements.len() as u64 {
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
    let max = t.ty.limits.max.unwrap_or(u64::from(u32::MAX)).min(limit);
    match old.checked_add(n) {
        Some(new) if new <= max => {
            t.elements.resize(new as usize, init);
            old
        }
        _ => u64::from(u32::MAX),
    }
}

/// `table.fill`.
pub(crate) fn table_fill(t: &mut TableInstance, i: u64, v: u64, n: u64) -> Result<(), TrapCode> {
    if i + n > t.elements.len() as u64 {
        return Err(TrapCode::TableOutOfBounds);
    }
    t.elements[i as usize..(i + n) as usize].fill(v);
    Ok(())
}
