//! Drawing: `impl Widget for &App`. Everything is computed from the app state; nothing here
//! talks to the worker.

use crate::app::{App, Focus, PromptKind};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

const HELP: &[(&str, &str)] = &[
    ("s / S", "step / reverse step (one instruction)"),
    ("n / N", "next / reverse next (over calls)"),
    ("f / F", "finish / reverse finish (out to the caller)"),
    (
        "c / C",
        "continue / reverse continue (to a breakpoint or watchpoint)",
    ),
    ("b", "toggle a breakpoint at the selected instruction"),
    ("w", "watch memory: ADDR LEN (stops after a write)"),
    ("g", "go to a position, or a percentage like 50%"),
    ("[ / ]", "previous / next host call"),
    ("Home / End", "start / end of the run"),
    ("u / d", "select the caller / callee frame"),
    ("m", "show memory at an address"),
    ("Tab", "cycle focus: code, frames, memory, host calls"),
    (
        "Up / Down",
        "move in the focused pane; Enter on a host call goes there",
    ),
    (
        "click",
        "on the timeline: jump there; on a frame: select it",
    ),
    (
        "Esc",
        "cancel a long operation, close this help or a prompt",
    ),
    ("?", "this help"),
    ("q", "quit"),
];

fn block(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default().fg(Color::Yellow)
    } else {
        Style::default()
    };
    Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style)
}

