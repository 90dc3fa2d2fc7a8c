//! The `wasi_snapshot_preview1` functions.
//!
//! Each function reads its inputs from guest memory, works on the [`WasiCtx`], and writes its
//! outputs back only through [`Caller::write`], so that every effect on the guest is visible to
//! the host-call seam (a recorder logs it, a replayer substitutes it). Pointers out of bounds
//! give `EFAULT`; a missing descriptor `EBADF`; a descriptor of the wrong kind `EBADF` (or
//! `ENOTDIR` where a directory is expected); missing rights `ENOTCAPABLE`.

use super::ctx::{Desc, Kind, StdinSource, WasiCtx};
use super::errno::Errno;
use super::rights;
use crate::host::{Caller, HostError};
use crate::instance::Linker;
use crate::types::{FuncType, Val, ValType};
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt,
};
use cap_std::fs::{Dir, Metadata, MetadataExt, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::UNIX_EPOCH;

/// How host functions find the WASI context in the store's data.
pub type GetCtx<T> = fn(&mut T) -> &mut WasiCtx;

type R<T = ()> = Result<T, Errno>;

const FILETYPE_UNKNOWN: u8 = 0;
const FILETYPE_BLOCK_DEVICE: u8 = 1;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SOCKET_STREAM: u8 = 6;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;

const FDFLAGS_APPEND: u16 = 1;
const FDFLAGS_DSYNC: u16 = 2;
const FDFLAGS_NONBLOCK: u16 = 4;
const FDFLAGS_RSYNC: u16 = 8;
const FDFLAGS_SYNC: u16 = 16;

const OFLAGS_CREAT: u16 = 1;
const OFLAGS_DIRECTORY: u16 = 2;
const OFLAGS_EXCL: u16 = 4;
const OFLAGS_TRUNC: u16 = 8;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

const FSTFLAGS_ATIM: u16 = 1;
const FSTFLAGS_ATIM_NOW: u16 = 2;
const FSTFLAGS_MTIM: u16 = 4;
const FSTFLAGS_MTIM_NOW: u16 = 8;

/// Access to guest memory and the context for one call.
struct Cx<'a, 'b, T> {
    caller: &'a mut Caller<'b, T>,
    get: GetCtx<T>,
}

impl<T> Cx<'_, '_, T> {
    fn ctx(&mut self) -> &mut WasiCtx {
        (self.get)(self.caller.data_mut())
    }
    fn read(&self, addr: u32, len: u32) -> R<Vec<u8>> {
        self.caller
            .read(u64::from(addr), u64::from(len))
            .map(<[u8]>::to_vec)
            .map_err(|_| Errno::FAULT)
    }
    fn write(&mut self, addr: u32, bytes: &[u8]) -> R {
        self.caller
            .write(u64::from(addr), bytes)
            .map_err(|_| Errno::FAULT)
    }
    fn write_u32(&mut self, addr: u32, v: u32) -> R {
        self.write(addr, &v.to_le_bytes())
    }
    fn write_u64(&mut self, addr: u32, v: u64) -> R {
        self.write(addr, &v.to_le_bytes())
    }
    /// Reads a path argument: UTF-8 without NUL bytes.
    fn path(&self, addr: u32, len: u32) -> R<String> {
        let bytes = self.read(addr, len)?;
        if bytes.contains(&0) {
            return Err(Errno::ILSEQ);
        }
        String::from_utf8(bytes).map_err(|_| Errno::ILSEQ)
    }
    /// Fails with `EFAULT` unless `[addr, addr + len)` lies in guest memory: checked before the
    /// host allocates anything of a guest-given size.
    fn check(&self, addr: u32, len: u32) -> R {
        if u64::from(addr) + u64::from(len) > self.caller.memory_size() {
            return Err(Errno::FAULT);
        }
        Ok(())
    }
    /// The (address, length) pairs of an iovec array, each checked to lie in guest memory.
    fn iovecs(&self, addr: u32, count: u32) -> R<Vec<(u32, u32)>> {
        let bytes = self.read(addr, count.checked_mul(8).ok_or(Errno::FAULT)?)?;
        let iovs: Vec<(u32, u32)> = bytes
            .chunks_exact(8)
            .map(|c| {
                (
                    u32::from_le_bytes(c[0..4].try_into().expect("4")),
                    u32::from_le_bytes(c[4..8].try_into().expect("4")),
                )
            })
            .collect();
        for &(buf, len) in &iovs {
            self.check(buf, len)?;
        }
        Ok(iovs)
    }
    /// How many bytes one read or write over `iovs` moves at most: their total, but never
    /// more than guest memory holds. The iovecs may overlap (a thousand of them over the same
    /// gigabyte), so their sum alone does not bound what the host would allocate; POSIX lets a
    /// transfer be short, and the guest sees how much moved.
    fn transfer_limit(&self, iovs: &[(u32, u32)]) -> usize {
        let total: u64 = iovs.iter().map(|(_, l)| u64::from(*l)).sum();
        total.min(self.caller.memory_size()) as usize
    }
    /// The concatenated bytes of a ciovec array, up to [`Cx::transfer_limit`].
    fn gather(&self, addr: u32, count: u32) -> R<Vec<u8>> {
        let iovs = self.iovecs(addr, count)?;
        let limit = self.transfer_limit(&iovs);
        let mut out = Vec::with_capacity(limit);
        for (buf, len) in iovs {
            if out.len() == limit {
                break;
            }
            // An empty iovec (libc's stdio passes one when its buffer is empty) moves nothing
            // and is no reason to stop.
            let take = (len as usize).min(limit - out.len());
            out.extend(self.read(buf, take as u32)?);
        }
        Ok(out)
    }
    /// Scatters `data` over an iovec array; returns the bytes placed.
    fn scatter(&mut self, iovs: &[(u32, u32)], data: &[u8]) -> R<u32> {
        let mut done = 0usize;
        for &(buf, len) in iovs {
            if done == data.len() {
                break;
            }
            let n = (len as usize).min(data.len() - done);
            self.write(buf, &data[done..done + n])?;
            done += n;
        }
        Ok(done as u32)
    }
}

fn ns(t: std::io::Result<cap_std::time::SystemTime>) -> u64 {
    t.ok()
        .and_then(|t| t.into_std().duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

fn filetype(ft: cap_std::fs::FileType) -> u8 {
    use cap_fs_ext::FileTypeExt;
    if ft.is_dir() {
        FILETYPE_DIRECTORY
    } else if ft.is_file() {
        FILETYPE_REGULAR_FILE
    } else if ft.is_symlink() {
        FILETYPE_SYMBOLIC_LINK
    } else if ft.is_char_device() {
        FILETYPE_CHARACTER_DEVICE
    } else if ft.is_block_device() {
        FILETYPE_BLOCK_DEVICE
    } else if ft.is_socket() {
        FILETYPE_SOCKET_STREAM
    } else {
        FILETYPE_UNKNOWN
    }
}

/// The 64-byte `filestat` structure.
fn filestat(m: &Metadata) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&m.dev().to_le_bytes());
    b[8..16].copy_from_slice(&m.ino().to_le_bytes());
    b[16] = filetype(m.file_type());
    b[24..32].copy_from_slice(&m.nlink().to_le_bytes());
    b[32..40].copy_from_slice(&m.len().to_le_bytes());
    b[40..48].copy_from_slice(&ns(m.accessed()).to_le_bytes());
    b[48..56].copy_from_slice(&ns(m.modified()).to_le_bytes());
    let ctim = (m.ctime() as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(m.ctime_nsec() as u64);
    b[56..64].copy_from_slice(&ctim.to_le_bytes());
    b
}

fn stdio_filestat() -> [u8; 64] {
    let mut b = [0u8; 64];
    b[16] = FILETYPE_CHARACTER_DEVICE;
    b
}

fn time_spec(flags: u16, time: u64, set: u16, now: u16) -> R<Option<fs_set_times::SystemTimeSpec>> {
    if flags & set != 0 && flags & now != 0 {
        return Err(Errno::INVAL);
    }
    Ok(if flags & now != 0 {
        Some(fs_set_times::SystemTimeSpec::SymbolicNow)
    } else if flags & set != 0 {
        Some(fs_set_times::SystemTimeSpec::Absolute(
            UNIX_EPOCH + std::time::Duration::from_nanos(time),
        ))
    } else {
        None
    })
}

fn times(
    atim: u64,
    mtim: u64,
    fst: u16,
) -> R<(
    Option<fs_set_times::SystemTimeSpec>,
    Option<fs_set_times::SystemTimeSpec>,
)> {
    if fst & !(FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW | FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW) != 0 {
        return Err(Errno::INVAL);
    }
    Ok((
        time_spec(fst, atim, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW)?,
        time_spec(fst, mtim, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW)?,
    ))
}

fn cap_times(t: Option<fs_set_times::SystemTimeSpec>) -> Option<cap_fs_ext::SystemTimeSpec> {
    t.map(|t| match t {
        fs_set_times::SystemTimeSpec::SymbolicNow => cap_fs_ext::SystemTimeSpec::SymbolicNow,
        fs_set_times::SystemTimeSpec::Absolute(t) => {
            cap_fs_ext::SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t))
        }
    })
}

