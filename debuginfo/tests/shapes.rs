//! The DWARF reader on a C program of its own (`tests/c/shapes.c`, built by `tests/c/build.sh`
//! at -O0 and -O2): recorded, replayed in a session, stopped on a source line, and its
//! variables read through DWARF compared with what the program itself printed there.

use deja_debuginfo::{DebugInfo, SessionFrame};
use deja_recorder::{Settings, record};
use deja_replayer::runtime::{FuncIndex, Module};
use deja_replayer::traces::TraceReader;
use deja_replayer::{Session, SessionOptions, StopReason};
use deja_runtime::wasi::{self, OutputSink, StdinSource, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Linker, Store};
use std::io::Cursor;
use std::path::Path;

fn wasm(opt: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/c/shapes-{opt}.wasm")))
        .unwrap()
}

fn session(bytes: &[u8]) -> Session<Cursor<Vec<u8>>> {
    let module = Module::new(bytes).unwrap();
    let (stdout, _) = OutputSink::buffer();
    let mut b = WasiCtxBuilder::new();
    b.args(["shapes"])
        .stdin(StdinSource::Null)
        .stdout(stdout)
        .stderr(OutputSink::buffer().0);
    let mut store = Store::new(Config::default(), b.build().unwrap());
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    let (_, trace) = record(
        &mut store,
        &linker,
        &module,
        Vec::new(),
        Settings::new("test"),
    )
    .unwrap();
    let reader = TraceReader::new(Cursor::new(trace)).unwrap();
    let mut s = Session::open(
        reader,
        Some(wasi::pending_output),
        SessionOptions::default(),
        None,
    )
    .unwrap();
    s.seek(s.start()).unwrap();
    s
}

fn func_of(module: &Module, pc: u32) -> FuncIndex {
    (module.num_imported_funcs()..module.num_funcs())
        .map(FuncIndex::from_u32)
        .find(|f| module.instruction_pcs(*f).contains(&pc))
        .unwrap()
}

/// Breakpoints on every statement of `shapes.c:line`; returns the line chosen.
fn break_at(s: &mut Session<Cursor<Vec<u8>>>, info: &DebugInfo, line: u32) -> u32 {
    break_in(s, info, "shapes.c", line)
}

/// Breakpoints on every statement of `file:line`; returns the line chosen.
fn break_in(s: &mut Session<Cursor<Vec<u8>>>, info: &DebugInfo, file: &str, line: u32) -> u32 {
    let (loc, pcs) = info.line_pcs(file, line).expect("code on the line");
    let module = s.module().clone();
    for pc in pcs {
        s.add_breakpoint(func_of(&module, pc), Some(pc)).unwrap();
    }
    loc.line
}

fn print(s: &Session<Cursor<Vec<u8>>>, info: &DebugInfo, e: &str) -> String {
    let f = SessionFrame::new(s, 0).unwrap();
    match info.eval(e, &f) {
        Ok(v) => info.format(&v, &f, false),
        Err(err) => format!("error: {err}"),
    }
}

/// The program's own report lines so far: (name, color, doubled, scale, label).
fn reports(s: &Session<Cursor<Vec<u8>>>) -> Vec<Vec<String>> {
    let (out, _) = s.output();
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("report "))
        .map(|l| {
            l.split(' ')
                .map(|w| w.split_once('=').map_or(w, |(_, v)| v).to_string())
                .collect()
        })
        .collect()
}

const RETURN_LINE: u32 = 39;

