//! Values and types as gdb prints them.

use crate::expr::{Data, Shape, Ty, Value};
use crate::{DebugInfo, Frame, TypeKind};

/// Elements of an array shown before `...`, as gdb's `print elements` default.
const MAX_ELEMENTS: u64 = 200;
/// Characters of a string shown before `...`.
const MAX_STRING: u64 = 200;

fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

pub(crate) fn is_char(info: &DebugInfo, ty: &Ty) -> bool {
    matches!(
        info.shape(ty),
        Shape::Kind(TypeKind::Base { encoding, size: 1, .. })
            if matches!(*encoding, gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char)
    )
}

/// A C string in memory at `addr`: up to its NUL or [`MAX_STRING`] characters.
fn c_string(addr: u64, frame: &dyn Frame) -> Option<String> {
    let mut bytes = Vec::new();
    for i in 0..MAX_STRING {
        let b = frame.memory(addr + i, 1)?[0];
        if b == 0 {
            return Some(quote(&bytes));
        }
        bytes.push(b);
    }
    Some(format!("{}...", quote(&bytes)))
}

pub(crate) fn value(
    info: &DebugInfo,
    v: &Value,
    frame: &dyn Frame,
    hex: bool,
    depth: usize,
) -> String {
    match try_value(info, v, frame, hex, depth) {
        Ok(s) => s,
        Err(e) if e == "optimized out" => "<optimized out>".into(),
        Err(e) => format!("<error: {e}>"),
    }
}

fn try_value(
    info: &DebugInfo,
    v: &Value,
    frame: &dyn Frame,
    hex: bool,
    depth: usize,
) -> Result<String, String> {
    match info.shape(&v.ty) {
        Shape::Void => Ok("<no type>".into()),
        Shape::Int => {
            let n = info.integer(v, frame)?;
            Ok(if hex && info.size_of(&v.ty) == 8 {
                format!("{:#x}", n as u64)
            } else if hex {
                format!("{:#x}", n as u32)
            } else {
                n.to_string()
            })
        }
        Shape::PointerTo(to) => {
            let addr = info.integer(v, frame)? as u64 & 0xffff_ffff;
            if info.is_reference(&v.ty) && depth < 6 {
                // gdb: `@0x11498: {...}`, the address and the object referred to.
                let target = info.deref(v, frame)?;
                return Ok(format!(
                    "@{addr:#010x}: {}",
                    value(info, &target, frame, hex, depth + 1)
                ));
            }
            let mut s = format!("{addr:#010x}");
            if addr == 0 {
                s = "0x0".into();
            } else if is_char(info, &to)
                && let Some(text) = c_string(addr, frame)
            {
                s.push(' ');
                s.push_str(&text);
            }
            Ok(s)
        }
        Shape::Kind(kind) => match kind {
            TypeKind::Base { encoding, size, .. } => {
                let b = info.bytes(v, frame)?;
                Ok(match *encoding {
                    gimli::DW_ATE_float if *size == 4 => {
                        let f = f32::from_le_bytes(b[..4].try_into().unwrap_or_default());
                        if hex {
                            format!("{:#x}", f.to_bits())
                        } else {
                            format!("{f}")
                        }
                    }
                    gimli::DW_ATE_float if *size == 8 => {
                        let f = f64::from_le_bytes(b[..8].try_into().unwrap_or_default());
                        if hex {
                            format!("{:#x}", f.to_bits())
                        } else {
                            format!("{f}")
                        }
                    }
                    gimli::DW_ATE_boolean => (b.iter().any(|&x| x != 0)).to_string(),
                    gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char if *size == 1 => {
                        let n = info.integer(v, frame)?;
                        if hex {
                            format!("{:#x}", b[0])
                        } else {
                            format!("{n} {}", quote(&[b[0]]).replace('"', "'"))
                        }
                    }
                    _ => {
                        let n = info.integer(v, frame)?;
                        if hex {
                            let mask = if *size >= 8 {
                                u64::MAX
                            } else {
                                (1u64 << (8 * size)) - 1
                            };
                            format!("{:#x}", n as u64 & mask)
                        } else if matches!(*encoding, gimli::DW_ATE_unsigned) && *size >= 8 {
                            (n as u64).to_string()
                        } else {
                            n.to_string()
                        }
                    }
                })
            }
            TypeKind::Enum { values, .. } => {
                let n = info.integer(v, frame)?;
                Ok(match values.iter().find(|(_, x)| *x == n) {
                    Some((name, _)) if !hex => name.clone(),
                    _ if hex => format!("{n:#x}"),
                    _ => n.to_string(),
                })
            }
            TypeKind::Struct { members, .. } => {
                if depth > 6 {
                    return Ok("{...}".into());
                }
                let mut parts = Vec::new();
                for m in members {
                    let text = match info.member_value(v, m, frame) {
                        Ok(mv) => value(info, &mv, frame, hex, depth + 1),
                        Err(e) => format!("<{e}>"),
                    };
                    match &info.member_label(m) {
                        Some(n) => parts.push(format!("{n} = {text}")),
                        None => parts.push(text),
                    }
                }
                Ok(format!("{{{}}}", parts.join(", ")))
            }
            TypeKind::Array { elem, counts, sub } => {
                let elem_ty = sub.or(*elem).map_or(Ty::Void, Ty::Dwarf);
                let count = counts.first().copied().flatten().unwrap_or(0);
                if counts.len() == 1 && is_char(info, &elem_ty) && !hex {
                    let b = info.bytes(v, frame)?;
                    let text: Vec<u8> = b.iter().copied().take_while(|&c| c != 0).collect();
                    return Ok(quote(&text));
                }
                let size = info.size_of(&elem_ty);
                let mut parts = Vec::new();
                for i in 0..count.min(MAX_ELEMENTS) {
                    let ev = Value {
                        ty: elem_ty.clone(),
                        data: match &v.data {
                            Data::Memory(a) => Data::Memory(a + i * size),
                            Data::Bytes(b) => Data::Bytes(
                                b.get((i * size) as usize..((i + 1) * size) as usize)
                                    .unwrap_or_default()
                                    .to_vec(),
                            ),
                        },
                    };
                    parts.push(value(info, &ev, frame, hex, depth + 1));
                }
                if count > MAX_ELEMENTS {
                    parts.push("...".into());
                }
                Ok(format!("{{{}}}", parts.join(", ")))
            }
            TypeKind::Function => Ok("<function>".into()),
            TypeKind::Pointer { .. } | TypeKind::Typedef { .. } | TypeKind::Qualified { .. } => {
                unreachable!("shape() looks through these")
            }
        },
    }
}