/// Splits off a trailing slash: POSIX resolves `a/` as the directory `a`.
fn has_trailing_slash(path: &str) -> bool {
    path.len() > 1 && path.ends_with('/')
}

// ---- args, environment, clocks, random, process ----

fn strings_get<T>(cx: &mut Cx<'_, '_, T>, strings: Vec<String>, ptrs: u32, buf: u32) -> R {
    let mut offset = buf;
    for (i, s) in strings.iter().enumerate() {
        cx.write_u32(ptrs + 4 * i as u32, offset)?;
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        cx.write(offset, &bytes)?;
        offset += bytes.len() as u32;
    }
    Ok(())
}

fn strings_sizes<T>(cx: &mut Cx<'_, '_, T>, strings: &[String], count: u32, size: u32) -> R {
    cx.write_u32(count, strings.len() as u32)?;
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    cx.write_u32(size, total as u32)
}

fn clock(id: u32) -> R<rustix::time::ClockId> {
    use rustix::time::ClockId;
    Ok(match id {
        0 => ClockId::Realtime,
        1 => ClockId::Monotonic,
        2 => ClockId::ProcessCPUTime,
        3 => ClockId::ThreadCPUTime,
        _ => return Err(Errno::INVAL),
    })
}

fn timespec_ns(t: rustix::time::Timespec) -> u64 {
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

fn clock_res_get<T>(cx: &mut Cx<'_, '_, T>, id: u32, out: u32) -> R {
    let mut res = timespec_ns(rustix::time::clock_getres(clock(id)?)).max(1);
    if let Some(chaos) = &cx.ctx().chaos {
        res = chaos.resolution(res);
    }
    cx.write_u64(out, res)
}

fn clock_time_get<T>(cx: &mut Cx<'_, '_, T>, id: u32, out: u32) -> R {
    let mut now = timespec_ns(rustix::time::clock_gettime(clock(id)?));
    if let Some(chaos) = &mut cx.ctx().chaos {
        now = chaos.clock(id, now);
    }
    cx.write_u64(out, now)
}

fn random_get<T>(cx: &mut Cx<'_, '_, T>, buf: u32, len: u32) -> R {
    cx.check(buf, len)?;
    let mut bytes = vec![0u8; len as usize];
    getrandom::fill(&mut bytes).map_err(|_| Errno::IO)?;
    if let Some(chaos) = &mut cx.ctx().chaos {
        chaos.random(&mut bytes);
    }
    cx.write(buf, &bytes)
}

/// Chaos before a read or write on `fd`: `EINTR` on a read of stdin (a slow device, where
/// POSIX lets a blocking read be interrupted), `EAGAIN` on a descriptor the guest made
/// non-blocking. Either happens before anything is transferred.
///
/// Writes to stdout and stderr are never interrupted: POSIX would allow it, but libc's stdio
/// (musl's, so wasi-libc's) drops the buffer on `EINTR`, so every perturbed run would lose the
/// very diagnostics a hunt needs, and a bug of that kind is one no WASI host can trigger (WASI
/// has no signals).
fn chaos_refusal(ctx: &mut WasiCtx, fd: u32) -> R {
    let Ok(d) = ctx.desc(fd) else {
        return Ok(());
    };
    let stdin = matches!(d.kind, Kind::Stdin);
    let nonblocking = d.flags & FDFLAGS_NONBLOCK != 0;
    let Some(chaos) = &mut ctx.chaos else {
        return Ok(());
    };
    if stdin && chaos.interrupt() {
        return Err(Errno::INTR);
    }
    if nonblocking && chaos.would_block() {
        return Err(Errno::AGAIN);
    }
    Ok(())
}

/// How many of `n` bytes a read may transfer (all, without chaos).
fn read_limit(ctx: &mut WasiCtx, n: usize) -> usize {
    ctx.chaos.as_mut().map_or(n, |c| c.read_limit(n))
}

/// How many of `n` bytes a write may transfer (all, without chaos).
fn write_limit(ctx: &mut WasiCtx, n: usize) -> usize {
    ctx.chaos.as_mut().map_or(n, |c| c.write_limit(n))
}

// ---- descriptors ----

fn fd_close<T>(cx: &mut Cx<'_, '_, T>, fd: u32) -> R {
    cx.ctx().fds.remove(&fd).map(|_| ()).ok_or(Errno::BADF)
}

fn fd_renumber<T>(cx: &mut Cx<'_, '_, T>, from: u32, to: u32) -> R {
    let ctx = cx.ctx();
    if !ctx.fds.contains_key(&from) || !ctx.fds.contains_key(&to) {
        return Err(Errno::BADF);
    }
    if from == to {
        return Ok(());
    }
    let d = ctx.fds.remove(&from).expect("checked");
    ctx.fds.insert(to, d);
    Ok(())
}

fn fd_fdstat_get<T>(cx: &mut Cx<'_, '_, T>, fd: u32, out: u32) -> R {
    let d = cx.ctx().desc(fd)?;
    let ft = match &d.kind {
        Kind::Stdin | Kind::Stdout | Kind::Stderr => FILETYPE_CHARACTER_DEVICE,
        Kind::Dir { .. } => FILETYPE_DIRECTORY,
        Kind::File { file } => file
            .metadata()
            .map(|m| filetype(m.file_type()))
            .unwrap_or(FILETYPE_REGULAR_FILE),
    };
    let mut b = [0u8; 24];
    b[0] = ft;
    b[2..4].copy_from_slice(&d.flags.to_le_bytes());
    b[8..16].copy_from_slice(&d.base.to_le_bytes());
    b[16..24].copy_from_slice(&d.inheriting.to_le_bytes());
    cx.write(out, &b)
}

fn fd_fdstat_set_flags<T>(cx: &mut Cx<'_, '_, T>, fd: u32, flags: u16) -> R {
    let d = cx.ctx().with_rights(fd, rights::FD_FDSTAT_SET_FLAGS)?;
    if flags & (FDFLAGS_DSYNC | FDFLAGS_RSYNC | FDFLAGS_SYNC) != 0 {
        // Changing synchronization after open is not possible on Linux.
        return Err(Errno::NOTSUP);
    }
    if let Kind::File { file } = &d.kind {
        use rustix::fs::OFlags;
        let mut fl =
            rustix::fs::fcntl_getfl(file).map_err(|e| Errno::from(std::io::Error::from(e)))?;
        fl.set(OFlags::APPEND, flags & FDFLAGS_APPEND != 0);
        fl.set(OFlags::NONBLOCK, flags & FDFLAGS_NONBLOCK != 0);
        rustix::fs::fcntl_setfl(file, fl).map_err(|e| Errno::from(std::io::Error::from(e)))?;
    }
    d.flags = flags;
    Ok(())
}

fn fd_fdstat_set_rights<T>(cx: &mut Cx<'_, '_, T>, fd: u32, base: u64, inheriting: u64) -> R {
    let d = cx.ctx().desc(fd)?;
    if base & !d.base != 0 || inheriting & !d.inheriting != 0 {
        return Err(Errno::NOTCAPABLE);
    }
    d.base = base;
    d.inheriting = inheriting;
    Ok(())
}

fn fd_prestat_get<T>(cx: &mut Cx<'_, '_, T>, fd: u32, out: u32) -> R {
    let name_len = match &cx.ctx().desc(fd)?.kind {
        Kind::Dir {
            preopen: Some(name),
            ..
        } => name.len() as u32,
        _ => return Err(Errno::BADF),
    };
    let mut b = [0u8; 8];
    b[4..8].copy_from_slice(&name_len.to_le_bytes());
    cx.write(out, &b)
}

fn fd_prestat_dir_name<T>(cx: &mut Cx<'_, '_, T>, fd: u32, buf: u32, len: u32) -> R {
    let name = match &cx.ctx().desc(fd)?.kind {
        Kind::Dir {
            preopen: Some(name),
            ..
        } => name.clone(),
        _ => return Err(Errno::BADF),
    };
    if (len as usize) < name.len() {
        return Err(Errno::NAMETOOLONG);
    }
    cx.write(buf, name.as_bytes())
}

fn fd_filestat_get<T>(cx: &mut Cx<'_, '_, T>, fd: u32, out: u32) -> R {
    let d = cx.ctx().with_rights(fd, rights::FD_FILESTAT_GET)?;
    let stat = match &d.kind {
        Kind::Stdin | Kind::Stdout | Kind::Stderr => stdio_filestat(),
        Kind::File { file } => filestat(&file.metadata()?),
        Kind::Dir { dir, .. } => filestat(&dir.dir_metadata()?),
    };
    cx.write(out, &stat)
}

fn fd_filestat_set_size<T>(cx: &mut Cx<'_, '_, T>, fd: u32, size: u64) -> R {
    let file = cx.ctx().file(fd, rights::FD_FILESTAT_SET_SIZE)?;
    file.set_len(size)?;
    Ok(())
}

fn fd_filestat_set_times<T>(cx: &mut Cx<'_, '_, T>, fd: u32, atim: u64, mtim: u64, fst: u16) -> R {
    use fs_set_times::SetTimes;
    let (a, m) = times(atim, mtim, fst)?;
    let d = cx.ctx().with_rights(fd, rights::FD_FILESTAT_SET_TIMES)?;
    match &d.kind {
        Kind::File { file } => file.set_times(a, m)?,
        Kind::Dir { dir, .. } => {
            use std::os::fd::AsFd;
            let fd = dir.as_fd().try_clone_to_owned()?;
            fs_set_times::SetTimes::set_times(&std::fs::File::from(fd), a, m)?;
        }
        _ => return Err(Errno::BADF),
    }
    Ok(())
}

fn fd_advise<T>(cx: &mut Cx<'_, '_, T>, fd: u32, advice: u8) -> R {
    if advice > 5 {
        return Err(Errno::INVAL);
    }
    cx.ctx().file(fd, rights::FD_ADVISE)?;
    Ok(())
}

fn fd_allocate<T>(cx: &mut Cx<'_, '_, T>, fd: u32, offset: u64, len: u64) -> R {
    let file = cx.ctx().file(fd, rights::FD_ALLOCATE)?;
    let end = offset.checked_add(len).ok_or(Errno::FBIG)?;
    if len == 0 {
        return Err(Errno::INVAL);
    }
    if file.metadata()?.len() < end {
        file.set_len(end)?;
    }
    Ok(())
}

fn fd_sync<T>(cx: &mut Cx<'_, '_, T>, fd: u32, data_only: bool) -> R {
    let right = if data_only {
        rights::FD_DATASYNC
    } else {
        rights::FD_SYNC
    };
    let d = cx.ctx().with_rights(fd, right)?;
    let r = match &d.kind {
        Kind::File { file } if data_only => rustix::fs::fdatasync(file),
        Kind::File { file } => rustix::fs::fsync(file),
        Kind::Dir { dir, .. } => rustix::fs::fsync(dir),
        _ => return Err(Errno::INVAL),
    };
    r.map_err(|e| Errno::from(std::io::Error::from(e)))
}

fn fd_seek<T>(cx: &mut Cx<'_, '_, T>, fd: u32, offset: i64, whence: u8, out: u32) -> R {
    let needed = if offset == 0 && whence == 1 {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    let d = cx.ctx().desc(fd)?;
    match d.kind {
        Kind::Stdin | Kind::Stdout | Kind::Stderr => return Err(Errno::SPIPE),
        Kind::Dir { .. } => return Err(Errno::BADF),
        Kind::File { .. } => {}
    }
    let file = cx.ctx().file(fd, needed)?;
    let pos = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::INVAL)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(Errno::INVAL),
    };
    let new = file.seek(pos)?;
    cx.write_u64(out, new)
}

