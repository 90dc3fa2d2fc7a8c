//! Moving by source line, for `--batch` and the terminal UI: gdb's `step` and `next`, and
//! their reverse, on the DWARF line table.

use deja_debuginfo::DebugInfo;
use deja_replayer::runtime::FuncIndex;
use deja_replayer::{Session, Stop, StopPoint, StopReason};
use std::collections::HashMap;
use std::io::{Read, Seek};

/// Whether the innermost frame's instruction has a source line: where line steps apply.
pub(crate) fn has_line<R: Read + Seek + Send + 'static>(s: &Session<R>, info: &DebugInfo) -> bool {
    here(s, info, &mut Pcs::new()).is_some()
}

/// Instruction pcs by function, fetched once per line step.
type Pcs = HashMap<FuncIndex, Vec<u32>>;

/// The user's watchpoints (id, address, length) and the bytes they watch, as of some position
/// (`None` while the range is outside memory).
type Watched = Vec<(u32, u64, u64, Option<Vec<u8>>)>;

fn watched<R: Read + Seek + Send + 'static>(s: &Session<R>) -> Watched {
    s.stop_points()
        .iter()
        .filter_map(|(id, p)| match *p {
            StopPoint::Watchpoint { addr, len } => {
                Some((*id, addr, len, s.read_memory(addr, len).map(<[u8]>::to_vec)))
            }
            StopPoint::Breakpoint { .. } | StopPoint::CatchThrow => None,
        })
        .collect()
}

/// A user stop point that the single step just taken reached: a breakpoint at the next
/// instruction, or a watchpoint whose bytes it changed (`before` holds them as of the
/// previous position; it is brought up to date). A line step stops there, as gdb's `next`
/// stops at a breakpoint on the way. A write that leaves the bytes as they were is not seen
/// here, unlike in `continue`.
fn user_stop<R: Read + Seek + Send + 'static>(
    s: &Session<R>,
    before: &mut Watched,
) -> Option<StopReason> {
    let mut changed = None;
    for (id, addr, len, bytes) in before.iter_mut() {
        let now = s.read_memory(*addr, *len).map(<[u8]>::to_vec);
        if now != *bytes {
            *bytes = now;
            changed.get_or_insert(*id);
        }
    }
    if let Some(id) = changed {
        return Some(StopReason::Watchpoint(id));
    }
    let here = s.store().debug_frames().wasm_function_index_and_pc()?;
    s.stop_points().iter().find_map(|(id, p)| match *p {
        StopPoint::Breakpoint { func, pc } if (func, pc) == here => {
            Some(StopReason::Breakpoint(*id))
        }
        _ => None,
    })
}

/// The innermost frame's source position: (file, line), depth, and whether a statement of the
/// line table starts here. A row can start on a structural instruction (`block`, `loop`, an
/// inner `end`), which takes no step, so a statement starts here when a row starts anywhere
/// after the function's previous instruction, up to this one.
fn here<R: Read + Seek + Send + 'static>(
    s: &Session<R>,
    info: &DebugInfo,
    pcs: &mut Pcs,
) -> Option<((String, u32), usize, bool)> {
    let c = s.store().debug_frames();
    let depth = c.depth();
    let (func, pc) = c.wasm_function_index_and_pc()?;
    let loc = info.location(pc)?;
    let list = pcs
        .entry(func)
        .or_insert_with(|| s.module().instruction_pcs(func));
    let previous = match list.binary_search(&pc) {
        Ok(i) | Err(i) => i.checked_sub(1).map(|j| list[j]),
    };
    let statement = match previous {
        Some(p) => info.statement_in(p + 1, pc),
        None => info.is_statement_start(pc),
    };
    Some(((loc.file, loc.line), depth, statement))
}

