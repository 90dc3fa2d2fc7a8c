//! The WASI context: arguments, environment, stdio and the descriptor table.

use super::chaos::{Chaos, ChaosConfig};
use super::errno::Errno;
use super::rights;
use crate::error::{Error, Result};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, File};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Where the guest's standard input comes from.
#[derive(Clone, Debug)]
pub enum StdinSource {
    /// The host process's stdin.
    Inherit,
    /// These bytes, then end of file.
    Bytes(Arc<[u8]>),
    /// Immediately end of file.
    Null,
}

/// Where the guest's standard output or error goes.
#[derive(Clone, Debug)]
pub enum OutputSink {
    /// The host process's stream.
    Inherit,
    /// Appended to this buffer (for tests and for replay).
    Buffer(Arc<Mutex<Vec<u8>>>),
    /// Discarded.
    Null,
}

impl OutputSink {
    /// A new in-memory buffer sink and the handle to read it.
    pub fn buffer() -> (OutputSink, Arc<Mutex<Vec<u8>>>) {
        let b = Arc::new(Mutex::new(Vec::new()));
        (OutputSink::Buffer(b.clone()), b)
    }

    pub(super) fn write(&self, bytes: &[u8], stderr: bool) -> std::io::Result<()> {
        match self {
            OutputSink::Inherit if stderr => {
                let mut e = std::io::stderr().lock();
                e.write_all(bytes)?;
                e.flush()
            }
            OutputSink::Inherit => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes)?;
                o.flush()
            }
            OutputSink::Buffer(b) => {
                b.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(bytes);
                Ok(())
            }
            OutputSink::Null => Ok(()),
        }
    }
}

/// A directory made visible to the guest.
#[derive(Clone, Debug)]
pub struct Preopen {
    /// Host path.
    pub host: PathBuf,
    /// The name the guest sees (`fd_prestat_dir_name`).
    pub guest: String,
    /// Whether the guest may only read.
    pub read_only: bool,
}

impl Preopen {
    /// Parses `HOST[::GUEST]` (GUEST defaults to HOST), as `--dir` takes it.
    pub fn parse(spec: &str) -> Preopen {
        let (host, guest) = match spec.split_once("::") {
            Some((h, g)) => (h, g),
            None => (spec, spec),
        };
        Preopen {
            host: PathBuf::from(host),
            guest: guest.to_string(),
            read_only: false,
        }
    }
}

pub(super) enum Kind {
    Stdin,
    Stdout,
    Stderr,
    File {
        file: File,
    },
    Dir {
        dir: Dir,
        /// The guest name if this is a preopened directory.
        preopen: Option<String>,
    },
}

pub(super) struct Desc {
    pub kind: Kind,
    pub base: u64,
    pub inheriting: u64,
    /// `fdflags` as the guest set them.
    pub flags: u16,
}

/// Builds a [`WasiCtx`].
#[derive(Clone, Debug)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    preopens: Vec<Preopen>,
    stdin: StdinSource,
    stdout: OutputSink,
    stderr: OutputSink,
    chaos: Option<ChaosConfig>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            stdin: StdinSource::Inherit,
            stdout: OutputSink::Inherit,
            stderr: OutputSink::Inherit,
            chaos: None,
            cancel: None,
        }
    }
}

impl WasiCtxBuilder {
    /// A builder with no arguments, no environment, no directories and inherited stdio.
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// The guest's `argv`, program name first.
    pub fn args(&mut self, args: impl IntoIterator<Item = impl Into<String>>) -> &mut Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Adds a preopened directory.
    pub fn preopen(&mut self, preopen: Preopen) -> &mut Self {
        self.preopens.push(preopen);
        self
    }

    /// Standard input.
    pub fn stdin(&mut self, stdin: StdinSource) -> &mut Self {
        self.stdin = stdin;
        self
    }

    /// Standard output.
    pub fn stdout(&mut self, sink: OutputSink) -> &mut Self {
        self.stdout = sink;
        self
    }

    /// Standard error.
    pub fn stderr(&mut self, sink: OutputSink) -> &mut Self {
        self.stderr = sink;
        self
    }

    /// Perturbs the results the guest receives, within the WASI contract (see
    /// [`chaos`](super::chaos)).
    pub fn chaos(&mut self, config: ChaosConfig) -> &mut Self {
        self.chaos = Some(config);
        self
    }

    /// Once `flag` is set, every WASI call fails with a host error instead of running, which
    /// ends the run: how a hunt stops the attempts still running after one failed. A guest
    /// that makes no more WASI calls runs on to its end or its step budget.
    pub fn cancel_flag(&mut self, flag: Arc<AtomicBool>) -> &mut Self {
        self.cancel = Some(flag);
        self
    }

