//! The metadata header: what is known when recording starts.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::ValType;

/// Metadata written at the start of the trace, as JSON (serde) so that it stays readable and can
/// gain optional fields in later minor versions.
///
/// Things known only at the end of the run (outcome, total steps) are in the footer instead,
/// because the file is written front to back and never rewritten; the reader shows both.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// Version of the tool that recorded the trace, e.g. `deja 0.1.0`.
    pub tool_version: String,
    /// When recording started, in milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// Name of the recording machine.
    pub host: String,
    /// The embedded module's size and hash. Filled in by the writer from the module bytes it is
    /// given; whatever the caller puts here is replaced.
    pub module: ModuleInfo,
    /// The guest's arguments, `argv[0]` included.
    pub args: Vec<String>,
    /// The guest's environment, in order.
    pub env: Vec<(String, String)>,
    /// Preopened directories, by the name the guest sees.
    pub preopens: Vec<String>,
    /// The runtime configuration the run used (features, NaN canonicalization, limits), as the
    /// runtime serializes it. Kept opaque here because this crate must not depend on the runtime.
    pub runtime_config: serde_json::Value,
    /// The module's imported functions; [`crate::HostCall::import`] indexes this table.
    pub imports: Vec<Import>,
    /// The chaos the recording host applied to what the guest received (`deja record --chaos`),
    /// or `None`. Informational: the perturbed results are in the records like any others, so
    /// a replay needs nothing from here. Added in format 1.1; absent (`None`) in 1.0 files.
    #[serde(default)]
    pub chaos: Option<Chaos>,
}

impl Header {
    /// A header stamped with the current time and this machine's host name, everything else empty.
    pub fn new(tool_version: impl Into<String>) -> Self {
        let created_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Header {
            tool_version: tool_version.into(),
            created_unix_ms,
            host: local_host_name(),
            module: ModuleInfo::default(),
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            runtime_config: serde_json::Value::Null,
            imports: Vec::new(),
            chaos: None,
        }
    }
}

/// Which chaos a run was recorded under.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Chaos {
    /// The run's chaos seed: `deja record --chaos=SEED` picks the same strategies again.
    pub seed: u64,
    /// The names of the strategies active in the run, e.g. `short-read`.
    pub strategies: Vec<String>,
}

/// Best effort: the name is informational, so a machine that hides it records an empty string
/// rather than failing the recording. Read from procfs/the environment because std has no API and
/// this crate forbids the unsafe needed to call `gethostname`.
fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// Size and hash of the embedded module.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModuleInfo {
    /// Size in bytes, uncompressed.
    pub size: u64,
    /// SHA-256 of the module bytes, lowercase hex. SHA-256 because users compare it with
    /// `sha256sum app.wasm`.
    pub sha256: String,
}

/// One imported function.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Import {
    /// Module name, e.g. `wasi_snapshot_preview1`.
    pub module: String,
    /// Field name, e.g. `clock_time_get`.
    pub name: String,
    /// The function's type.
    pub signature: Signature,
}

/// A function type.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}