pub(crate) fn type_name(info: &DebugInfo, ty: &Ty) -> String {
    match ty {
        Ty::Int => "int".into(),
        Ty::Long => "long long".into(),
        Ty::Void => "void".into(),
        Ty::PointerTo(to) => format!("{} *", type_name(info, to)),
        Ty::Dwarf(k) => match info.types.get(k) {
            None => "void".into(),
            Some(kind) => match kind {
                TypeKind::Base { name, .. } | TypeKind::Typedef { name, .. } => name.clone(),
                TypeKind::Pointer { to, reference } => format!(
                    "{} {}",
                    type_name(info, &to.map_or(Ty::Void, Ty::Dwarf)),
                    if *reference { "&" } else { "*" }
                ),
                TypeKind::Struct { keyword, name, .. } => {
                    format!("{keyword} {}", name.as_deref().unwrap_or("{...}"))
                }
                TypeKind::Enum { name, .. } => {
                    format!("enum {}", name.as_deref().unwrap_or("{...}"))
                }
                TypeKind::Array { elem, counts, .. } => {
                    let dims: String = counts
                        .iter()
                        .map(|c| c.map_or("[]".to_string(), |n| format!("[{n}]")))
                        .collect();
                    format!(
                        "{}{dims}",
                        type_name(info, &elem.map_or(Ty::Void, Ty::Dwarf))
                    )
                }
                TypeKind::Qualified { qualifier, to } => {
                    let inner = type_name(info, &to.map_or(Ty::Void, Ty::Dwarf));
                    if qualifier.is_empty() {
                        inner
                    } else {
                        format!("{qualifier} {inner}")
                    }
                }
                TypeKind::Function => "function".into(),
            },
        },
    }
}