fn fd_tell<T>(cx: &mut Cx<'_, '_, T>, fd: u32, out: u32) -> R {
    let file = cx.ctx().file(fd, rights::FD_TELL)?;
    let pos = file.stream_position()?;
    cx.write_u64(out, pos)
}

fn read_stdin(ctx: &mut WasiCtx, max: usize) -> R<Vec<u8>> {
    let mut buf = vec![0u8; max];
    let n = match &ctx.stdin {
        StdinSource::Inherit => {
            // What the host's stdin holds is unknown until read, and cannot be put back:
            // chaos can only ask for less.
            let limit = read_limit(ctx, max);
            std::io::stdin().lock().read(&mut buf[..limit])?
        }
        StdinSource::Null => 0,
        StdinSource::Bytes(b) => {
            let rest = b.len() - ctx.stdin_pos.min(b.len());
            let n = read_limit(ctx, rest.min(max));
            let StdinSource::Bytes(b) = &ctx.stdin else {
                unreachable!("matched above")
            };
            let from = ctx.stdin_pos.min(b.len());
            buf[..n].copy_from_slice(&b[from..from + n]);
            ctx.stdin_pos += n;
            n
        }
    };
    buf.truncate(n);
    Ok(buf)
}

fn fd_read<T>(cx: &mut Cx<'_, '_, T>, fd: u32, iovs: u32, count: u32, out: u32) -> R {
    let iovs = cx.iovecs(iovs, count)?;
    let total = cx.transfer_limit(&iovs);
    let ctx = cx.ctx();
    chaos_refusal(ctx, fd)?;
    let data = match ctx.desc(fd)?.kind {
        Kind::Stdin => {
            ctx.with_rights(fd, rights::FD_READ)?;
            read_stdin(ctx, total)?
        }
        Kind::File { .. } => {
            let file = ctx.file(fd, rights::FD_READ)?;
            let mut buf = vec![0u8; total];
            let mut n = 0;
            // Fill as POSIX readv does: stop at end of file or a short read.
            while n < total {
                let r = file.read(&mut buf[n..])?;
                if r == 0 {
                    break;
                }
                n += r;
            }
            // A short read is short of what is there, not of what was asked, so that it
            // bites: the rest is put back for the next read.
            let keep = read_limit(ctx, n);
            if keep < n
                && ctx
                    .file(fd, rights::FD_READ)?
                    .seek(SeekFrom::Current(-((n - keep) as i64)))
                    .is_ok()
            {
                n = keep;
            }
            buf.truncate(n);
            buf
        }
        _ => return Err(Errno::BADF),
    };
    let n = cx.scatter(&iovs, &data)?;
    cx.write_u32(out, n)
}

