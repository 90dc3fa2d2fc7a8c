//! Values and C expressions over them.

use crate::{DebugInfo, Frame, Key, TypeKind};

/// Where a value's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    /// In linear memory at this address.
    Memory(u64),
    /// Outside linear memory (a Wasm local, a computed value), little-endian.
    Bytes(Vec<u8>),
}

/// A type: one from DWARF, or one an expression made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Dwarf(Key),
    /// `&e`: a pointer to the operand's type.
    PointerTo(Box<Ty>),
    /// An integer literal or the result of arithmetic: C's `int`.
    Int,
    /// A literal beyond `int`, or arithmetic with an 8-byte operand: C's `long long`.
    Long,
    /// No type information (`void`).
    Void,
}

/// A value of an expression: its type and where its bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub(crate) ty: Ty,
    pub(crate) data: Data,
}

impl Value {
    pub(crate) fn new(ty: Option<Key>, data: Data) -> Value {
        Value {
            ty: ty.map_or(Ty::Void, Ty::Dwarf),
            data,
        }
    }

    /// The address in linear memory, for a value that is there.
    pub fn address(&self) -> Option<u64> {
        match self.data {
            Data::Memory(a) => Some(a),
            Data::Bytes(_) => None,
        }
    }
}

/// A type with its typedefs and qualifiers looked through.
pub(crate) enum Shape<'a> {
    Kind(&'a TypeKind),
    PointerTo(Ty),
    Int,
    Void,
}

impl DebugInfo {
    fn kind(&self, k: Key) -> Option<&TypeKind> {
        self.types.get(&k)
    }