#[test]
fn unoptimized_every_kind_of_variable_matches_what_the_program_printed() {
    let bytes = wasm("O0");
    let info = DebugInfo::new(&bytes).unwrap().expect("DWARF");
    let mut s = session(&bytes);
    assert_eq!(break_at(&mut s, &info, RETURN_LINE), RETURN_LINE);
    for round in 0..2 {
        let stop = s.continue_forward().unwrap();
        assert!(matches!(stop.reason, StopReason::Breakpoint(_)), "{stop:?}");
        let f = SessionFrame::new(&s, 0).unwrap();
        let loc = info.location(deja_debuginfo::Frame::pc(&f)).unwrap();
        assert_eq!(loc.short(), format!("shapes.c:{RETURN_LINE}"));
        let frames = info.frames_at(deja_debuginfo::Frame::pc(&f));
        assert_eq!(frames[0].function, "report");
        let printed = &reports(&s)[round];
        let (name, color, doubled, scale, label) = (
            &printed[0],
            &printed[1],
            &printed[2],
            &printed[3],
            &printed[4],
        );
        assert_eq!(&print(&s, &info, "doubled"), doubled);
        assert_eq!(&print(&s, &info, "scale"), scale);
        assert_eq!(print(&s, &info, "label"), format!("\"{label}\""));
        assert_eq!(&print(&s, &info, "(int)s->color"), color);
        assert!(print(&s, &info, "s->name").ends_with(&format!(" \"{name}\"")));
        assert_eq!(print(&s, &info, "counter"), "7");
        assert!(print(&s, &info, "greeting").ends_with(" \"hello\""));
    }
    // The second report is on shapes[1]: the struct, an enum, an array of structs, a null
    // pointer, a member through a pointer, an element, an address, arithmetic.
    assert_eq!(
        print(&s, &info, "*s"),
        format!(
            "{{name = {}, color = BLUE, corners = {{{{x = 1, y = 1}}, {{x = 9, y = 1}}, {{x = 1, y = 7}}}}, next = 0x0}}",
            print(&s, &info, "s->name")
        )
    );
    assert_eq!(print(&s, &info, "shapes[0].color"), "GREEN");
    assert_eq!(print(&s, &info, "shapes[0].next->corners[1].x"), "9");
    assert_eq!(print(&s, &info, "s->corners[2]"), "{x = 1, y = 7}");
    assert_eq!(print(&s, &info, "&shapes[1]"), print(&s, &info, "s"));
    assert_eq!(print(&s, &info, "*&counter"), "7");
    assert_eq!(print(&s, &info, "label[1]"), "105 'i'");
    assert_eq!(print(&s, &info, "counter + 1"), "8");
    // Arithmetic as C does it: precedence, pointers scaled by their pointee's size on either
    // side, a pointer difference in elements, 64 bits when a literal needs them.
    assert_eq!(print(&s, &info, "counter * 3 + 1"), "22");
    assert_eq!(print(&s, &info, "(counter + 1) / 3 % 2"), "0");
    assert_eq!(
        print(&s, &info, "1 + s->corners"),
        print(&s, &info, "&s->corners[1]")
    );
    assert_eq!(print(&s, &info, "*(1 + s->corners)"), "{x = 9, y = 1}");
    assert_eq!(print(&s, &info, "&shapes[1] - &shapes[0]"), "1");
    assert_eq!(print(&s, &info, "s - shapes"), "1");
    assert_eq!(print(&s, &info, "counter * 1000000000000"), "7000000000000");
    assert_eq!(print(&s, &info, "counter / 0"), "error: division by zero");
    assert_eq!(
        print(&s, &info, "counter )"),
        "error: unexpected `)` after the expression"
    );
    assert_eq!(
        print(&s, &info, "(struct point *)s->corners"),
        print(&s, &info, "&s->corners[0]")
    );
    let f = SessionFrame::new(&s, 0).unwrap();
    let v = info.eval("scale", &f).unwrap();
    assert_eq!(info.format(&v, &f, true), "0x2");
    assert_eq!(
        info.type_name(&info.eval("s", &f).unwrap()),
        "struct shape *"
    );
    assert_eq!(info.type_name(&info.eval("label", &f).unwrap()), "char[8]");
    // What a watchpoint on a variable watches.
    let counter = info.eval("counter", &f).unwrap();
    assert_eq!(info.extent(&counter).unwrap().1, 4);
    // Errors say what is wrong.
    assert_eq!(
        print(&s, &info, "nosuch"),
        "error: no symbol \"nosuch\" in current context"
    );
    assert!(print(&s, &info, "s->nosuch").contains("no member named nosuch"));
    assert!(print(&s, &info, "*scale").contains("non-pointer"));
    // The locals in scope: parameters and variables of report.
    let names: Vec<&str> = info
        .locals(deja_debuginfo::Frame::pc(&f))
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    for n in ["s", "scale", "doubled", "label"] {
        assert!(names.contains(&n), "{names:?}");
    }
}