    /// Opens the preopened directories and builds the context.
    ///
    /// # Errors
    /// [`Error::Io`] if a directory cannot be opened.
    pub fn build(&self) -> Result<WasiCtx> {
        let mut fds = BTreeMap::new();
        let stdio_rights = rights::FD_READ
            | rights::FD_WRITE
            | rights::FD_FDSTAT_SET_FLAGS
            | rights::FD_FILESTAT_GET
            | rights::POLL_FD_READWRITE;
        for (fd, kind) in [(0, Kind::Stdin), (1, Kind::Stdout), (2, Kind::Stderr)] {
            fds.insert(
                fd,
                Desc {
                    kind,
                    base: stdio_rights,
                    inheriting: 0,
                    flags: 0,
                },
            );
        }
        for (i, p) in self.preopens.iter().enumerate() {
            let dir = Dir::open_ambient_dir(&p.host, ambient_authority()).map_err(|source| {
                Error::Io {
                    path: p.host.clone(),
                    source,
                }
            })?;
            let (base, inheriting) = if p.read_only {
                (
                    rights::DIR_READ_ONLY,
                    rights::DIR_READ_ONLY | rights::FILE_READ_ONLY,
                )
            } else {
                (rights::DIR, rights::DIR | rights::FILE)
            };
            fds.insert(
                3 + i as u32,
                Desc {
                    kind: Kind::Dir {
                        dir,
                        preopen: Some(p.guest.clone()),
                    },
                    base,
                    inheriting,
                    flags: 0,
                },
            );
        }
        Ok(WasiCtx {
            args: self.args.clone(),
            env: self.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            fds,
            stdin: self.stdin.clone(),
            stdin_pos: 0,
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            chaos: self.chaos.map(Chaos::new),
            cancel: self.cancel.clone(),
        })
    }
}

/// The state of a WASI guest: arguments, environment, open descriptors and stdio.
pub struct WasiCtx {
    pub(super) args: Vec<String>,
    pub(super) env: Vec<String>,
    pub(super) fds: BTreeMap<u32, Desc>,
    pub(super) stdin: StdinSource,
    pub(super) stdin_pos: usize,
    pub(super) stdout: OutputSink,
    pub(super) stderr: OutputSink,
    /// The run's chaos, if any: every perturbation decision goes through it.
    pub(super) chaos: Option<Chaos>,
    pub(super) cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args)
            .field("env", &self.env)
            .field("fds", &self.fds.keys().collect::<Vec<_>>())
            .field("chaos", &self.chaos_config())
            .finish()
    }
}

impl WasiCtx {
    /// The chaos this context applies, if any.
    pub fn chaos_config(&self) -> Option<ChaosConfig> {
        self.chaos.as_ref().map(Chaos::config)
    }

    pub(super) fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    pub(super) fn desc(&mut self, fd: u32) -> Result<&mut Desc, Errno> {
        self.fds.get_mut(&fd).ok_or(Errno::BADF)
    }

    /// A descriptor with the given rights.
    pub(super) fn with_rights(&mut self, fd: u32, needed: u64) -> Result<&mut Desc, Errno> {
        let d = self.desc(fd)?;
        if d.base & needed != needed {
            return Err(Errno::NOTCAPABLE);
        }
        Ok(d)
    }

    pub(super) fn file(&mut self, fd: u32, needed: u64) -> Result<&mut File, Errno> {
        let d = self.desc(fd)?;
        if !matches!(d.kind, Kind::File { .. }) {
            return Err(Errno::BADF);
        }
        if d.base & needed != needed {
            return Err(Errno::NOTCAPABLE);
        }
        match &mut d.kind {
            Kind::File { file } => Ok(file),
            _ => unreachable!("checked above"),
        }
    }

    pub(super) fn dir(&mut self, fd: u32, needed: u64) -> Result<&Dir, Errno> {
        let d = self.desc(fd)?;
        if !matches!(d.kind, Kind::Dir { .. }) {
            return Err(Errno::NOTDIR);
        }
        if d.base & needed != needed {
            return Err(Errno::NOTCAPABLE);
        }
        match &d.kind {
            Kind::Dir { dir, .. } => Ok(dir),
            _ => unreachable!("checked above"),
        }
    }

    pub(super) fn insert(&mut self, desc: Desc) -> Result<u32, Errno> {
        // Lowest free descriptor number, as POSIX does.
        let mut fd = 0;
        for used in self.fds.keys() {
            if *used != fd {
                break;
            }
            fd += 1;
        }
        if fd == u32::MAX {
            return Err(Errno::MFILE);
        }
        self.fds.insert(fd, desc);
        Ok(fd)
    }
}
