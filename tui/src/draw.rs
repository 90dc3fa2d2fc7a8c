//! Drawing: `impl Widget for &App`. Everything is computed from the app state; nothing here
//! talks to the worker.

use crate::app::{App, Focus, PromptKind};
use crate::view::EventKind;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

const HELP: &[(&str, &str)] = &[
    (
        "s / S",
        "step / reverse step (a C line; i / I: one instruction)",
    ),
    ("n / N", "next / reverse next (over calls; by C line)"),
    ("f / F", "finish / reverse finish (out to the caller)"),
    (
        "c / C",
        "continue / reverse continue (to a breakpoint or watchpoint)",
    ),
    (
        "b / B",
        "toggle a breakpoint here / at FILE:LINE or FUNCTION",
    ),
    (
        "w / W",
        "watch ADDR LEN or EXPR / go back to EXPR's last write",
    ),
    ("D", "delete a breakpoint or watchpoint by its number"),
    ("g", "go to a position, or a percentage like 50%"),
    ("[ / ]", "previous / next host call"),
    ("Home / End", "start / end of the run"),
    ("u / d", "select the caller / callee frame"),
    (
        "L / p",
        "C variables or Wasm locals / print a C expression (/x: hex)",
    ),
    (
        "m / x",
        "show memory at an address / values in hex or decimal",
    ),
    ("v", "v128 values: one hex number, or lanes i8x16 ... f64x2"),
    ("Tab", "cycle focus: code, frames, locals, memory, events"),
    (
        "Up / Down",
        "move in the focused pane; Enter: go to an event, open a variable",
    ),
    (
        "click",
        "on the timeline: jump there; on a frame: select it",
    ),
    (
        "Esc",
        "cancel a long operation (also Ctrl-C), close help or a prompt",
    ),
    ("?", "this help"),
    ("q", "quit"),
];

impl App {
    /// `style` with foreground colour `c`, or unchanged without colours.
    fn fg(&self, style: Style, c: Color) -> Style {
        if self.color { style.fg(c) } else { style }
    }

    fn block(&self, title: String, focused: bool) -> Block<'static> {
        // Without colour, the focused pane's title is in reverse video.
        let (border, title_style) = match (focused, self.color) {
            (true, true) => (Style::default().fg(Color::Yellow), Style::default()),
            (true, false) => (
                Style::default().add_modifier(Modifier::BOLD),
                Style::default().add_modifier(Modifier::REVERSED),
            ),
            _ => (Style::default(), Style::default()),
        };
        Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(title, title_style))
            .border_style(border)
    }

    /// Numbered `type value` lines; when they do not all fit in `fit` lines, the first ones
    /// (or with `tail`, the last ones: the top of a stack).
    fn pairs(
        &self,
        items: &[(String, String)],
        empty: &str,
        fit: usize,
        tail: bool,
    ) -> Vec<Line<'static>> {
        if items.is_empty() {
            return vec![Line::from(Span::styled(
                empty.to_string(),
                self.fg(Style::default(), Color::DarkGray),
            ))];
        }
        let skip = if tail {
            items.len().saturating_sub(fit)
        } else {
            0
        };
        items
            .iter()
            .enumerate()
            .skip(skip)
            .take(fit)
            .map(|(i, (t, v))| Line::from(format!("{i:>2} {t:<4} {v}")))
            .collect()
    }
}

/// A pane title with a count, saying how many are hidden when not all fit.
fn counted(what: &str, shown: usize, total: usize) -> String {
    if total > shown {
        format!("{what} ({shown} of {total})")
    } else {
        format!("{what} ({total})")
    }
}