#[test]
fn optimized_locals_in_wasm_locals_and_an_inlined_function() {
    let bytes = wasm("O2");
    let info = DebugInfo::new(&bytes).unwrap().expect("DWARF");
    let mut s = session(&bytes);
    break_at(&mut s, &info, RETURN_LINE);
    let stop = s.continue_forward().unwrap();
    assert!(matches!(stop.reason, StopReason::Breakpoint(_)));
    let printed = &reports(&s)[0];
    // At -O2 `scale` lives in a Wasm local (DW_OP_WASM_location), `label` in memory.
    assert_eq!(&print(&s, &info, "scale"), &printed[3]);
    assert_eq!(print(&s, &info, "label"), format!("\"{}\"", printed[4]));
    let f = SessionFrame::new(&s, 0).unwrap();
    let scale = info.eval("scale", &f).unwrap();
    assert!(info.extent(&scale).unwrap_err().contains("Wasm local"));
    assert_eq!(print(&s, &info, "counter"), "7");

    // area2 is inlined into report: a pc in its code shows both frames.
    let mut s = session(&bytes);
    let line = break_at(&mut s, &info, 29);
    assert_eq!(line, 29);
    let stop = s.continue_forward().unwrap();
    assert!(matches!(stop.reason, StopReason::Breakpoint(_)));
    let f = SessionFrame::new(&s, 0).unwrap();
    let frames = info.frames_at(deja_debuginfo::Frame::pc(&f));
    let names: Vec<(&str, bool)> = frames
        .iter()
        .map(|f| (f.function.as_str(), f.inlined))
        .collect();
    assert_eq!(names, vec![("area2", true), ("report", false)]);
    assert_eq!(
        frames[1].location.as_ref().unwrap().line,
        34,
        "the inlined call's line"
    );
    assert_eq!(
        info.function_name(deja_debuginfo::Frame::pc(&f)),
        Some("report")
    );
}

#[test]
fn lines_functions_and_a_module_without_dwarf() {
    let bytes = wasm("O0");
    let info = DebugInfo::new(&bytes).unwrap().unwrap();
    // A breakpoint on a line without code moves to the next line with code.
    let (loc, pcs) = info.line_pcs("shapes.c", 40).unwrap();
    assert!(loc.line > 40, "{loc:?}");
    assert!(!pcs.is_empty());
    assert!(info.line_pcs("shapes.c", 10_000).is_none());
    assert!(info.line_pcs("other.c", 39).is_none());
    // A function breakpoint lands after the prologue, on the function's first line.
    let pc = info.function_breakpoint("report").unwrap();
    assert_eq!(info.location(pc).unwrap().line, 34);
    assert!(info.function_breakpoint("nosuch").is_none());
    assert!(info.function_names().any(|n| n == "main"));
    let wat = deja_runtime::Module::new(b"\0asm\x01\0\0\0").unwrap();
    assert!(DebugInfo::new(wat.bytes()).unwrap().is_none());
}

