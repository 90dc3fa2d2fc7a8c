//! `--batch` at source level, on the DWARF reader's C test program (`debuginfo/tests/c`): a
//! breakpoint on a line and on a function, `where` with files and lines, `print` of
//! variables, struct fields, array elements and pointers (text and JSON), `vars`, and a
//! watchpoint on a C expression followed back to its write.

use deja_recorder::{Settings, record};
use deja_replayer::traces::TraceReader;
use deja_replayer::{Session, SessionOptions};
use deja_runtime::wasi::{self, OutputSink, StdinSource, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Linker, Module, Store};
use serde_json::Value;
use std::io::Cursor;
use std::path::Path;

fn session(opt: &str) -> Session<Cursor<Vec<u8>>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(match opt {
        "bank" => "../examples/serve/bank.wasm".to_string(),
        opt => format!("../debuginfo/tests/c/shapes-{opt}.wasm"),
    });
    let module = Module::new(&std::fs::read(path).unwrap()).unwrap();
    let mut b = WasiCtxBuilder::new();
    b.args(["shapes"])
        .stdin(StdinSource::Null)
        .stdout(OutputSink::buffer().0)
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
    Session::open(
        reader,
        Some(wasi::pending_output),
        SessionOptions::default(),
        None,
    )
    .unwrap()
}

fn batch(opt: &str, commands: &str, json: bool) -> (String, usize) {
    let mut s = session(opt);
    let mut out = Vec::new();
    let failed =
        deja_tui::batch::run(&mut s, commands.as_bytes(), &mut out, json, None, &|| false).unwrap();
    (String::from_utf8(out).unwrap(), failed)
}