fn fd_pread<T>(cx: &mut Cx<'_, '_, T>, fd: u32, iovs: u32, count: u32, offset: u64, out: u32) -> R {
    use cap_std::fs::FileExt;
    let iovs = cx.iovecs(iovs, count)?;
    let total = cx.transfer_limit(&iovs);
    let ctx = cx.ctx();
    if matches!(
        ctx.desc(fd)?.kind,
        Kind::Stdin | Kind::Stdout | Kind::Stderr
    ) {
        return Err(Errno::SPIPE);
    }
    let file = ctx.file(fd, rights::FD_READ | rights::FD_SEEK)?;
    let mut buf = vec![0u8; total];
    let mut n = 0;
    while n < total {
        let r = file.read_at(&mut buf[n..], offset + n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    buf.truncate(read_limit(ctx, n));
    let n = cx.scatter(&iovs, &buf)?;
    cx.write_u32(out, n)
}

fn fd_write<T>(cx: &mut Cx<'_, '_, T>, fd: u32, iovs: u32, count: u32, out: u32) -> R {
    let mut data = cx.gather(iovs, count)?;
    let ctx = cx.ctx();
    chaos_refusal(ctx, fd)?;
    data.truncate(write_limit(ctx, data.len()));
    match ctx.desc(fd)?.kind {
        Kind::Stdout => {
            ctx.with_rights(fd, rights::FD_WRITE)?;
            ctx.stdout.write(&data, false)?;
        }
        Kind::Stderr => {
            ctx.with_rights(fd, rights::FD_WRITE)?;
            ctx.stderr.write(&data, true)?;
        }
        Kind::File { .. } => {
            let file = ctx.file(fd, rights::FD_WRITE)?;
            file.write_all(&data)?;
        }
        _ => return Err(Errno::BADF),
    }
    cx.write_u32(out, data.len() as u32)
}

fn fd_pwrite<T>(
    cx: &mut Cx<'_, '_, T>,
    fd: u32,
    iovs: u32,
    count: u32,
    offset: u64,
    out: u32,
) -> R {
    use cap_std::fs::FileExt;
    let mut data = cx.gather(iovs, count)?;
    let ctx = cx.ctx();
    data.truncate(write_limit(ctx, data.len()));
    if matches!(
        ctx.desc(fd)?.kind,
        Kind::Stdin | Kind::Stdout | Kind::Stderr
    ) {
        return Err(Errno::SPIPE);
    }
    let file = ctx.file(fd, rights::FD_WRITE | rights::FD_SEEK)?;
    let mut n = 0;
    while n < data.len() {
        n += file.write_at(&data[n..], offset + n as u64)?;
    }
    cx.write_u32(out, n as u32)
}

fn fd_readdir<T>(cx: &mut Cx<'_, '_, T>, fd: u32, buf: u32, len: u32, cookie: u64, out: u32) -> R {
    use std::os::unix::fs::DirEntryExt;
    let ctx = cx.ctx();
    let chaos = ctx.chaos_config();
    let dir = ctx
        .dir(fd, rights::FD_READDIR)
        .map_err(|e| if e == Errno::NOTDIR { Errno::BADF } else { e })?;
    let self_ino = dir.dir_metadata()?.ino();
    let mut entries: Vec<(Vec<u8>, u64, u8)> = vec![
        (b".".to_vec(), self_ino, FILETYPE_DIRECTORY),
        (b"..".to_vec(), 0, FILETYPE_DIRECTORY),
    ];
    let mut rest = Vec::new();
    for e in dir.entries()? {
        let e = e?;
        let ft = e.file_type().map(filetype).unwrap_or(FILETYPE_UNKNOWN);
        rest.push((e.file_name().into_encoded_bytes(), e.ino(), ft));
    }
    // A stable order, so that cookies mean the same thing on every call.
    rest.sort();
    entries.extend(rest);
    if let Some(chaos) = &chaos {
        // Keyed by the directory, so that every call of the walk sees the same order.
        chaos.dir_order(self_ino, &mut entries);
    }
    let mut bytes = Vec::new();
    for (i, (name, ino, ft)) in entries.iter().enumerate().skip(cookie as usize) {
        let mut d = [0u8; 24];
        d[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        d[8..16].copy_from_slice(&ino.to_le_bytes());
        d[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        d[20] = *ft;
        bytes.extend_from_slice(&d);
        bytes.extend_from_slice(name);
        if bytes.len() >= len as usize {
            break;
        }
    }
    bytes.truncate(len as usize);
    cx.write(buf, &bytes)?;
    cx.write_u32(out, bytes.len() as u32)
}

// ---- paths ----

#[expect(clippy::too_many_arguments, reason = "the WASI signature")]
fn path_open<T>(
    cx: &mut Cx<'_, '_, T>,
    dirfd: u32,
    dirflags: u32,
    path: (u32, u32),
    oflags: u16,
    base: u64,
    inheriting: u64,
    fdflags: u16,
    out: u32,
) -> R {
    let path = cx.path(path.0, path.1)?;
    let mut needed = rights::PATH_OPEN;
    if oflags & OFLAGS_CREAT != 0 {
        needed |= rights::PATH_CREATE_FILE;
    }
    if oflags & OFLAGS_TRUNC != 0 {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let ctx = cx.ctx();
    let parent_inheriting = ctx.desc(dirfd)?.inheriting;
    let dir = ctx.dir(dirfd, needed)?;
    let follow = if dirflags & LOOKUP_SYMLINK_FOLLOW != 0 {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    };
    let want_write = base & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE)
        != 0
        || fdflags & FDFLAGS_APPEND != 0;
    if want_write && parent_inheriting & rights::FD_WRITE == 0 {
        return Err(Errno::NOTCAPABLE);
    }
    let kind = if oflags & OFLAGS_DIRECTORY != 0 {
        if oflags & (OFLAGS_CREAT | OFLAGS_TRUNC) != 0 {
            return Err(Errno::INVAL);
        }
        if want_write {
            return Err(Errno::ISDIR);
        }
        let d = match follow {
            FollowSymlinks::Yes => dir.open_dir(&path)?,
            FollowSymlinks::No => dir.open_dir_nofollow(&path)?,
        };
        Kind::Dir {
            dir: d,
            preopen: None,
        }
    } else {
        let want_read = base & (rights::FD_READ | rights::FD_READDIR) != 0 || !want_write;
        let mut opts = OpenOptions::new();
        opts.read(want_read).write(want_write);
        if fdflags & FDFLAGS_APPEND != 0 {
            opts.append(true);
        }
        if oflags & OFLAGS_CREAT != 0 {
            if oflags & OFLAGS_EXCL != 0 {
                opts.create_new(true);
            } else {
                opts.create(true);
            }
            if !want_write {
                // POSIX creates files opened read-only too.
                opts.write(true);
            }
        }
        // std-style options refuse truncate together with append (POSIX allows it):
        // truncate by hand after opening then.
        let truncate_after = oflags & OFLAGS_TRUNC != 0 && fdflags & FDFLAGS_APPEND != 0;
        if oflags & OFLAGS_TRUNC != 0 && !truncate_after {
            opts.truncate(true);
            opts.write(true);
        }
        opts.follow(follow);
        opts.maybe_dir(!want_write);
        if fdflags & FDFLAGS_NONBLOCK != 0 {
            opts.nonblock(true);
        }
        if fdflags & FDFLAGS_SYNC != 0 {
            opts.sync(true);
        }
        if fdflags & FDFLAGS_DSYNC != 0 {
            opts.dsync(true);
        }
        if fdflags & FDFLAGS_RSYNC != 0 {
            opts.rsync(true);
        }
        if has_trailing_slash(&path) && oflags & OFLAGS_CREAT != 0 {
            return Err(Errno::ISDIR);
        }
        let file = dir.open_with(&path, &opts)?;
        if truncate_after {
            file.set_len(0)?;
        }
        if file.metadata()?.is_dir() {
            if want_write {
                return Err(Errno::ISDIR);
            }
            Kind::Dir {
                dir: Dir::from_std_file(file.into_std()),
                preopen: None,
            }
        } else if has_trailing_slash(&path) {
            return Err(Errno::NOTDIR);
        } else {
            Kind::File { file }
        }
    };
    let type_rights = match kind {
        Kind::Dir { .. } => rights::DIR | rights::FILE,
        _ => rights::FILE,
    };
    let type_base = match kind {
        Kind::Dir { .. } => rights::DIR,
        _ => rights::FILE,
    };
    let desc = Desc {
        kind,
        base: base & parent_inheriting & type_base,
        inheriting: inheriting & parent_inheriting & type_rights,
        flags: fdflags
            & (FDFLAGS_APPEND | FDFLAGS_NONBLOCK | FDFLAGS_SYNC | FDFLAGS_DSYNC | FDFLAGS_RSYNC),
    };
    let fd = cx.ctx().insert(desc)?;
    cx.write_u32(out, fd)
}

fn path_filestat_get<T>(
    cx: &mut Cx<'_, '_, T>,
    fd: u32,
    flags: u32,
    path: (u32, u32),
    out: u32,
) -> R {
    let path = cx.path(path.0, path.1)?;
    let dir = cx.ctx().dir(fd, rights::PATH_FILESTAT_GET)?;
    let m = if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.metadata(&path)?
    } else {
        dir.symlink_metadata(&path)?
    };
    if has_trailing_slash(&path) && !m.is_dir() {
        return Err(Errno::NOTDIR);
    }
    cx.write(out, &filestat(&m))
}

fn path_filestat_set_times<T>(
    cx: &mut Cx<'_, '_, T>,
    fd: u32,
    flags: u32,
    path: (u32, u32),
    atim: u64,
    mtim: u64,
    fst: u16,
) -> R {
    let path = cx.path(path.0, path.1)?;
    let (a, m) = times(atim, mtim, fst)?;
    let dir = cx.ctx().dir(fd, rights::PATH_FILESTAT_SET_TIMES)?;
    if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.set_times(&path, cap_times(a), cap_times(m))?;
    } else {
        dir.set_symlink_times(&path, cap_times(a), cap_times(m))?;
    }
    Ok(())
}

fn path_create_directory<T>(cx: &mut Cx<'_, '_, T>, fd: u32, path: (u32, u32)) -> R {
    let path = cx.path(path.0, path.1)?;
    let dir = cx.ctx().dir(fd, rights::PATH_CREATE_DIRECTORY)?;
    dir.create_dir(&path)?;
    Ok(())
}

fn path_remove_directory<T>(cx: &mut Cx<'_, '_, T>, fd: u32, path: (u32, u32)) -> R {
    let path = cx.path(path.0, path.1)?;
    let dir = cx.ctx().dir(fd, rights::PATH_REMOVE_DIRECTORY)?;
    dir.remove_dir(&path)?;
    Ok(())
}

fn path_unlink_file<T>(cx: &mut Cx<'_, '_, T>, fd: u32, path: (u32, u32)) -> R {
    let path = cx.path(path.0, path.1)?;
    let dir = cx.ctx().dir(fd, rights::PATH_UNLINK_FILE)?;
    if has_trailing_slash(&path) {
        // `unlink("file/")` is ENOTDIR for a file and EISDIR for a directory.
        let m = dir.symlink_metadata(path.trim_end_matches('/'))?;
        return Err(if m.is_dir() {
            Errno::ISDIR
        } else {
            Errno::NOTDIR
        });
    }
    dir.remove_file_or_symlink(&path)?;
    Ok(())
}

fn two_dirs(ctx: &mut WasiCtx, a: u32, ra: u64, b: u32, rb: u64) -> R<(&Dir, &Dir)> {
    ctx.dir(a, ra)?;
    ctx.dir(b, rb)?;
    let (Some(da), Some(db)) = (ctx.fds.get(&a), ctx.fds.get(&b)) else {
        return Err(Errno::BADF);
    };
    match (&da.kind, &db.kind) {
        (Kind::Dir { dir: x, .. }, Kind::Dir { dir: y, .. }) => Ok((x, y)),
        _ => Err(Errno::NOTDIR),
    }
}

fn path_rename<T>(
    cx: &mut Cx<'_, '_, T>,
    fd: u32,
    old: (u32, u32),
    new_fd: u32,
    new: (u32, u32),
) -> R {
    let old = cx.path(old.0, old.1)?;
    let new = cx.path(new.0, new.1)?;
    let (src, dst) = two_dirs(
        cx.ctx(),
        fd,
        rights::PATH_RENAME_SOURCE,
        new_fd,
        rights::PATH_RENAME_TARGET,
    )?;
    if has_trailing_slash(&old) || has_trailing_slash(&new) {
        let m = src.symlink_metadata(old.trim_end_matches('/'))?;
        if !m.is_dir() {
            return Err(Errno::NOTDIR);
        }
    }
    src.rename(&old, dst, &new)?;
    Ok(())
}

fn path_link<T>(
    cx: &mut Cx<'_, '_, T>,
    fd: u32,
    flags: u32,
    old: (u32, u32),
    new_fd: u32,
    new: (u32, u32),
) -> R {
    let old = cx.path(old.0, old.1)?;
    let new = cx.path(new.0, new.1)?;
    if flags & LOOKUP_SYMLINK_FOLLOW != 0 {
        // Following symlinks when linking is not portable; preview1 hosts refuse it.
        return Err(Errno::INVAL);
    }
    let (src, dst) = two_dirs(
        cx.ctx(),
        fd,
        rights::PATH_LINK_SOURCE,
        new_fd,
        rights::PATH_LINK_TARGET,
    )?;
    if has_trailing_slash(&old) {
        let m = src.symlink_metadata(old.trim_end_matches('/'))?;
        return Err(if m.is_dir() {
            Errno::PERM
        } else {
            Errno::NOTDIR
        });
    }
    if has_trailing_slash(&new) {
        // A link is never a directory, so `new/` can only name something that exists.
        return Err(match dst.symlink_metadata(new.trim_end_matches('/')) {
            Ok(_) => Errno::EXIST,
            Err(_) => Errno::NOENT,
        });
    }
    src.hard_link(&old, dst, &new)?;
    Ok(())
}

fn path_symlink<T>(cx: &mut Cx<'_, '_, T>, old: (u32, u32), fd: u32, new: (u32, u32)) -> R {
    let target = cx.path(old.0, old.1)?;
    let link = cx.path(new.0, new.1)?;
    let dir = cx.ctx().dir(fd, rights::PATH_SYMLINK)?;
    if has_trailing_slash(&link) {
        return Err(match dir.symlink_metadata(link.trim_end_matches('/')) {
            Ok(_) => Errno::EXIST,
            Err(_) => Errno::NOENT,
        });
    }
    DirExt::symlink(dir, &target, &link)?;
    Ok(())
}

fn path_readlink<T>(
    cx: &mut Cx<'_, '_, T>,
    fd: u32,
    path: (u32, u32),
    buf: u32,
    len: u32,
    out: u32,
) -> R {
    let path = cx.path(path.0, path.1)?;
    let dir = cx.ctx().dir(fd, rights::PATH_READLINK)?;
    let target = dir.read_link_contents(&path)?;
    let bytes = target.into_os_string().into_encoded_bytes();
    let n = bytes.len().min(len as usize);
    cx.write(buf, &bytes[..n])?;
    cx.write_u32(out, n as u32)
}

// ---- polling, sockets ----

fn poll_oneoff<T>(cx: &mut Cx<'_, '_, T>, input: u32, output: u32, nsubs: u32, out: u32) -> R {
    if nsubs == 0 {
        return Err(Errno::INVAL);
    }
    let subs = cx.read(input, nsubs.checked_mul(48).ok_or(Errno::FAULT)?)?;
    let mut events: Vec<[u8; 32]> = Vec::new();
    let mut timeout: Option<(u64, u64)> = None; // (nanoseconds to wait, userdata)
    let real_mono = || {
        timespec_ns(rustix::time::clock_gettime(
            rustix::time::ClockId::Monotonic,
        ))
    };
    let real_real = || timespec_ns(rustix::time::clock_gettime(rustix::time::ClockId::Realtime));
    // Absolute timeouts are on the guest's clocks, which chaos may have shaped.
    let (now_mono, now_real) = match &cx.ctx().chaos {
        Some(c) => (c.peek_clock(1, real_mono()), c.peek_clock(0, real_real())),
        None => (real_mono(), real_real()),
    };
    let event = |userdata: u64, errno: Errno, ty: u8, nbytes: u64| {
        let mut e = [0u8; 32];
        e[0..8].copy_from_slice(&userdata.to_le_bytes());
        e[8..10].copy_from_slice(&errno.0.to_le_bytes());
        e[10] = ty;
        e[16..24].copy_from_slice(&nbytes.to_le_bytes());
        e
    };
    for s in subs.chunks_exact(48) {
        let userdata = u64::from_le_bytes(s[0..8].try_into().expect("8"));
        let tag = s[8];
        match tag {
            0 => {
                let id = u32::from_le_bytes(s[16..20].try_into().expect("4"));
                let t = u64::from_le_bytes(s[24..32].try_into().expect("8"));
                let flags = u16::from_le_bytes(s[40..42].try_into().expect("2"));
                let wait = if flags & 1 != 0 {
                    let now = match id {
                        0 => now_real,
                        1 => now_mono,
                        _ => {
                            events.push(event(userdata, Errno::INVAL, 0, 0));
                            continue;
                        }
                    };
                    t.saturating_sub(now)
                } else {
                    if clock(id).is_err() {
                        events.push(event(userdata, Errno::INVAL, 0, 0));
                        continue;
                    }
                    t
                };
                if timeout.is_none_or(|(w, _)| wait < w) {
                    timeout = Some((wait, userdata));
                }
            }
            1 | 2 => {
                let fd = u32::from_le_bytes(s[16..20].try_into().expect("4"));
                let ctx = cx.ctx();
                let ready = match ctx.desc(fd) {
                    Err(e) => event(userdata, e, tag, 0),
                    Ok(d) if d.base & rights::POLL_FD_READWRITE == 0 => {
                        event(userdata, Errno::NOTCAPABLE, tag, 0)
                    }
                    Ok(d) => match (&mut d.kind, tag) {
                        (Kind::File { file }, 1) => {
                            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                            let pos = file.stream_position().unwrap_or(0);
                            event(userdata, Errno::SUCCESS, tag, len.saturating_sub(pos))
                        }
                        (Kind::Stdin, 1) => match &ctx.stdin {
                            StdinSource::Bytes(b) => event(
                                userdata,
                                Errno::SUCCESS,
                                tag,
                                (b.len() - ctx.stdin_pos.min(b.len())) as u64,
                            ),
                            _ => event(userdata, Errno::SUCCESS, tag, 0),
                        },
                        (Kind::Dir { .. }, _) => event(userdata, Errno::BADF, tag, 0),
                        _ => event(userdata, Errno::SUCCESS, tag, 0),
                    },
                };
                events.push(ready);
            }
            _ => return Err(Errno::INVAL),
        }
    }
    if events.is_empty()
        && let Some((wait, userdata)) = timeout
    {
        let sleep = match &mut cx.ctx().chaos {
            Some(c) => {
                // POSIX lets a blocking poll be interrupted before it waits.
                if c.interrupt() {
                    return Err(Errno::INTR);
                }
                c.poll_sleep(wait)
            }
            None => wait,
        };
        std::thread::sleep(std::time::Duration::from_nanos(sleep));
        if let Some(c) = &mut cx.ctx().chaos {
            // However early the wake-up or slow the clock, the guest sees the time elapsed.
            c.catch_up(1, now_mono, wait, real_mono());
            c.catch_up(0, now_real, wait, real_real());
        }
        events.push(event(userdata, Errno::SUCCESS, 0, 0));
    }
    let bytes: Vec<u8> = events.iter().flatten().copied().collect();
    cx.write(output, &bytes)?;
    cx.write_u32(out, events.len() as u32)
}

fn sock_check<T>(cx: &mut Cx<'_, '_, T>, fd: u32) -> R {
    // deja offers no sockets: every descriptor is either missing or not a socket.
    cx.ctx().desc(fd)?;
    Err(Errno::NOTSOCK)
}

// ---- registration ----

struct Args<'a>(&'a [Val]);

impl Args<'_> {
    fn u32(&self, i: usize) -> u32 {
        match self.0[i] {
            Val::I32(v) => v as u32,
            _ => 0,
        }
    }
    fn u64(&self, i: usize) -> u64 {
        match self.0[i] {
            Val::I64(v) => v as u64,
            _ => 0,
        }
    }
}