/// Variables the optimizer turned into constants (`DW_AT_const_value`, `consts.c` at -O2)
/// print their values, not "optimized out"; arrays of two dimensions and bit fields.
#[test]
fn constants_of_optimized_code_have_their_values() {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/consts-O2.wasm"))
        .unwrap();
    let info = DebugInfo::new(&bytes).unwrap().expect("DWARF");
    let mut s = session(&bytes);
    break_in(&mut s, &info, "consts.c", 19);
    let stop = s.continue_forward().unwrap();
    assert!(matches!(stop.reason, StopReason::Breakpoint(_)), "{stop:?}");
    assert_eq!(print(&s, &info, "factor"), "3");
    assert_eq!(print(&s, &info, "big"), "5000000000");
    assert_eq!(print(&s, &info, "factor * 2"), "6");
    assert_eq!(print(&s, &info, "big + factor"), "5000000003");
    let f = SessionFrame::new(&s, 0).unwrap();
    let v = info.eval("factor", &f).unwrap();
    assert_eq!(info.type_name(&v), "const int");
    assert!(info.extent(&v).is_err(), "a constant is not in memory");
    // A two-dimensional array: whole, a row, an element.
    assert_eq!(print(&s, &info, "grid"), "{{1, 2, 3}, {4, 5, 6}}");
    assert_eq!(print(&s, &info, "grid[1]"), "{4, 5, 6}");
    assert_eq!(print(&s, &info, "grid[1][2]"), "6");
    assert_eq!(print(&s, &info, "*grid[1]"), "4");
    let g = info.eval("grid[1]", &f).unwrap();
    assert_eq!(info.type_name(&g), "int[3]");
    assert_eq!(info.extent(&g).unwrap().1, 12);
    assert_eq!(info.children(&info.eval("grid", &f).unwrap(), &f).len(), 2);
    // Bit fields, a signed one among them.
    assert_eq!(
        print(&s, &info, "flags"),
        "{ready = 1, level = -3, mode = 5}"
    );
    assert_eq!(print(&s, &info, "flags.level"), "-3");
    assert_eq!(print(&s, &info, "flags.mode * 2"), "10");
}

/// C++ (`classes.cpp` at -O0): types and functions in a namespace, qualified; a method's
/// `this`, and its members by their names alone; members of a base class; a reference,
/// shown and followed as gdb does; a method defined in its class, by its qualified name.
#[test]
fn cpp_namespaces_classes_bases_references_and_methods() {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/classes-O0.wasm"))
            .unwrap();
    let info = DebugInfo::new(&bytes).unwrap().expect("DWARF");
    let mut s = session(&bytes);
    break_in(&mut s, &info, "classes.cpp", 30);
    let stop = s.continue_forward().unwrap();
    assert!(matches!(stop.reason, StopReason::Breakpoint(_)), "{stop:?}");
    let f = SessionFrame::new(&s, 0).unwrap();
    let pc = deja_debuginfo::Frame::pc(&f);
    assert_eq!(info.frames_at(pc)[0].function, "geo::Rect::area");
    let this = info.eval("this", &f).unwrap();
    assert_eq!(info.type_name(&this), "const class geo::Rect *");
    assert_eq!(
        print(&s, &info, "*this"),
        "{<geo::Shape> = {_vptr$Shape = 0x000004e4, name = 0x0000042d \"rect\", sides = 4}, w = 3, h = 4}"
    );
    assert_eq!(print(&s, &info, "w * h"), "12");
    assert_eq!(
        print(&s, &info, "sides"),
        "4",
        "a base's member through this"
    );
    assert!(print(&s, &info, "name").ends_with("\"rect\""));
    assert_eq!(print(&s, &info, "a"), "12");
    // In main: the object, a member of its base, a reference to the base.
    s.finish().unwrap();
    assert!(print(&s, &info, "r.name").ends_with("\"rect\""));
    assert_eq!(print(&s, &info, "r.w"), "3");
    let f = SessionFrame::new(&s, 0).unwrap();
    let r = info.eval("s", &f).unwrap();
    assert_eq!(info.type_name(&r), "const class geo::Shape &");
    assert!(print(&s, &info, "s").starts_with("@0x00011498: {_vptr$Shape = "));
    assert_eq!(print(&s, &info, "s.sides"), "4");
    // A method defined in its class, by the name gdb gives it.
    assert!(info.function_breakpoint("geo::Point::dot").is_some());
}
