//! WASI preview1 errno values and the mapping from host I/O errors.

use std::io;

/// A WASI errno (`wasi_snapshot_preview1::errno`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub u16);

#[allow(missing_docs, reason = "names are the specification's")]
impl Errno {
    pub const SUCCESS: Errno = Errno(0);
    pub const TOOBIG: Errno = Errno(1);
    pub const ACCES: Errno = Errno(2);
    pub const AGAIN: Errno = Errno(6);
    pub const BADF: Errno = Errno(8);
    pub const BUSY: Errno = Errno(10);
    pub const EXIST: Errno = Errno(20);
    pub const FAULT: Errno = Errno(21);
    pub const FBIG: Errno = Errno(22);
    pub const ILSEQ: Errno = Errno(25);
    pub const INTR: Errno = Errno(27);
    pub const INVAL: Errno = Errno(28);
    pub const IO: Errno = Errno(29);
    pub const ISDIR: Errno = Errno(31);
    pub const LOOP: Errno = Errno(32);
    pub const MFILE: Errno = Errno(33);
    pub const MLINK: Errno = Errno(34);
    pub const NAMETOOLONG: Errno = Errno(37);
    pub const NFILE: Errno = Errno(41);
    pub const NOENT: Errno = Errno(44);
    pub const NOMEM: Errno = Errno(48);
    pub const NOSPC: Errno = Errno(51);
    pub const NOSYS: Errno = Errno(52);
    pub const NOTDIR: Errno = Errno(54);
    pub const NOTEMPTY: Errno = Errno(55);
    pub const NOTSOCK: Errno = Errno(57);
    pub const NOTSUP: Errno = Errno(58);
    pub const NOTTY: Errno = Errno(59);
    pub const NXIO: Errno = Errno(60);
    pub const OVERFLOW: Errno = Errno(61);
    pub const PERM: Errno = Errno(63);
    pub const PIPE: Errno = Errno(64);
    pub const RANGE: Errno = Errno(66);
    pub const ROFS: Errno = Errno(67);
    pub const SPIPE: Errno = Errno(68);
    pub const TXTBSY: Errno = Errno(72);
    pub const XDEV: Errno = Errno(73);
    pub const NOTCAPABLE: Errno = Errno(76);
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        from_io_error(&e)
    }
}

/// Maps a host I/O error to the WASI errno a POSIX program would expect.
pub fn from_io_error(e: &io::Error) -> Errno {
    use rustix::io::Errno as E;
    if let Some(raw) = e.raw_os_error() {
        let errno = E::from_raw_os_error(raw);
        let table = [
            (E::TOOBIG, Errno::TOOBIG),
            (E::ACCESS, Errno::ACCES),
            (E::AGAIN, Errno::AGAIN),
            (E::BADF, Errno::BADF),
            (E::BUSY, Errno::BUSY),
            (E::EXIST, Errno::EXIST),
            (E::FAULT, Errno::FAULT),
            (E::FBIG, Errno::FBIG),
            (E::ILSEQ, Errno::ILSEQ),
            (E::INTR, Errno::INTR),
            (E::INVAL, Errno::INVAL),
            (E::IO, Errno::IO),
            (E::ISDIR, Errno::ISDIR),
            (E::LOOP, Errno::LOOP),
            (E::MFILE, Errno::MFILE),
            (E::MLINK, Errno::MLINK),
            (E::NAMETOOLONG, Errno::NAMETOOLONG),
            (E::NFILE, Errno::NFILE),
            (E::NOENT, Errno::NOENT),
            (E::NOMEM, Errno::NOMEM),
            (E::NOSPC, Errno::NOSPC),
            (E::NOSYS, Errno::NOSYS),
            (E::NOTDIR, Errno::NOTDIR),
            (E::NOTEMPTY, Errno::NOTEMPTY),
            (E::NOTSOCK, Errno::NOTSOCK),
            (E::NOTSUP, Errno::NOTSUP),
            (E::NOTTY, Errno::NOTTY),
            (E::NXIO, Errno::NXIO),
            (E::OVERFLOW, Errno::OVERFLOW),
            (E::PERM, Errno::PERM),
            (E::PIPE, Errno::PIPE),
            (E::RANGE, Errno::RANGE),
            (E::ROFS, Errno::ROFS),
            (E::SPIPE, Errno::SPIPE),
            (E::TXTBSY, Errno::TXTBSY),
            (E::XDEV, Errno::XDEV),
        ];
        return table
            .iter()
            .find(|(host, _)| *host == errno)
            .map_or(Errno::IO, |(_, wasi)| *wasi);
    }
    // cap-std reports attempts to leave the sandbox (`..` too far, absolute paths, symlinks
    // pointing outside) as PermissionDenied without an OS errno.
    match e.kind() {
        io::ErrorKind::PermissionDenied => Errno::PERM,
        io::ErrorKind::NotFound => Errno::NOENT,
        io::ErrorKind::AlreadyExists => Errno::EXIST,
        io::ErrorKind::InvalidInput => Errno::INVAL,
        io::ErrorKind::Unsupported => Errno::NOTSUP,
        io::ErrorKind::WouldBlock => Errno::AGAIN,
        io::ErrorKind::Interrupted => Errno::INTR,
        io::ErrorKind::BrokenPipe => Errno::PIPE,
        _ => Errno::IO,
    }
}