/// The module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Defines every `wasi_snapshot_preview1` function in `linker`; `get` finds the context in the
/// store's data.
pub fn add_to_linker<T: 'static>(linker: &mut Linker<T>, get: GetCtx<T>) {
    use ValType::{I32, I64};
    fn reg<T: 'static>(
        linker: &mut Linker<T>,
        get: GetCtx<T>,
        name: &str,
        params: &[ValType],
        f: impl Fn(&mut Cx<'_, '_, T>, &Args<'_>) -> R + Send + Sync + 'static,
    ) {
        linker.func(
            MODULE,
            name,
            FuncType::new(params.iter().copied(), [ValType::I32]),
            move |caller, args, results| {
                let mut cx = Cx { caller, get };
                if cx.ctx().cancelled() {
                    return Err(HostError::msg(super::CANCELLED));
                }
                let errno = match f(&mut cx, &Args(args)) {
                    Ok(()) => Errno::SUCCESS,
                    Err(e) => e,
                };
                results[0] = Val::I32(i32::from(errno.0));
                Ok(())
            },
        );
    }
    let l = linker;
    reg(l, get, "args_get", &[I32, I32], |cx, a| {
        let args = cx.ctx().args.clone();
        strings_get(cx, args, a.u32(0), a.u32(1))
    });
    reg(l, get, "args_sizes_get", &[I32, I32], |cx, a| {
        let args = cx.ctx().args.clone();
        strings_sizes(cx, &args, a.u32(0), a.u32(1))
    });
    reg(l, get, "environ_get", &[I32, I32], |cx, a| {
        let env = cx.ctx().env.clone();
        strings_get(cx, env, a.u32(0), a.u32(1))
    });
    reg(l, get, "environ_sizes_get", &[I32, I32], |cx, a| {
        let env = cx.ctx().env.clone();
        strings_sizes(cx, &env, a.u32(0), a.u32(1))
    });
    reg(l, get, "clock_res_get", &[I32, I32], |cx, a| {
        clock_res_get(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "clock_time_get", &[I32, I64, I32], |cx, a| {
        clock_time_get(cx, a.u32(0), a.u32(2))
    });
    reg(l, get, "random_get", &[I32, I32], |cx, a| {
        random_get(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "sched_yield", &[], |_, _| {
        std::thread::yield_now();
        Ok(())
    });
    reg(l, get, "proc_raise", &[I32], |_, _| Err(Errno::NOSYS));
    linker_proc_exit(l);
    reg(l, get, "fd_advise", &[I32, I64, I64, I32], |cx, a| {
        fd_advise(cx, a.u32(0), a.u32(3) as u8)
    });
    reg(l, get, "fd_allocate", &[I32, I64, I64], |cx, a| {
        fd_allocate(cx, a.u32(0), a.u64(1), a.u64(2))
    });
    reg(l, get, "fd_close", &[I32], |cx, a| fd_close(cx, a.u32(0)));
    reg(l, get, "fd_datasync", &[I32], |cx, a| {
        fd_sync(cx, a.u32(0), true)
    });
    reg(l, get, "fd_sync", &[I32], |cx, a| {
        fd_sync(cx, a.u32(0), false)
    });
    reg(l, get, "fd_fdstat_get", &[I32, I32], |cx, a| {
        fd_fdstat_get(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "fd_fdstat_set_flags", &[I32, I32], |cx, a| {
        fd_fdstat_set_flags(cx, a.u32(0), a.u32(1) as u16)
    });
    reg(l, get, "fd_fdstat_set_rights", &[I32, I64, I64], |cx, a| {
        fd_fdstat_set_rights(cx, a.u32(0), a.u64(1), a.u64(2))
    });
    reg(l, get, "fd_filestat_get", &[I32, I32], |cx, a| {
        fd_filestat_get(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "fd_filestat_set_size", &[I32, I64], |cx, a| {
        fd_filestat_set_size(cx, a.u32(0), a.u64(1))
    });
    reg(
        l,
        get,
        "fd_filestat_set_times",
        &[I32, I64, I64, I32],
        |cx, a| fd_filestat_set_times(cx, a.u32(0), a.u64(1), a.u64(2), a.u32(3) as u16),
    );
    reg(l, get, "fd_pread", &[I32, I32, I32, I64, I32], |cx, a| {
        fd_pread(cx, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4))
    });
    reg(l, get, "fd_prestat_get", &[I32, I32], |cx, a| {
        fd_prestat_get(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "fd_prestat_dir_name", &[I32, I32, I32], |cx, a| {
        fd_prestat_dir_name(cx, a.u32(0), a.u32(1), a.u32(2))
    });
    reg(l, get, "fd_pwrite", &[I32, I32, I32, I64, I32], |cx, a| {
        fd_pwrite(cx, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4))
    });
    reg(l, get, "fd_read", &[I32, I32, I32, I32], |cx, a| {
        fd_read(cx, a.u32(0), a.u32(1), a.u32(2), a.u32(3))
    });
    reg(l, get, "fd_readdir", &[I32, I32, I32, I64, I32], |cx, a| {
        fd_readdir(cx, a.u32(0), a.u32(1), a.u32(2), a.u64(3), a.u32(4))
    });
    reg(l, get, "fd_renumber", &[I32, I32], |cx, a| {
        fd_renumber(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "fd_seek", &[I32, I64, I32, I32], |cx, a| {
        fd_seek(cx, a.u32(0), a.u64(1) as i64, a.u32(2) as u8, a.u32(3))
    });
    reg(l, get, "fd_tell", &[I32, I32], |cx, a| {
        fd_tell(cx, a.u32(0), a.u32(1))
    });
    reg(l, get, "fd_write", &[I32, I32, I32, I32], |cx, a| {
        fd_write(cx, a.u32(0), a.u32(1), a.u32(2), a.u32(3))
    });
    reg(
        l,
        get,
        "path_create_directory",
        &[I32, I32, I32],
        |cx, a| path_create_directory(cx, a.u32(0), (a.u32(1), a.u32(2))),
    );
    reg(
        l,
        get,
        "path_filestat_get",
        &[I32, I32, I32, I32, I32],
        |cx, a| path_filestat_get(cx, a.u32(0), a.u32(1), (a.u32(2), a.u32(3)), a.u32(4)),
    );
    reg(
        l,
        get,
        "path_filestat_set_times",
        &[I32, I32, I32, I32, I64, I64, I32],
        |cx, a| {
            path_filestat_set_times(
                cx,
                a.u32(0),
                a.u32(1),
                (a.u32(2), a.u32(3)),
                a.u64(4),
                a.u64(5),
                a.u32(6) as u16,
            )
        },
    );
    reg(
        l,
        get,
        "path_link",
        &[I32, I32, I32, I32, I32, I32, I32],
        |cx, a| {
            path_link(
                cx,
                a.u32(0),
                a.u32(1),
                (a.u32(2), a.u32(3)),
                a.u32(4),
                (a.u32(5), a.u32(6)),
            )
        },
    );
    reg(
        l,
        get,
        "path_open",
        &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
        |cx, a| {
            path_open(
                cx,
                a.u32(0),
                a.u32(1),
                (a.u32(2), a.u32(3)),
                a.u32(4) as u16,
                a.u64(5),
                a.u64(6),
                a.u32(7) as u16,
                a.u32(8),
            )
        },
    );
    reg(
        l,
        get,
        "path_readlink",
        &[I32, I32, I32, I32, I32, I32],
        |cx, a| {
            path_readlink(
                cx,
                a.u32(0),
                (a.u32(1), a.u32(2)),
                a.u32(3),
                a.u32(4),
                a.u32(5),
            )
        },
    );
    reg(
        l,
        get,
        "path_remove_directory",
        &[I32, I32, I32],
        |cx, a| path_remove_directory(cx, a.u32(0), (a.u32(1), a.u32(2))),
    );
    reg(
        l,
        get,
        "path_rename",
        &[I32, I32, I32, I32, I32, I32],
        |cx, a| {
            path_rename(
                cx,
                a.u32(0),
                (a.u32(1), a.u32(2)),
                a.u32(3),
                (a.u32(4), a.u32(5)),
            )
        },
    );
    reg(
        l,
        get,
        "path_symlink",
        &[I32, I32, I32, I32, I32],
        |cx, a| path_symlink(cx, (a.u32(0), a.u32(1)), a.u32(2), (a.u32(3), a.u32(4))),
    );
    reg(l, get, "path_unlink_file", &[I32, I32, I32], |cx, a| {
        path_unlink_file(cx, a.u32(0), (a.u32(1), a.u32(2)))
    });
    reg(l, get, "poll_oneoff", &[I32, I32, I32, I32], |cx, a| {
        poll_oneoff(cx, a.u32(0), a.u32(1), a.u32(2), a.u32(3))
    });
    reg(l, get, "sock_accept", &[I32, I32, I32], |cx, a| {
        sock_check(cx, a.u32(0))
    });
    reg(
        l,
        get,
        "sock_recv",
        &[I32, I32, I32, I32, I32, I32],
        |cx, a| sock_check(cx, a.u32(0)),
    );
    reg(l, get, "sock_send", &[I32, I32, I32, I32, I32], |cx, a| {
        sock_check(cx, a.u32(0))
    });
    reg(l, get, "sock_shutdown", &[I32, I32], |cx, a| {
        sock_check(cx, a.u32(0))
    });
}

fn linker_proc_exit<T: 'static>(linker: &mut Linker<T>) {
    linker.func(
        MODULE,
        "proc_exit",
        FuncType::new([ValType::I32], []),
        |_, args, _| {
            let code = match args[0] {
                Val::I32(c) => c,
                _ => 1,
            };
            Err(HostError::Exit(code))
        },
    );
}

/// Every function `add_to_linker` defines, for tests and documentation.
pub const FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];
