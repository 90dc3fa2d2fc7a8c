//! A replay session's frame as the DWARF reader sees it.

use crate::{Frame, WasmValue};
use deja_replayer::Session;
use deja_replayer::runtime::Val;
use std::io::{Read, Seek};

/// Frame `index` (0 innermost) of a session at its current position.
pub struct SessionFrame<'a, R: Read + Seek + Send + 'static> {
    session: &'a Session<R>,
    index: usize,
    pc: u32,
}

impl<'a, R: Read + Seek + Send + 'static> SessionFrame<'a, R> {
    /// Frame `index`, if the call stack has it.
    pub fn new(session: &'a Session<R>, index: usize) -> Option<Self> {
        let mut c = session.store().debug_frames();
        for _ in 0..index {
            c.move_to_parent();
        }
        let (_, pc) = c.wasm_function_index_and_pc()?;
        Some(SessionFrame { session, index, pc })
    }

    fn with_cursor<T>(
        &self,
        f: impl FnOnce(&deja_replayer::runtime::FrameCursor<'_, ()>) -> T,
    ) -> T {
        let mut c = self.session.store().debug_frames();
        for _ in 0..self.index {
            c.move_to_parent();
        }
        f(&c)
    }
}

fn wasm(v: Val) -> Option<WasmValue> {
    Some(match v {
        Val::I32(x) => WasmValue::I32(x as u32),
        Val::I64(x) => WasmValue::I64(x as u64),
        Val::F32(x) => WasmValue::F32(x),
        Val::F64(x) => WasmValue::F64(x),
        // DWARF expressions compute on scalars: a `v128` local or operand is not a location
        // they can name.
        Val::V128(_) | Val::FuncRef(_) | Val::ExternRef(_) | Val::ExnRef(_) => return None,
    })
}

impl<R: Read + Seek + Send + 'static> Frame for SessionFrame<'_, R> {
    fn pc(&self) -> u32 {
        self.pc
    }

    fn local(&self, index: u32) -> Option<WasmValue> {
        self.with_cursor(|c| (index < c.num_locals()).then(|| c.local(index)))
            .and_then(wasm)
    }

    fn global(&self, index: u32) -> Option<WasmValue> {
        self.session
            .globals()
            .get(index as usize)
            .copied()
            .and_then(wasm)
    }

    fn stack(&self, index: u32) -> Option<WasmValue> {
        self.with_cursor(|c| (index < c.num_stacks()).then(|| c.stack(index)))
            .and_then(wasm)
    }

    fn memory(&self, addr: u64, len: u64) -> Option<Vec<u8>> {
        self.session.read_memory(addr, len).map(<[u8]>::to_vec)
    }
}
