//! Translations between the runtime's types and the trace format's.
//!
//! `deja-runtime` and `deja-traces` do not know each other; the recorder and the replayer meet
//! here, so that every conversion — values, signatures, the runtime configuration, and how a
//! run's result becomes a trace's [`RunOutcome`] — exists once, in both directions, and the
//! replayer does not depend on the recorder.
//!
//! ```
//! use deja_runtime::Val;
//! let v = Val::I32(-5);
//! assert_eq!(deja_convert::val(&deja_convert::value(&v)), Some(v));
//! ```

#![forbid(unsafe_code)]

use deja_runtime::{
    Config, Error, Func, FuncType, Pause, PauseReason, Resumable, TrapCode, Val, ValType,
};
use deja_traces::{ImportIndex, RunOutcome, Signature, Value};

/// A runtime value as stored in a trace.
pub fn value(v: &Val) -> Value {
    match *v {
        Val::I32(x) => Value::I32(x as u32),
        Val::I64(x) => Value::I64(x as u64),
        Val::F32(x) => Value::F32(x),
        Val::F64(x) => Value::F64(x),
        Val::FuncRef(f) => Value::FuncRef(f.map(|f| f.as_u32())),
        Val::ExternRef(e) => Value::ExternRef(e),
        Val::ExnRef(e) => Value::ExnRef(e.map(|e| e.as_u32())),
        Val::V128(x) => Value::V128(x),
    }
}

/// A value from a trace as the runtime's (every one it can hold today).
pub fn val(v: &Value) -> Option<Val> {
    Some(match *v {
        Value::I32(x) => Val::I32(x as i32),
        Value::I64(x) => Val::I64(x as i64),
        Value::F32(x) => Val::F32(x),
        Value::F64(x) => Val::F64(x),
        Value::FuncRef(f) => Val::FuncRef(f.map(Func::from_u32)),
        Value::ExternRef(e) => Val::ExternRef(e),
        Value::ExnRef(e) => Val::ExnRef(e.map(deja_runtime::Exn::from_u32)),
        Value::V128(x) => Val::V128(x),
    })
}

fn val_type(t: ValType) -> deja_traces::ValType {
    match t {
        ValType::I32 => deja_traces::ValType::I32,
        ValType::I64 => deja_traces::ValType::I64,
        ValType::F32 => deja_traces::ValType::F32,
        ValType::F64 => deja_traces::ValType::F64,
        ValType::FuncRef => deja_traces::ValType::FuncRef,
        ValType::ExternRef => deja_traces::ValType::ExternRef,
        ValType::ExnRef => deja_traces::ValType::ExnRef,
        ValType::V128 => deja_traces::ValType::V128,
    }
}

/// A function signature as stored in a trace's import table.
pub fn signature(ty: &FuncType) -> Signature {
    Signature {
        params: ty.params().iter().map(|t| val_type(*t)).collect(),
        results: ty.results().iter().map(|t| val_type(*t)).collect(),
    }
}

/// The runtime configuration as the JSON a trace header stores.
pub fn config_to_json(c: &Config) -> serde_json::Value {
    serde_json::json!({
        // What the runtime accepted when it recorded (a description; replay does not read it).
        "features": "wasm2 relaxed-simd extended-const tail-call function-references multi-memory memory64 exceptions",
        // The one lowering of relaxed SIMD every engine uses (`deja_runtime::simd`).
        "relaxed_simd": deja_runtime::simd::RELAXED_LOWERING,
        "nan_canonicalization": c.nan_canonicalization,
        "max_call_depth": c.max_call_depth,
        "max_memory_pages": c.max_memory_pages,
        "max_table_elements": c.max_table_elements,
    })
}

/// The runtime configuration a trace header describes; defaults for anything missing.
pub fn config_from_json(v: &serde_json::Value) -> Config {
    let d = Config::default();
    Config {
        nan_canonicalization: v["nan_canonicalization"]
            .as_bool()
            .unwrap_or(d.nan_canonicalization),
        max_call_depth: v["max_call_depth"]
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .unwrap_or(d.max_call_depth),
        max_memory_pages: v["max_memory_pages"].as_u64().unwrap_or(d.max_memory_pages),
        max_table_elements: v["max_table_elements"]
            .as_u64()
            .unwrap_or(d.max_table_elements),
        signals_based_traps: d.signals_based_traps,
    }
}

/// How a run's result is recorded: returned, exited, trapped, failed in a host function, or
/// stopped at its step budget. `import_index` maps a host function's `module::name` to its index
/// in the trace's import table. `None` for results that are not a run's end (any other pause,
/// or an error before the guest ran).
pub fn outcome(
    result: &Result<Resumable, Error>,
    import_index: impl Fn(&str) -> Option<ImportIndex>,
) -> Option<RunOutcome> {
    Some(match result {
        Ok(Resumable::Returned(_)) => RunOutcome::Returned,
        Ok(Resumable::Paused(Pause {
            reason: PauseReason::StepBudget,
            ..
        })) => RunOutcome::Interrupted,
        Ok(Resumable::Paused(_)) => return None,
        Err(Error::StartPaused(Pause {
            reason: PauseReason::StepBudget,
            ..
        })) => RunOutcome::Interrupted,
        Err(Error::Exit { code, .. }) => RunOutcome::Exit(*code as u32),
        Err(Error::Trap(t)) => RunOutcome::Trap {
            code: t.code.as_u8(),
            message: Some(match &t.exception {
                Some(e) => format!("{} {e}", t.code.message()),
                None => t.code.message().to_string(),
            }),
        },
        Err(Error::Host {
            import, message, ..
        }) => RunOutcome::HostError {
            import: import_index(import).unwrap_or(ImportIndex(u32::MAX)),
            message: message.clone(),
        },
        Err(_) => return None,
    })
}

/// A trap code's name for humans, from the byte a trace stores.
pub fn trap_message(code: u8) -> String {
    TrapCode::from_u8(code).map_or_else(|| format!("unknown trap code {code}"), |c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_config_round_trip() {
        for v in [
            Val::I32(-5),
            Val::I64(i64::MIN),
            Val::F32(0x7fc0_0001),
            Val::F64(1.5f64.to_bits()),
            Val::FuncRef(None),
            Val::FuncRef(Some(Func::from_u32(7))),
            Val::ExternRef(Some(3)),
        ] {
            assert_eq!(val(&value(&v)), Some(v));
        }
        let c = Config {
            nan_canonicalization: false,
            max_call_depth: 77,
            max_memory_pages: 10,
            max_table_elements: 99,
            // Not recorded: it changes nothing a run does.
            signals_based_traps: true,
        };
        assert_eq!(config_from_json(&config_to_json(&c)), c);
        assert_eq!(trap_message(0), "unreachable");
    }
}