    /// The type behind typedefs and qualifiers.
    pub(crate) fn shape(&self, ty: &Ty) -> Shape<'_> {
        let mut ty = ty.clone();
        for _ in 0..64 {
            match ty {
                Ty::Dwarf(k) => match self.kind(k) {
                    Some(TypeKind::Typedef { to, .. } | TypeKind::Qualified { to, .. }) => {
                        ty = to.map_or(Ty::Void, Ty::Dwarf);
                    }
                    Some(TypeKind::Pointer { to, .. }) => {
                        return Shape::PointerTo(to.map_or(Ty::Void, Ty::Dwarf));
                    }
                    Some(kind) => return Shape::Kind(kind),
                    None => return Shape::Void,
                },
                Ty::PointerTo(to) => return Shape::PointerTo(*to),
                Ty::Int | Ty::Long => return Shape::Int,
                Ty::Void => return Shape::Void,
            }
        }
        Shape::Void
    }

    /// Size in bytes (0 when unknown).
    pub(crate) fn size_of(&self, ty: &Ty) -> u64 {
        if *ty == Ty::Long {
            return 8;
        }
        match self.shape(ty) {
            Shape::PointerTo(_) | Shape::Int => 4,
            Shape::Void => 0,
            Shape::Kind(kind) => match kind {
                TypeKind::Base { size, .. }
                | TypeKind::Struct { size, .. }
                | TypeKind::Enum { size, .. } => *size,
                TypeKind::Array { elem, counts, .. } => {
                    let n: u64 = counts.iter().map(|c| c.unwrap_or(0)).product();
                    n * self.size_of(&elem.map_or(Ty::Void, Ty::Dwarf))
                }
                TypeKind::Pointer { .. } => 4,
                _ => 0,
            },
        }
    }

    /// A value's bytes (its type's size of them).
    pub(crate) fn bytes(&self, v: &Value, frame: &dyn Frame) -> Result<Vec<u8>, String> {
        let size = self.size_of(&v.ty);
        match &v.data {
            Data::Memory(addr) => frame
                .memory(*addr, size)
                .ok_or_else(|| format!("cannot access memory at address {addr:#x}")),
            // Fewer bytes than the type has: the rest has no location.
            Data::Bytes(b) if (b.len() as u64) < size => Err("optimized out".into()),
            Data::Bytes(b) => Ok(b[..(size.max(1) as usize).min(b.len())].to_vec()),
        }
    }

    /// An integer value's bits, sign-extended when its type is signed.
    pub(crate) fn integer(&self, v: &Value, frame: &dyn Frame) -> Result<i64, String> {
        let b = self.bytes(v, frame)?;
        let signed = match self.shape(&v.ty) {
            Shape::Int => true,
            Shape::Kind(TypeKind::Base { encoding, .. }) => {
                matches!(*encoding, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char)
            }
            Shape::Kind(TypeKind::Enum { .. }) => true,
            Shape::PointerTo(_) => false,
            _ => return Err("not an integer".into()),
        };
        let n = b.len().min(8);
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&b[..n]);
        let raw = u64::from_le_bytes(w);
        Ok(if signed && n < 8 && n > 0 {
            let shift = 64 - 8 * n as u32;
            ((raw << shift) as i64) >> shift
        } else {
            raw as i64
        })
    }

    pub(crate) fn deref(&self, v: &Value, frame: &dyn Frame) -> Result<Value, String> {
        match self.shape(&v.ty) {
            Shape::PointerTo(to) => {
                if matches!(to, Ty::Void) {
                    return Err("attempt to take contents of a non-pointer value".into());
                }
                let addr = self.integer(v, frame)? as u64 & 0xffff_ffff;
                Ok(Value {
                    ty: to,
                    data: Data::Memory(addr),
                })
            }
            Shape::Kind(TypeKind::Array { .. }) => self.index(v, 0, frame),
            _ => Err("attempt to take contents of a non-pointer value".into()),
        }
    }

    pub(crate) fn index(&self, v: &Value, i: i64, frame: &dyn Frame) -> Result<Value, String> {
        match self.shape(&v.ty) {
            Shape::Kind(TypeKind::Array { elem, sub, .. }) => {
                // A multi-dimensional array indexes into the array of the remaining
                // dimensions.
                let elem = sub.or(*elem).map_or(Ty::Void, Ty::Dwarf);
                let size = self.size_of(&elem) as i64;
                match &v.data {
                    Data::Memory(a) => Ok(Value {
                        ty: elem,
                        data: Data::Memory((*a as i64 + i * size) as u64),
                    }),
                    Data::Bytes(b) => {
                        let start = usize::try_from(i * size).map_err(|_| "index out of range")?;
                        let bytes = b
                            .get(start..start + size as usize)
                            .ok_or("index out of range")?;
                        Ok(Value {
                            ty: elem,
                            data: Data::Bytes(bytes.to_vec()),
                        })
                    }
                }
            }
            Shape::PointerTo(to) => {
                let size = self.size_of(&to) as i64;
                let addr = self.integer(v, frame)? & 0xffff_ffff;
                Ok(Value {
                    ty: to,
                    data: Data::Memory((addr + i * size) as u64),
                })
            }
            _ => Err("cannot subscript something that is not an array or a pointer".into()),
        }
    }

    /// Whether `ty` is a C++ reference (behind typedefs and qualifiers).
    pub(crate) fn is_reference(&self, ty: &Ty) -> bool {
        let mut ty = ty.clone();
        for _ in 0..64 {
            let Ty::Dwarf(k) = ty else {
                return false;
            };
            match self.kind(k) {
                Some(TypeKind::Typedef { to, .. } | TypeKind::Qualified { to, .. }) => {
                    ty = to.map_or(Ty::Void, Ty::Dwarf);
                }
                Some(TypeKind::Pointer { reference, .. }) => return *reference,
                _ => return false,
            }
        }
        false
    }

    /// The value a reference refers to; any other value as it is.
    pub(crate) fn through_reference(&self, v: Value, frame: &dyn Frame) -> Result<Value, String> {
        if self.is_reference(&v.ty) {
            self.deref(&v, frame)
        } else {
            Ok(v)
        }
    }

    /// How a member is shown: its name, or `<Base>` for a C++ base class subobject (as gdb
    /// shows it); `None` for an unnamed member.
    pub(crate) fn member_label(&self, m: &crate::Member) -> Option<String> {
        if m.base {
            let name = crate::format::type_name(self, &m.ty.map_or(Ty::Void, Ty::Dwarf));
            let bare = name
                .strip_prefix("class ")
                .or_else(|| name.strip_prefix("struct "))
                .unwrap_or(&name);
            Some(format!("<{bare}>"))
        } else {
            m.name.clone()
        }
    }

    /// Member `m` of struct value `v`.
    pub(crate) fn member_value(
        &self,
        v: &Value,
        m: &crate::Member,
        frame: &dyn Frame,
    ) -> Result<Value, String> {
        let ty = m.ty.map_or(Ty::Void, Ty::Dwarf);
        if let Some((first, width)) = m.bits {
            return self.bit_field(v, &ty, (first, width), frame);
        }
        let data = match &v.data {
            Data::Memory(a) => Data::Memory(a + m.offset),
            Data::Bytes(b) => {
                let size = self.size_of(&ty) as usize;
                let start = m.offset as usize;
                Data::Bytes(
                    b.get(start..start + size)
                        .ok_or("member out of range")?
                        .to_vec(),
                )
            }
        };
        Ok(Value { ty, data })
    }

    /// A bit field's value, as bytes of its type: its `width` bits from bit `first` of the
    /// struct, sign-extended when its type is signed.
    fn bit_field(
        &self,
        v: &Value,
        ty: &Ty,
        (first, width): (u64, u64),
        frame: &dyn Frame,
    ) -> Result<Value, String> {
        if width == 0 || width > 64 {
            return Err("a bit field wider than 64 bits".into());
        }
        let (lo, len) = (first / 8, (first % 8 + width).div_ceil(8));
        let bytes = match &v.data {
            Data::Memory(a) => frame
                .memory(a + lo, len)
                .ok_or_else(|| format!("cannot access memory at address {:#x}", a + lo))?,
            Data::Bytes(b) => b
                .get(lo as usize..(lo + len) as usize)
                .ok_or("member out of range")?
                .to_vec(),
        };
        let mut w = [0u8; 16];
        w[..bytes.len()].copy_from_slice(&bytes);
        let raw = u128::from_le_bytes(w) >> (first % 8);
        let mut n = (raw & ((1u128 << width) - 1)) as u64;
        // An enum is signed only when it has a negative enumerator (clang gives the others an
        // unsigned underlying type).
        let signed = match self.shape(ty) {
            Shape::Int => true,
            Shape::Kind(TypeKind::Enum { values, .. }) => values.iter().any(|(_, v)| *v < 0),
            Shape::Kind(TypeKind::Base { encoding, .. }) => {
                matches!(*encoding, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char)
            }
            _ => false,
        };
        if signed && width < 64 && n >> (width - 1) & 1 == 1 {
            n |= !0u64 << width;
        }
        let size = self.size_of(ty).clamp(1, 8) as usize;
        Ok(Value {
            ty: ty.clone(),
            data: Data::Bytes(n.to_le_bytes()[..size].to_vec()),
        })
    }

    pub(crate) fn member(&self, v: &Value, name: &str, frame: &dyn Frame) -> Result<Value, String> {
        match self.shape(&v.ty) {
            Shape::Kind(TypeKind::Struct { members, .. }) => {
                let Some(m) = members.iter().find(|m| m.name.as_deref() == Some(name)) else {
                    // C++: a member of a base class is the derived class's too.
                    for b in members.iter().filter(|m| m.base) {
                        if let Ok(sub) = self.member_value(v, b, frame)
                            && let Ok(found) = self.member(&sub, name, frame)
                        {
                            return Ok(found);
                        }
                    }
                    return Err(format!("there is no member named {name}"));
                };
                self.member_value(v, m, frame)
            }
            _ => Err(format!(
                "`.{name}` of something that is not a struct or union"
            )),
        }
    }

    fn address_of(&self, v: &Value) -> Result<Value, String> {
        match v.data {
            Data::Memory(a) => Ok(Value {
                ty: Ty::PointerTo(Box::new(v.ty.clone())),
                data: Data::Bytes((a as u32).to_le_bytes().to_vec()),
            }),
            Data::Bytes(_) => Err("cannot take the address of a value kept in a Wasm local".into()),
        }
    }

    /// A type named as C writes it: `int`, `struct point`, `shape *`, `const char *`.
    fn type_named(&self, name: &str) -> Option<Ty> {
        let name = name.trim();
        if let Some(inner) = name.strip_suffix('*') {
            return Some(Ty::PointerTo(Box::new(self.type_named(inner)?)));
        }
        let name = name.strip_prefix("const ").unwrap_or(name).trim();
        if name == "void" {
            return Some(Ty::Void);
        }
        let (keyword, bare) = match name.split_once(' ') {
            Some((k @ ("struct" | "union" | "enum" | "class"), rest)) => (Some(k), rest.trim()),
            _ => (None, name),
        };
        let mut keys: Vec<&Key> = self.types.keys().collect();
        keys.sort();
        keys.into_iter()
            .find(|k| match &self.types[k] {
                TypeKind::Base { name: n, .. } | TypeKind::Typedef { name: n, .. } => {
                    keyword.is_none() && n == bare
                }
                TypeKind::Struct {
                    keyword: kw,
                    name: Some(n),
                    ..
                } => n == bare && keyword.is_none_or(|k| k == *kw),
                TypeKind::Enum { name: Some(n), .. } => {
                    n == bare && keyword.is_none_or(|k| k == "enum")
                }
                _ => false,
            })
            .map(|k| Ty::Dwarf(*k))
            .or_else(|| (bare == "int" && keyword.is_none()).then_some(Ty::Int))
    }

    fn cast(&self, v: Value, ty: Ty, frame: &dyn Frame) -> Result<Value, String> {
        let scalar = |s: &Shape<'_>| {
            matches!(
                s,
                Shape::Int
                    | Shape::PointerTo(_)
                    | Shape::Kind(TypeKind::Base { .. } | TypeKind::Enum { .. })
            )
        };
        let (from, to) = (self.shape(&v.ty), self.shape(&ty));
        if let (Shape::Kind(TypeKind::Array { .. }), Shape::PointerTo(_)) = (&from, &to) {
            // An array decays to a pointer to its first element.
            let first = self.index(&v, 0, frame)?;
            let pointer = self.address_of(&first)?;
            return Ok(Value {
                ty,
                data: pointer.data,
            });
        }
        if scalar(&from) && scalar(&to) {
            let n = self.integer(&v, frame)?;
            let size = self.size_of(&ty).max(1) as usize;
            let bytes = n.to_le_bytes()[..size.min(8)].to_vec();
            return Ok(Value {
                ty,
                data: Data::Bytes(bytes),
            });
        }
        // Anything else reinterprets the bytes where they are.
        Ok(Value { ty, data: v.data })
    }
}