/// The smallest terminal the layout fits.
pub const MIN_SIZE: (u16, u16) = (60, 16);

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
            let text = format!(
                "terminal too small: {}x{}, deja needs at least {}x{} (q quits)",
                area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
            );
            Paragraph::new(text)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .render(area, buf);
            return;
        }
        let [main, timeline, status] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(main);
        let [code_area, output_area, events_area] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(5),
            Constraint::Length(6),
        ])
        .areas(left);
        let globals_height = self
            .view
            .as_ref()
            .map_or(1, |v| v.globals.len().clamp(1, 3) as u16)
            + 2;
        let [
            frames_area,
            locals_area,
            stack_area,
            globals_area,
            memory_area,
        ] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Fill(3),
            Constraint::Fill(2),
            Constraint::Length(globals_height),
            Constraint::Length(6),
        ])
        .areas(right);

        let Some(view) = &self.view else {
            Paragraph::new("opening the trace…")
                .block(self.block("deja".into(), false))
                .render(main, buf);
            self.render_status(status, buf);
            return;
        };

        // Code.
        let cursor = self
            .code_cursor
            .or_else(|| view.code.iter().position(|l| l.current))
            .unwrap_or(0);
        let height = code_area.height.saturating_sub(2) as usize;
        let first = cursor.saturating_sub(height / 2);
        let code: Vec<Line> = view
            .code
            .iter()
            .enumerate()
            .skip(first)
            .take(height)
            .map(|(i, l)| {
                let marker = match (l.current, l.breakpoint) {
                    (true, true) => "▶●",
                    (true, false) => "▶ ",
                    (false, true) => " ●",
                    _ => "  ",
                };
                let mut style = Style::default();
                if l.source {
                    style = self.fg(style, Color::Green);
                }
                if l.current {
                    style = self.fg(style, Color::Yellow).add_modifier(Modifier::BOLD);
                }
                if self.focus == Focus::Code && self.code_cursor == Some(i) {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                let offset = l
                    .offset
                    .map_or_else(|| "      ".to_string(), |o| format!("{o:>6x}"));
                Line::from(vec![
                    Span::styled(marker.to_string(), self.fg(Style::default(), Color::Red)),
                    Span::styled(offset, self.fg(Style::default(), Color::DarkGray)),
                    Span::styled(l.text.trim_end().to_string(), style),
                ])
            })
            .collect();
        let mut title = view.frames.get(view.selected_frame).map_or_else(
            || "code (no frame)".to_string(),
            |f| format!("code: {}", f.name),
        );
        if let Some(loc) = &view.source_location {
            title.push_str(&format!(" · {loc}"));
        }
        let mut code_block = self.block(title, self.focus == Focus::Code);
        if let Some(a) = &view.access {
            code_block = code_block.title_bottom(Span::styled(
                format!("{}: {} bytes at {:#x} · w to watch", a.op, a.len, a.addr),
                self.fg(Style::default(), Color::Cyan),
            ));
        }
        Paragraph::new(code)
            .block(code_block)
            .render(code_area, buf);

        // Output, last lines that fit.
        let lines: Vec<&str> = view.output.lines().collect();
        let fit = output_area.height.saturating_sub(2) as usize;
        let shown: Vec<Line> = lines[lines.len().saturating_sub(fit)..]
            .iter()
            .map(|l| Line::from(l.to_string()))
            .collect();
        Paragraph::new(shown)
            .block(self.block("guest output (as of now)".into(), false))
            .render(output_area, buf);

        // Events around the selection.
        let fit = events_area.height.saturating_sub(2) as usize;
        let first = self.event_cursor.saturating_sub(fit / 2);
        let events: Vec<Line> = view
            .events
            .iter()
            .enumerate()
            .skip(first)
            .take(fit)
            .map(|(k, e)| {
                let done = if e.position < view.position {
                    "✓"
                } else if e.position == view.position {
                    "▶"
                } else {
                    " "
                };
                let (mark, colour) = marker(e.kind);
                let label = match (e.kind, &view.call_detail) {
                    (EventKind::HostCall(k), Some((c, detail))) if k == *c => detail,
                    _ => &e.label,
                };
                let text = format!("{done}{mark} @{:<9} {label}", e.position);
                let mut style = self.fg(Style::default(), colour);
                if self.focus == Focus::Events && k == self.event_cursor {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                Line::from(Span::styled(text, style))
            })
            .collect();
        let mut title = format!("events ({})", view.events.len());
        if !view.hits_complete {
            title.push_str(" · hits found so far");
        }
        for (id, addr, len) in &view.watchpoints {
            title.push_str(&format!(" · w{id} {addr:#x}+{len}"));
        }
        Paragraph::new(events)
            .block(self.block(title, self.focus == Focus::Events))
            .render(events_area, buf);

        // Frames.
        self.frames_area.set((
            frames_area.x,
            frames_area.y,
            frames_area.width,
            frames_area.height,
        ));
        // One line per source function: a Wasm frame with inlined calls takes several, all
        // with its number (the innermost first); without DWARF, the name and pc.
        let mut rows = Vec::new();
        let frames: Vec<Line> = view
            .frames
            .iter()
            .enumerate()
            .flat_map(|(i, f)| {
                let texts: Vec<String> = if f.source.is_empty() {
                    vec![format!("{i:>2} {} @{:#x}", f.name, f.pc)]
                } else {
                    f.source
                        .iter()
                        .map(|(name, loc)| match loc {
                            Some(loc) => format!("{i:>2} {name} {loc}"),
                            None => format!("{i:>2} {name} @{:#x}", f.pc),
                        })
                        .collect()
                };
                rows.extend(std::iter::repeat_n(i, texts.len()));
                texts.into_iter().map(move |text| {
                    if i == view.selected_frame {
                        Line::from(Span::styled(
                            text,
                            Style::default().add_modifier(Modifier::BOLD),
                        ))
                    } else {
                        Line::from(text)
                    }
                })
            })
            .collect();
        self.frame_rows.replace(rows);
        Paragraph::new(if frames.is_empty() {
            vec![Line::from("(not running)")]
        } else {
            frames
        })
        .block(self.block(
            format!("frames ({})", view.frames.len()),
            self.focus == Focus::Frames,
        ))
        .render(frames_area, buf);

        let fit = locals_area.height.saturating_sub(2) as usize;
        match view.variables.as_ref().filter(|_| !self.wasm_locals) {
            Some(vars) => {
                let lines: Vec<Line> = if vars.is_empty() {
                    vec![Line::from(Span::styled(
                        "(none)",
                        self.fg(Style::default(), Color::DarkGray),
                    ))]
                } else {
                    // A tree: members indented under their variable, ▸/▾ on what opens. The
                    // type follows the value, dimmed, where the pane has room for it. With
                    // the focus here, the selected row is reversed and kept in sight.
                    let room = locals_area.width.saturating_sub(2) as usize;
                    let focused = self.focus == Focus::Locals;
                    let cursor = self.locals_cursor.min(vars.len().saturating_sub(1));
                    let first = if focused {
                        cursor.saturating_sub(fit.saturating_sub(1))
                    } else {
                        0
                    };
                    vars.iter()
                        .enumerate()
                        .skip(first)
                        .take(fit)
                        .map(|(i, r)| {
                            let marker = match (r.expandable, r.expanded) {
                                (true, true) => "▾ ",
                                (true, false) => "▸ ",
                                _ => "",
                            };
                            let text =
                                format!("{}{marker}{} = {}", "  ".repeat(r.depth), r.name, r.value);
                            let width = text.chars().count() + 2 + r.ty.chars().count();
                            let mut spans = vec![Span::raw(text)];
                            if !r.ty.is_empty() && width <= room {
                                spans.push(Span::styled(
                                    format!("  {}", r.ty),
                                    self.fg(Style::default(), Color::DarkGray),
                                ));
                            }
                            let line = Line::from(spans);
                            if focused && i == cursor {
                                line.style(Style::default().add_modifier(Modifier::REVERSED))
                            } else {
                                line
                            }
                        })
                        .collect()
                };
                Paragraph::new(lines)
                    .block(self.block(
                        counted(
                            &format!("C variables, frame {} (L: Wasm)", view.selected_frame),
                            fit.min(vars.len()),
                            vars.len(),
                        ),
                        self.focus == Focus::Locals,
                    ))
                    .render(locals_area, buf);
            }
            None => {
                let title = if view.variables.is_some() {
                    format!("locals of frame {} (L: C)", view.selected_frame)
                } else {
                    format!("locals of frame {}", view.selected_frame)
                };
                Paragraph::new(self.pairs(&view.locals, "(none)", fit, false))
                    .block(self.block(
                        counted(&title, fit.min(view.locals.len()), view.locals.len()),
                        false,
                    ))
                    .render(locals_area, buf);
            }
        }
        let fit = stack_area.height.saturating_sub(2) as usize;
        Paragraph::new(self.pairs(&view.stack, "(empty)", fit, true))
            .block(self.block(
                counted(
                    "stack, top last",
                    fit.min(view.stack.len()),
                    view.stack.len(),
                ),
                false,
            ))
            .render(stack_area, buf);
        let fit = globals_area.height.saturating_sub(2) as usize;
        Paragraph::new(self.pairs(&view.globals, "(none)", fit, false))
            .block(self.block(
                counted("globals", fit.min(view.globals.len()), view.globals.len()),
                false,
            ))
            .render(globals_area, buf);

        // Memory: hex and ASCII, bytes changed by the last movement highlighted.
        let inner_width = memory_area.width.saturating_sub(2) as usize;
        let per_row = if inner_width >= 9 + 16 * 4 {
            16
        } else if inner_width >= 9 + 8 * 4 {
            8
        } else {
            4
        };
        let rows = memory_area.height.saturating_sub(2) as usize;
        let mut mem_lines = Vec::new();
        for r in 0..rows {
            let base = r * per_row;
            if base >= view.memory.len() {
                break;
            }
            let mut spans = vec![Span::raw(format!(
                "{:08x} ",
                view.memory_addr + base as u64
            ))];
            let mut ascii = String::new();
            for i in base..(base + per_row).min(view.memory.len()) {
                let b = view.memory[i];
                let style = match (view.changed.get(i).copied().unwrap_or(false), self.color) {
                    (true, true) => Style::default().fg(Color::Black).bg(Color::Yellow),
                    (true, false) => Style::default().add_modifier(Modifier::REVERSED),
                    _ => Style::default(),
                };
                spans.push(Span::styled(format!("{b:02x} "), style));
                ascii.push(if b.is_ascii_graphic() { b as char } else { '.' });
            }
            spans.push(Span::raw(ascii));
            mem_lines.push(Line::from(spans));
        }
        Paragraph::new(mem_lines)
            .block(self.block(
                format!("memory @{:#x}", view.memory_addr),
                self.focus == Focus::Memory,
            ))
            .render(memory_area, buf);

        // Timeline: one marker per event (the later kinds win a shared cell), the current
        // position as a block.
        let w = timeline.width.max(1) as u64;
        self.timeline_area
            .set((timeline.x, timeline.y, timeline.width));
        let span = (view.end - view.start).max(1);
        let column = |p: u64| ((p - view.start.min(p)) * (w - 1) / span) as usize;
        let mut cells: Vec<(&str, Color)> = vec![("─", Color::Reset); w as usize];
        let rank = |m: &str| match m {
            "─" => 0,
            "┼" => 1,
            _ => 2,
        };
        for e in view.events.iter() {
            let (mark, colour) = marker(e.kind);
            if let Some(c) = cells.get_mut(column(e.position))
                && rank(mark) >= rank(c.0)
            {
                *c = (mark, colour);
            }
        }
        let current = column(view.position);
        let mut spans = Vec::new();
        for (i, (mark, colour)) in cells.iter().enumerate() {
            if i == current {
                spans.push(Span::styled("█", self.fg(Style::default(), Color::Yellow)));
            } else {
                spans.push(Span::styled(*mark, self.fg(Style::default(), *colour)));
            }
        }
        Line::from(spans).render(timeline, buf);

        self.render_status(status, buf);

        if self.help {
            let h = (HELP.len() as u16 + 2).min(area.height);
            let w = 80.min(area.width);
            let r = Rect::new(
                area.x + (area.width - w) / 2,
                area.y + (area.height - h) / 2,
                w,
                h,
            );
            Clear.render(r, buf);
            let lines: Vec<Line> = HELP
                .iter()
                .map(|(k, d)| Line::from(format!("{k:>11}  {d}")))
                .collect();
            Paragraph::new(lines)
                .block(self.block("keys (Esc closes)".into(), true))
                .render(r, buf);
        }
    }
}

