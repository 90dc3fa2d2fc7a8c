//! Moving by source line, for `--batch` and the terminal UI: gdb's `step` and `next`, and
//! their reverse, on the DWARF line table.

use deja_debuginfo::DebugInfo;
use deja_replayer::{Session, Stop, StopReason};
use std::io::{Read, Seek};

/// Whether the innermost frame's instruction has a source line: where line steps apply.
pub(crate) fn has_line<R: Read + Seek + Send + 'static>(s: &Session<R>, info: &DebugInfo) -> bool {
    here(s, info).is_some()
}

/// The innermost frame's source position: (file, line), depth.
fn here<R: Read + Seek + Send + 'static>(
    s: &Session<R>,
    info: &DebugInfo,
) -> Option<((String, u32), usize, bool)> {
    let c = s.store().debug_frames();
    let depth = c.depth();
    let (_, pc) = c.wasm_function_index_and_pc()?;
    let loc = info.location(pc)?;
    Some(((loc.file, loc.line), depth, info.is_statement_start(pc)))
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
    let Some((line0, depth0, _)) = here(s, info) else {
        return if reverse {
            s.reverse_step(1)
        } else {
            s.step_forward(1)
        };
    };
    // A line longer than this many instructions (a loop on one line) stops where it got to.
    const LIMIT: u32 = 1 << 22;
    let mut target = None;
    for _ in 0..LIMIT {
        let before = s.position();
        let stop = if reverse {
            s.reverse_step(1)?
        } else {
            s.step_forward(1)?
        };
        if stop.position == before || stop.reason != StopReason::Step {
            return Ok(stop);
        }
        let Some((line, depth, statement)) = here(s, info) else {
            // No line here: a row of line 0 inside the function (optimized code has them)
            // goes on; a callee without line information is run to its end (backward: to its
            // call); a caller without any ends the step.
            let depth = s.depth();
            if depth > depth0 {
                let stop = if reverse {
                    s.reverse_finish()?
                } else {
                    s.finish()?
                };
                if stop.reason != StopReason::Step {
                    return Ok(stop);
                }
                continue;
            }
            if reverse && target.is_some() {
                // Before the target line's run: it starts at the next instruction.
                return s.step_forward(1);
            }
            if depth == depth0 && depth > 0 {
                continue;
            }
            return Ok(stop);
        };
        if depth > depth0 && !over && !reverse {
            // Into a call: on to the end of its prologue, where gdb stops (its parameters are
            // in place there).
            let entry = s
                .store()
                .debug_frames()
                .wasm_function_index_and_pc()
                .and_then(|(_, pc)| info.function_name(pc))
                .and_then(|name| info.function_breakpoint(name));
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
                }
            }
            return Ok(Stop {
                reason: StopReason::Step,
                position: s.position(),
            });
        }
        if depth > depth0 && over {
            // Into a call: run it to its end (backward: to its start).
            let stop = if reverse {
                s.reverse_finish()?
            } else {
                s.finish()?
            };
            if stop.reason != StopReason::Step {
                return Ok(stop);
            }
            continue;
        }
        if !reverse {
            let moved = depth != depth0 || line != line0;
            if moved && (statement || depth != depth0) {
                return Ok(stop);
            }
            continue;
        }
        // Backward: find a different line (or frame), then go to the start of its run.
        match &target {
            None if depth != depth0 || line != line0 => target = Some((line, depth)),
            None => {}
            Some(t) if *t != (line, depth) => {
                // One too far: the run of the target line starts at the next instruction.
                return s.step_forward(1);
            }
            Some(_) => {}
        }
    }
    Ok(Stop {
        reason: StopReason::Step,
        position: s.position(),
    })
}