fn results(opt: &str, commands: &str) -> Vec<Value> {
    let (out, _) = batch(opt, commands, true);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn line_breakpoints_where_print_and_vars_in_json() {
    let r = results(
        "O0",
        "goto start\nbreak shapes.c:39\ncontinue\nwhere\nprint *s\nprint s->corners[1]\n\
         print /x scale\nprint label\nprint s->next->name\nvars\ncontinue\nprint doubled\n\
         p/x doubled\n",
    );
    assert_eq!(r[1]["line"], 39);
    assert!(r[1]["file"].as_str().unwrap().ends_with("shapes.c"));
    assert_eq!(r[2]["stop"], "breakpoint");
    let frames = r[3]["frames"].as_array().unwrap();
    assert_eq!(frames[0]["function"], "report");
    assert_eq!(frames[0]["line"], 39);
    assert_eq!(frames[1]["function"], "main");
    assert_eq!(frames[1]["line"], 47, "the caller's line is its call's");
    assert!(frames[1]["file"].as_str().unwrap().ends_with("shapes.c"));
    let star = r[4]["value"].as_str().unwrap();
    assert!(star.starts_with("{name = 0x"), "{star}");
    assert!(
        star.contains(
            "\"tri\", color = GREEN, corners = {{x = 0, y = 0}, {x = 4, y = 0}, {x = 0, y = 3}}"
        ),
        "{star}"
    );
    assert_eq!(r[4]["type"], "struct shape");
    assert_eq!(r[5]["value"], "{x = 4, y = 0}");
    assert_eq!(r[6]["value"], "0x1");
    assert_eq!(r[7]["value"], "\"tri\"");
    assert!(r[8]["value"].as_str().unwrap().ends_with("\"big\""));
    let vars: Vec<(&str, &str)> = r[9]["vars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["value"].as_str().unwrap()))
        .collect();
    assert!(vars.contains(&("scale", "1")), "{vars:?}");
    assert!(vars.contains(&("doubled", "12")), "{vars:?}");
    // The second report: what the program printed ("doubled=96").
    assert_eq!(r[11]["value"], "96");
    // gdb's spelling with the format glued on.
    assert_eq!(r[12]["value"], "0x60");
}

#[test]
fn function_breakpoints_and_a_watched_expression_followed_back() {
    let r = results(
        "O0",
        "goto start\nbreak report\ncontinue\nwhere\nprint scale\nwatch s->corners[1].x\n\
         rcontinue\nwhere\n",
    );
    // After the prologue: the parameters are already in place.
    assert_eq!(r[1]["line"], 34);
    assert_eq!(r[2]["stop"], "breakpoint");
    assert_eq!(r[3]["frames"][0]["function"], "report");
    assert_eq!(r[4]["value"], "1");
    assert_eq!(r[5]["len"], 4);
    // Back to where main initialised the corner.
    assert_eq!(r[6]["stop"], "watchpoint");
    assert_eq!(r[7]["frames"][0]["function"], "main");
}

#[test]
fn optimized_code_shows_inlined_frames() {
    let r = results(
        "O2",
        "goto start\nbreak shapes.c:29\ncontinue\nwhere\nprint scale\n",
    );
    assert_eq!(r[2]["stop"], "breakpoint");
    let frames = r[3]["frames"].as_array().unwrap();
    assert_eq!(frames[0]["name"], "area2");
    assert_eq!(frames[0]["inlined"], true);
    assert_eq!(frames[0]["line"], 29);
    assert_eq!(frames[1]["function"], "report");
    assert_eq!(frames[1]["line"], 34, "where area2 was inlined");
    assert_eq!(frames[0]["pc"], frames[1]["pc"], "one Wasm frame");
}

#[test]
fn text_results_and_errors() {
    let (out, failed) = batch(
        "O0",
        "goto start\nbreak shapes.c:39\ncontinue\np counter\np nosuch\np s->nosuch\nprint\n\
         break other.c:3\nbreak shapes.c:x\nwatch scale\n",
        false,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[3].contains("value \"7\"") && lines[3].contains("type \"int\""),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[4],
        "p nosuch: error: no symbol \"nosuch\" in current context"
    );
    assert!(lines[5].contains("no member named nosuch"), "{}", lines[5]);
    assert!(lines[6].contains("print what?"), "{}", lines[6]);
    assert!(
        lines[7].contains("no source file `other.c`"),
        "{}",
        lines[7]
    );
    assert!(
        lines[8].contains("`x` is not a line number"),
        "{}",
        lines[8]
    );
    // `scale` is in linear memory at -O0: watching it works.
    assert!(lines[9].contains(" id "), "{}", lines[9]);
    assert_eq!(failed, 5);
}

#[test]
fn without_dwarf_print_says_why() {
    let wat = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
    let module = Module::new(&wat).unwrap();
    let mut store = Store::new(Config::default(), ());
    let (_, trace) = record(
        &mut store,
        &Linker::new(),
        &module,
        Vec::new(),
        Settings::new("t"),
    )
    .unwrap();
    let reader = TraceReader::new(Cursor::new(trace)).unwrap();
    let mut s = Session::open(reader, None, SessionOptions::default(), None).unwrap();
    let mut out = Vec::new();
    deja_tui::batch::run(
        &mut s,
        "print x\n".as_bytes(),
        &mut out,
        false,
        None,
        &|| false,
    )
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("no debug information (DWARF)"),
    );
}

#[test]
fn steps_by_source_line_in_both_directions() {
    let r = results(
        "O0",
        "goto start\nbreak report\ncontinue\ndelete 1\nstep\nwhere\nfinish\nnext\nwhere\nnext\nwhere\n\
         rnext\nwhere\nrstep\nwhere\nstepi\nrstepi\nnexti\n",
    );
    let frame = |i: usize| {
        (
            r[i]["frames"][0]["function"].clone(),
            r[i]["frames"][0]["line"].clone(),
            r[i]["frames"].as_array().unwrap().len(),
        )
    };
    // `step` enters area2 after its prologue, on its first line.
    assert_eq!(r[4]["stop"], "step");
    assert_eq!(frame(5), ("area2".into(), 29.into(), 5));
    // `next` from the line of the call: line 35 declares `label` and has no code.
    assert_eq!(frame(8), ("report".into(), 36.into(), 4));
    assert_eq!(frame(10), ("report".into(), 37.into(), 4));
    assert_eq!(
        frame(12),
        ("report".into(), 36.into(), 4),
        "rnext goes back a line"
    );
    // rstep from line 36 goes back into line 34's call, to the start of area2's last line,
    // as gdb's reverse-step does.
    assert_eq!(
        frame(14),
        ("area2".into(), 30.into(), 5),
        "rstep enters the call"
    );
    // By instruction: one position each.
    let p = |i: usize| r[i]["position"].as_u64().unwrap();
    assert_eq!(p(15), p(14) + 1);
    assert_eq!(p(16), p(14));
    assert!(p(17) > p(16));
}

/// Lines that are only a call to a function returning nothing (`deposit(...)` in the serve
/// example): `next` stops on the next line, `rnext` back on the previous one.
#[test]
fn next_over_void_calls_stops_on_each_line() {
    let r = results(
        "bank",
        "goto start\nbreak bank.c:39\ncontinue\ndelete 1\nnext\nwhere\nnext\nwhere\nrnext\nwhere\n",
    );
    assert_eq!(r[2]["stop"], "breakpoint");
    let line = |i: usize| r[i]["frames"][0]["line"].clone();
    assert_eq!(line(5), 40);
    assert_eq!(line(7), 38, "the loop's increment");
    assert_eq!(line(9), 40);
}

/// Line steps stop at the user's stop points on the way, as gdb's `next` does: a watched
/// variable's write inside the line (forward: right after it; backward: right after the write
/// before, not the one just behind), and a breakpoint met while running a call out.
#[test]
fn line_steps_stop_at_watchpoints_and_breakpoints_on_the_way() {
    let r = results(
        "bank",
        "goto start\nbreak main\ncontinue\nwatch round\nnext\nnext\nbreak bank.c:40\nnext\n\
         delete 3\nnext\nnext\nrnext\nrnext\nrnext\n",
    );
    let stops: Vec<(&str, u64)> = r
        .iter()
        .filter(|v| v.get("stop").is_some())
        .map(|v| (v["stop"].as_str().unwrap(), v["position"].as_u64().unwrap()))
        .collect();
    let names: Vec<&str> = stops.iter().map(|s| s.0).collect();
    assert_eq!(
        names,
        [
            "start",
            "breakpoint", // main
            "watchpoint", // round = 1
            "step",       // line 39
            "breakpoint", // line 40, reached while running deposit() out
            "step",       // line 38 again
            "watchpoint", // round++
            "step",       // back to line 40
            "step",       // back to line 39
            "watchpoint", // back to round = 1, skipping round++ right behind the start
        ],
        "{r:#?}"
    );
    assert_eq!(stops[9].1, stops[2].1, "the same write of round, backward");
}

/// `vars N` counts frames as `where` lists them, an inlined call being a frame of its own,
/// and shows that frame's variables only (the inlined function's are not its caller's).
#[test]
fn vars_counts_inlined_frames_as_where_does() {
    let r = results(
        "O2",
        "goto start\nbreak shapes.c:29\ncontinue\nwhere\nvars 0\nvars 1\n",
    );
    assert_eq!(r[2]["stop"], "breakpoint", "{r:#?}");
    let frames = r[3]["frames"].as_array().unwrap();
    assert_eq!(frames[0]["name"], "area2");
    assert_eq!(frames[0]["inlined"], true);
    assert_eq!(frames[1]["function"], "report");
    let names = |v: &Value| -> Vec<String> {
        v["vars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect()
    };
    let inner = names(&r[4]);
    assert!(
        inner
            .iter()
            .all(|n| ["a", "b", "c", "cross"].contains(&n.as_str())),
        "{inner:?}"
    );
    assert!(inner.iter().any(|n| n == "a"), "{inner:?}");
    let outer = names(&r[5]);
    assert!(
        outer.iter().any(|n| n == "s") && outer.iter().any(|n| n == "scale"),
        "{outer:?}"
    );
    assert!(!outer.iter().any(|n| n == "cross"), "{outer:?}");
}