/// Tokens of a C expression.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(i64),
    Punct(&'static str),
}

impl Tok {
    /// The token as the user wrote it, quoted.
    fn text(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Num(n) => format!("`{n}`"),
            Tok::Punct(p) => format!("`{p}`"),
        }
    }
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(h) => i64::from_str_radix(h, 16),
                None => text.parse(),
            }
            .map_err(|_| format!("invalid number `{text}`"))?;
            out.push(Tok::Num(n));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let p = match two.as_str() {
                "->" => "->",
                _ => match c {
                    '*' => "*",
                    '&' => "&",
                    '.' => ".",
                    '[' => "[",
                    ']' => "]",
                    '(' => "(",
                    ')' => ")",
                    '-' => "-",
                    '+' => "+",
                    '/' => "/",
                    '%' => "%",
                    _ => return Err(format!("unexpected `{c}`")),
                },
            };
            i += p.len();
            out.push(Tok::Punct(p));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    i: usize,
    info: &'a DebugInfo,
    frame: &'a dyn Frame,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.peek()
            == Some(&Tok::Punct(match p {
                "->" => "->",
                "*" => "*",
                "&" => "&",
                "." => ".",
                "[" => "[",
                "]" => "]",
                "(" => "(",
                ")" => ")",
                "-" => "-",
                "+" => "+",
                "/" => "/",
                "%" => "%",
                _ => return false,
            }))
        {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(format!("expected `{p}`"))
        }
    }

    fn int(&self, n: i64) -> Value {
        Value {
            ty: Ty::Int,
            data: Data::Bytes((n as i32).to_le_bytes().to_vec()),
        }
    }

    fn long(&self, n: i64) -> Value {
        Value {
            ty: Ty::Long,
            data: Data::Bytes(n.to_le_bytes().to_vec()),
        }
    }

    /// An integer result of C's usual arithmetic: `long long` when an operand has 8 bytes,
    /// else `int` (wrapping as the guest's 32-bit `int` does).
    fn arithmetic(&self, l: &Value, r: &Value, n: i64) -> Value {
        if self.info.size_of(&l.ty) == 8 || self.info.size_of(&r.ty) == 8 {
            self.long(n)
        } else {
            self.int(n)
        }
    }

    fn is_pointer(&self, v: &Value) -> bool {
        matches!(
            self.info.shape(&v.ty),
            Shape::PointerTo(_) | Shape::Kind(TypeKind::Array { .. })
        )
    }

    /// expression: a sum of products (`a + 1`, `p - 2` and `2 + p` scaled by the pointee's
    /// size, `p - q` counting elements).
    fn expression(&mut self) -> Result<Value, String> {
        let mut v = self.product()?;
        loop {
            let sign = if self.eat("+") {
                1
            } else if self.eat("-") {
                -1
            } else {
                return Ok(v);
            };
            // A C++ reference takes part in arithmetic as what it refers to.
            v = self.info.through_reference(v, self.frame)?;
            let rhs = self.product()?;
            let rhs = self.info.through_reference(rhs, self.frame)?;
            v = match (self.is_pointer(&v), self.is_pointer(&rhs)) {
                (true, true) if sign < 0 => {
                    let elem = self.info.index(&v, 0, self.frame)?;
                    let size = self.info.size_of(&elem.ty).max(1) as i64;
                    let a = self.info.address_of(&elem)?;
                    let b = self
                        .info
                        .address_of(&self.info.index(&rhs, 0, self.frame)?)?;
                    let a = self.info.integer(&a, self.frame)?;
                    let b = self.info.integer(&b, self.frame)?;
                    self.int((a - b) / size)
                }
                (true, true) => return Err("cannot add two pointers".into()),
                (true, false) => {
                    let r = self.info.integer(&rhs, self.frame)?;
                    let elem = self.info.index(&v, sign * r, self.frame)?;
                    self.info.address_of(&elem)?
                }
                (false, true) if sign > 0 => {
                    let l = self.info.integer(&v, self.frame)?;
                    let elem = self.info.index(&rhs, l, self.frame)?;
                    self.info.address_of(&elem)?
                }
                (false, true) => return Err("cannot subtract a pointer from an integer".into()),
                (false, false) => {
                    let l = self.info.integer(&v, self.frame)?;
                    let r = self.info.integer(&rhs, self.frame)?;
                    self.arithmetic(&v, &rhs, l.wrapping_add(sign * r))
                }
            };
        }
    }

    /// product: unary terms with `*`, `/` and `%` on integers.
    fn product(&mut self) -> Result<Value, String> {
        let mut v = self.unary()?;
        loop {
            let op = if self.eat("*") {
                '*'
            } else if self.eat("/") {
                '/'
            } else if self.eat("%") {
                '%'
            } else {
                return Ok(v);
            };
            v = self.info.through_reference(v, self.frame)?;
            let rhs = self.unary()?;
            let rhs = self.info.through_reference(rhs, self.frame)?;
            let l = self.info.integer(&v, self.frame)?;
            let r = self.info.integer(&rhs, self.frame)?;
            let n = match op {
                '*' => l.wrapping_mul(r),
                _ if r == 0 => return Err("division by zero".into()),
                '/' => l.wrapping_div(r),
                _ => l.wrapping_rem(r),
            };
            v = self.arithmetic(&v, &rhs, n);
        }
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat("*") {
            let v = self.unary()?;
            return self.info.deref(&v, self.frame);
        }
        if self.eat("&") {
            let v = self.unary()?;
            return self.info.address_of(&v);
        }
        if self.eat("-") {
            let v = self.unary()?;
            let n = self.info.integer(&v, self.frame)?;
            return Ok(self.int(n.wrapping_neg()));
        }
        // A cast: `(` type `)` unary.
        if self.peek() == Some(&Tok::Punct("(")) {
            let save = self.i;
            self.i += 1;
            let mut words = Vec::new();
            while let Some(t) = self.peek() {
                match t {
                    Tok::Ident(w) => words.push(w.clone()),
                    Tok::Punct("*") => words.push("*".into()),
                    _ => break,
                }
                self.i += 1;
            }
            if !words.is_empty() && self.eat(")") {
                let name = words.join(" ").replace(" *", "*");
                if let Some(ty) = self.info.type_named(&name) {
                    let v = self.unary()?;
                    return self.info.cast(v, ty, self.frame);
                }
            }
            self.i = save;
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Value, String> {
        let mut v = self.primary()?;
        loop {
            if self.eat(".") {
                let name = self.ident()?;
                let target = self.info.through_reference(v, self.frame)?;
                v = self.info.member(&target, &name, self.frame)?;
            } else if self.eat("->") {
                let name = self.ident()?;
                let target = self.info.deref(&v, self.frame)?;
                v = self.info.member(&target, &name, self.frame)?;
            } else if self.eat("[") {
                let i = self.expression()?;
                self.expect("]")?;
                let i = self.info.through_reference(i, self.frame)?;
                let i = self.info.integer(&i, self.frame)?;
                let base = self.info.through_reference(v, self.frame)?;
                v = self.info.index(&base, i, self.frame)?;
            } else {
                return Ok(v);
            }
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.peek().cloned() {
            Some(Tok::Ident(n)) => {
                self.i += 1;
                Ok(n)
            }
            _ => Err("expected a name".into()),
        }
    }

    fn primary(&mut self) -> Result<Value, String> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.i += 1;
                Ok(if i32::try_from(n).is_ok() {
                    self.int(n)
                } else {
                    self.long(n)
                })
            }
            Some(Tok::Ident(name)) => {
                self.i += 1;
                let missing = || format!("no symbol \"{name}\" in current context");
                match self.info.lookup(self.frame.pc(), &name) {
                    Some(var) => self.info.value(var, self.frame),
                    // In a C++ method, a member's name alone is `this->name`.
                    None => {
                        let this = self
                            .info
                            .lookup(self.frame.pc(), "this")
                            .ok_or_else(missing)?;
                        let this = self.info.value(this, self.frame)?;
                        let object = self.info.deref(&this, self.frame)?;
                        self.info
                            .member(&object, &name, self.frame)
                            .map_err(|_| missing())
                    }
                }
            }
            Some(Tok::Punct("(")) => {
                self.i += 1;
                let v = self.expression()?;
                self.expect(")")?;
                Ok(v)
            }
            Some(t) => Err(format!("unexpected {}", t.text())),
            None => Err("an expression is missing".into()),
        }
    }
}

pub(crate) fn evaluate(info: &DebugInfo, s: &str, frame: &dyn Frame) -> Result<Value, String> {
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        i: 0,
        info,
        frame,
    };
    let v = p.expression()?;
    if p.i != p.toks.len() {
        return Err(format!(
            "unexpected {} after the expression",
            p.toks[p.i].text()
        ));
    }
    Ok(v)
}