fn pairs(items: &[(String, String)], empty: &str) -> Vec<Line<'static>> {
    if items.is_empty() {
        return vec![Line::from(Span::styled(
            empty.to_string(),
            Style::default().fg(Color::DarkGray),
        ))];
    }
    items
        .iter()
        .enumerate()
        .map(|(i, (t, v))| Line::from(format!("{i:>2} {t:<9} {v}")))
        .collect()
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let [main, timeline, status] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(main);
        let [code_area, output_area, host_area] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(6),
            Constraint::Length(5),
        ])
        .areas(left);
        let [
            frames_area,
            locals_area,
            stack_area,
            globals_area,
            memory_area,
        ] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(4),
            Constraint::Length(7),
        ])
        .areas(right);

        let Some(view) = &self.view else {
            Paragraph::new("opening the trace…")
                .block(block("deja".into(), false))
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
                if l.current {
                    style = style.fg(Color::Yellow).add_modifier(Modifier::BOLD);
                }
                if self.focus == Focus::Code && self.code_cursor == Some(i) {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                // wasmprinter's `(;@1a2 ;)` annotations become a compact offset column.
                let text = match l.text.split_once(";)") {
                    Some((_, rest)) if l.text.trim_start().starts_with("(;@") => rest,
                    _ => l.text.as_str(),
                };
                let offset = l
                    .offset
                    .map_or_else(|| "      ".to_string(), |o| format!("{o:>6x}"));
                Line::from(vec![
                    Span::styled(marker.to_string(), Style::default().fg(Color::Red)),
                    Span::styled(offset, Style::default().fg(Color::DarkGray)),
                    Span::styled(text.trim_end().to_string(), style),
                ])
            })
            .collect();
        let title = view.frames.get(view.selected_frame).map_or_else(
            || "code (no frame)".to_string(),
            |f| format!("code: {}", f.name),
        );
        Paragraph::new(code)
            .block(block(title, self.focus == Focus::Code))
            .render(code_area, buf);

        // Output, last lines that fit.
        let lines: Vec<&str> = view.output.lines().collect();
        let fit = output_area.height.saturating_sub(2) as usize;
        let shown: Vec<Line> = lines[lines.len().saturating_sub(fit)..]
            .iter()
            .map(|l| Line::from(l.to_string()))
            .collect();
        Paragraph::new(shown)
            .block(block("guest output (as of now)".into(), false))
            .render(output_area, buf);

        // Host calls around the selection.
        let fit = host_area.height.saturating_sub(2) as usize;
        let first = self.host_cursor.saturating_sub(fit / 2);
        let calls: Vec<Line> = view
            .host_calls
            .iter()
            .enumerate()
            .skip(first)
            .take(fit)
            .map(|(k, p)| {
                let name = view.host_call_names.get(k).map_or("?", String::as_str);
                let name = name.rsplit("::").next().unwrap_or(name);
                let done = if *p < view.position { "✓" } else { " " };
                let text = format!("{done}#{k:<4} @{p:<10} {name}");
                if self.focus == Focus::HostCalls && k == self.host_cursor {
                    Line::from(Span::styled(
                        text,
                        Style::default().add_modifier(Modifier::REVERSED),
                    ))
                } else {
                    Line::from(text)
                }
            })
            .collect();
        Paragraph::new(calls)
            .block(block(
                format!("host calls ({})", view.host_calls.len()),
                self.focus == Focus::HostCalls,
            ))
            .render(host_area, buf);

        // Frames.
        self.frames_area.set((
            frames_area.x,
            frames_area.y,
            frames_area.width,
            frames_area.height,
        ));
        let frames: Vec<Line> = view
            .frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let text = format!("{i:>2} {} @{:#x}", f.name, f.pc);
                if i == view.selected_frame {
                    Line::from(Span::styled(
                        text,
                        Style::default().add_modifier(Modifier::BOLD),
                    ))
                } else {
                    Line::from(text)
                }
            })
            .collect();
        Paragraph::new(if frames.is_empty() {
            vec![Line::from("(not running)")]
        } else {
            frames
        })
        .block(block(
            format!("frames ({})", view.frames.len()),
            self.focus == Focus::Frames,
        ))
        .render(frames_area, buf);

        Paragraph::new(pairs(&view.locals, "(none)"))
            .block(block(
                format!("locals of frame {}", view.selected_frame),
                false,
            ))
            .render(locals_area, buf);
        Paragraph::new(pairs(&view.stack, "(empty)"))
            .block(block("operand stack (bottom first)".into(), false))
            .render(stack_area, buf);
        Paragraph::new(pairs(&view.globals, "(none)"))
            .block(block("globals".into(), false))
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
                let style = if view.changed.get(i).copied().unwrap_or(false) {
                    Style::default().fg(Color::Black).bg(Color::Yellow)
                } else {
                    Style::default()
                };
                spans.push(Span::styled(format!("{b:02x} "), style));
                ascii.push(if b.is_ascii_graphic() { b as char } else { '.' });
            }
            spans.push(Span::raw(ascii));
            mem_lines.push(Line::from(spans));
        }
        Paragraph::new(mem_lines)
            .block(block(
                format!("memory @{:#x}", view.memory_addr),
                self.focus == Focus::Memory,
            ))
            .render(memory_area, buf);

        // Timeline: host calls as ticks, the current position as a block.
        let w = timeline.width.max(1) as u64;
        self.timeline_area
            .set((timeline.x, timeline.y, timeline.width));
        let span = (view.end - view.start).max(1);
        let mut cells = vec!['─'; w as usize];
        for p in view.host_calls.iter() {
            let x = ((p - view.start.min(*p)) * (w - 1) / span) as usize;
            if let Some(c) = cells.get_mut(x) {
                *c = '┼';
            }
        }
        // A run that ended in a trap, an error or a failing exit is marked where it ended.
        let failed = view
            .outcome
            .as_deref()
            .is_some_and(|o| !(o == "Returned" || o == "Exit(0)" || o == "Interrupted"));
        if failed && let Some(last) = cells.last_mut() {
            *last = '✖';
        }
        let current = ((view.position - view.start.min(view.position)) * (w - 1) / span) as usize;
        let mut spans = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if i == current {
                spans.push(Span::styled("█", Style::default().fg(Color::Yellow)));
            } else {
                spans.push(Span::raw(c.to_string()));
            }
        }
        Line::from(spans).render(timeline, buf);

        self.render_status(status, buf);

        if self.help {
            let h = (HELP.len() as u16 + 2).min(area.height);
            let w = 70.min(area.width);
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
                .block(block("keys (Esc closes)".into(), true))
                .render(r, buf);
        }
    }
}

impl App {
    fn render_status(&self, area: Rect, buf: &mut Buffer) {
        let text = if let Some((kind, input)) = &self.prompt {
            let label = match kind {
                PromptKind::Goto => "go to position (or N%)",
                PromptKind::Watch => "watch ADDR LEN",
                PromptKind::Memory => "memory address",
            };
            format!("{label}: {input}█")
        } else if let Some((what, done, total)) = &self.busy {
            if *total > 0 && *total < u64::MAX / 2 {
                format!("{what}… {}% (Esc cancels)", done * 100 / total)
            } else {
                format!("{what}… (Esc cancels)")
            }
        } else if let Some(v) = &self.view {
            let mut s = format!("position {} / {}", v.position, v.end);
            if let Some(stop) = &v.stop {
                s.push_str(&format!(" · stop: {stop}"));
            }
            if let Some(o) = &v.outcome {
                s.push_str(&format!(" · run: {o}"));
            }
            if let Some(m) = &self.message {
                s.push_str(&format!(" · {m}"));
            }
            s.push_str(" · ? help");
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