impl App {
    fn render_status(&self, area: Rect, buf: &mut Buffer) {
        let text = if let Some((kind, input)) = &self.prompt {
            let label = match kind {
                PromptKind::Goto => "go to position (or N%)",
                PromptKind::Watch => "watch ADDR LEN or EXPR",
                PromptKind::LastWrite => "back to the last write of EXPR",
                PromptKind::Memory => "memory address",
                PromptKind::Print => "print (a C expression; /x for hex)",
                PromptKind::Break => "break at FILE:LINE or FUNCTION (`throw`: at every throw)",
                PromptKind::Delete => "delete breakpoint or watchpoint number",
            };
            format!("{label}: {input}█")
        } else if let Some((what, done, total)) = &self.busy {
            if *total > 0 && *total < u64::MAX / 2 {
                format!("{what}… {}% (Esc cancels)", done * 100 / total)
            } else {
                format!("{what}… (Esc cancels)")
            }
        } else if let Some(v) = &self.view {
            // The message (an error) first, so that a narrow terminal cuts the rest.
            let mut s = format!("position {} / {}", v.position, v.end);
            if let Some(m) = &self.message {
                s.push_str(&format!(" · {m}"));
            }
            if let Some(stop) = &v.stop {
                s.push_str(&format!(" · {stop}"));
            }
            let help = " ? help";
            let width = area.width as usize;
            let used = s.chars().count();
            if used + help.len() < width {
                s.push_str(&" ".repeat(width - used - help.len()));
                s.push_str(help);
            }
            s
        } else {
            self.message.clone().unwrap_or_default()
        };
        Line::from(Span::styled(
            text,
            Style::default().add_modifier(Modifier::BOLD),
        ))
        .render(area, buf);
    }
}

/// The timeline's and event list's mark for an event, and its colour.
fn marker(kind: EventKind) -> (&'static str, Color) {
    match kind {
        EventKind::HostCall(_) => ("┼", Color::Reset),
        EventKind::Breakpoint(_) => ("●", Color::Red),
        EventKind::Watchpoint(_) => ("◆", Color::Magenta),
        EventKind::Throw(_) => ("▲", Color::Yellow),
        EventKind::End => ("✖", Color::Red),
    }
}