/// Steps by source line, as gdb's `step` (`over` false: into calls that have line
/// information) and `next` (`over`: over calls); `reverse` goes back to the start of the
/// previous line. Falls back to one instruction where there is no line information.
pub(crate) fn line_step<R: Read + Seek + Send + 'static>(
    s: &mut Session<R>,
    info: &DebugInfo,
    over: bool,
    reverse: bool,
) -> Result<Stop, deja_replayer::Error> {
    let mut pcs = Pcs::new();
    let Some((line0, depth0, _)) = here(s, info, &mut pcs) else {
        return match (reverse, over) {
            (false, false) => s.step_forward(1),
            (true, false) => s.reverse_step(1),
            (false, true) => s.step_over(),
            (true, true) => s.reverse_step_over(),
        };
    };
    // A line longer than this many instructions (a loop on one line) stops where it got to.
    const LIMIT: u32 = 1 << 22;
    let mut target: Option<((String, u32), usize)> = None;
    // Whether the next move runs the current call out (forward) or back to its call.
    let mut out = false;
    let mut seen = watched(s);
    let start = s.position();
    for _ in 0..LIMIT {
        let before = s.position();
        let came_out = out;
        let stop = match (std::mem::take(&mut out), reverse) {
            (true, false) => s.finish()?,
            (true, true) => s.reverse_finish()?,
            (false, false) => s.step_forward(1)?,
            (false, true) => s.reverse_step(1)?,
        };
        if stop.position == before || stop.reason != StopReason::Step {
            return Ok(stop);
        }
        if came_out {
            // `finish` and `reverse_finish` watched the way themselves.
            seen = watched(s);
        } else if let Some(reason) = user_stop(s, &mut seen) {
            // Backward, a watched write is seen one step early: it is the instruction before
            // this position; stop after it, where `reverse-continue` stops.
            if reverse && matches!(reason, StopReason::Watchpoint(_)) {
                // The write right behind the start is where we stand (a stop there): not a
                // new one.
                if s.position() + 1 != start {
                    let after = s.step_forward(1)?;
                    return Ok(Stop { reason, ..after });
                }
            } else {
                return Ok(Stop {
                    reason,
                    position: s.position(),
                });
            }
        }
        let Some((line, depth, statement)) = here(s, info, &mut pcs) else {
            // No line here: a row of line 0 inside the function (optimized code has them)
            // goes on; a callee without line information is run out (backward: back to its
            // call); a caller without any ends the step.
            let depth = s.depth();
            if reverse && target.is_some() {
                // Before the target line's run: it starts at the next instruction.
                return s.step_forward(1);
            }
            if depth > depth0 {
                out = true;
                continue;
            }
            if depth == depth0 && depth > 0 {
                continue;
            }
            return Ok(stop);
        };
        if reverse {
            // Backward: find a different line (or frame), then go to the start of its run.
            if let Some(t) = &target {
                if t.0 == line && t.1 == depth {
                    continue;
                }
                if depth > t.1 {
                    if over {
                        // Back into a call that returned: back to the call, then look.
                        out = true;
                    } else {
                        // `rstep` enters the call, at the start of its last line, as gdb's
                        // reverse-step does.
                        target = Some((line, depth));
                    }
                    continue;
                }
                // One too far: the run of the target line starts at the next instruction, or
                // after the call this is (when back out of one).
                return if came_out {
                    s.step_over()
                } else {
                    s.step_forward(1)
                };
            }
            if depth > depth0 && over {
                // Back into a call that returned just before: back to the call.
                out = true;
                continue;
            }
            if depth != depth0 || line != line0 {
                target = Some((line, depth));
            }
            continue;
        }
        if depth > depth0 && over {
            // Into a call: run it out, then look where that lands.
            out = true;
            continue;
        }
        if depth > depth0 {
            // Into a call: on to the end of its prologue, where gdb stops (its parameters are
            // in place there): the first instruction at or after the prologue's end.
            let entry = s
                .store()
                .debug_frames()
                .wasm_function_index_and_pc()
                .and_then(|(f, pc)| {
                    let e = info.function_breakpoint(info.function_name(pc)?)?;
                    s.module().instruction_pcs(f).into_iter().find(|&p| p >= e)
                });
            if let Some(entry) = entry {
                for _ in 0..LIMIT {
                    let (d, pc) = {
                        let c = s.store().debug_frames();
                        (c.depth(), c.wasm_function_index_and_pc().map(|x| x.1))
                    };
                    if d != depth || pc == Some(entry) {
                        break;
                    }
                    let stop = s.step_forward(1)?;
                    if stop.reason != StopReason::Step {
                        return Ok(stop);
                    }
                    if let Some(reason) = user_stop(s, &mut seen) {
                        return Ok(Stop {
                            reason,
                            position: s.position(),
                        });
                    }
                }
            }
            return Ok(Stop {
                reason: StopReason::Step,
                position: s.position(),
            });
        }
        if depth != depth0 || (line != line0 && statement) {
            return Ok(stop);
        }
    }
    Ok(Stop {
        reason: StopReason::Step,
        position: s.position(),
    })
}
