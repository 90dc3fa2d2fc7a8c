//! Source lines from a module's DWARF: which file and line an instruction came from (the line
//! table of `deja-debuginfo`, read once for the whole front end), and the text of that line
//! when the file can be found.
//!
//! A trace may be debugged on another machine than the one that built the module, so a file is
//! looked up under the path DWARF records first, then under each search directory and its
//! ancestors, with the recorded path shortened from the left (`/build/src/flaky/flaky.c` is
//! tried as `flaky/flaky.c` and `flaky.c` too).

use deja_debuginfo::DebugInfo;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The module's line information, and the source files read so far.
pub struct Sources {
    debug: Option<Arc<DebugInfo>>,
    search: Vec<PathBuf>,
    files: HashMap<String, Option<Vec<String>>>,
}

/// Where an instruction came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file as DWARF names it (absolute when the compiler knew its directory).
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

impl SourceLocation {
    /// `flaky.c:62`: the file's name without its directories.
    pub fn short(&self) -> String {
        let name = Path::new(&self.file)
            .file_name()
            .map_or_else(|| self.file.clone(), |n| n.to_string_lossy().into_owned());
        format!("{name}:{}", self.line)
    }
}

impl Sources {
    /// Lines from `debug` (none: then nothing has a location); source files are looked up
    /// under `search` as well as where DWARF says they are.
    pub fn new(debug: Option<Arc<DebugInfo>>, search: Vec<PathBuf>) -> Sources {
        Sources {
            debug,
            search,
            files: HashMap::new(),
        }
    }

    /// Whether the module has line information at all.
    pub fn has_lines(&self) -> bool {
        self.debug.is_some()
    }

    /// The file and line of the instruction at module offset `pc`.
    pub fn location(&self, pc: u32) -> Option<SourceLocation> {
        let loc = self.debug.as_ref()?.location(pc)?;
        Some(SourceLocation {
            file: loc.file,
            line: loc.line,
        })
    }

    /// The text of a source line, when its file can be found.
    pub fn text(&mut self, loc: &SourceLocation) -> Option<&str> {
        if !self.files.contains_key(&loc.file) {
            let lines = self.find(&loc.file).and_then(|p| {
                let text = std::fs::read(p).ok()?;
                Some(
                    String::from_utf8_lossy(&text)
                        .lines()
                        .map(str::to_string)
                        .collect(),
                )
            });
            self.files.insert(loc.file.clone(), lines);
        }
        let lines = self.files.get(&loc.file)?.as_ref()?;
        lines.get(loc.line as usize - 1).map(String::as_str)
    }

    /// Where the file named `file` is on this machine.
    fn find(&self, file: &str) -> Option<PathBuf> {
        self.candidates(file).into_iter().find(|c| c.is_file())
    }

    /// The paths tried for `file`, in order: its recorded path (when absolute), then under
    /// each search directory and its ancestors.
    pub fn candidates(&self, file: &str) -> Vec<PathBuf> {
        let recorded = Path::new(file);
        let mut out = Vec::new();
        if recorded.is_absolute() {
            out.push(recorded.to_path_buf());
        }
        let parts: Vec<_> = recorded
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect();
        for dir in &self.search {
            for (up, base) in dir.ancestors().enumerate() {
                // Above a search directory, only paths with a directory in them: a bare
                // `main.c` there is likely some other program's.
                let shortest = if up == 0 { 1 } else { 2 };
                for skip in (0..parts.len()).filter(|s| parts.len() - s >= shortest) {
                    let candidate: PathBuf = std::iter::once(base.as_os_str())
                        .chain(parts[skip..].iter().map(|c| c.as_os_str()))
                        .collect();
                    if !out.contains(&candidate) {
                        out.push(candidate);
                    }
                }
            }
        }
        out
    }

    /// Where `file` was looked for, for the status line: the first few paths tried and how
    /// many more, and how to say where the sources are.
    pub fn tried(&self, file: &str) -> String {
        const SHOWN: usize = 3;
        let tried = self.candidates(file);
        let mut list: Vec<String> = tried
            .iter()
            .take(SHOWN)
            .map(|p| p.display().to_string())
            .collect();
        if tried.len() > SHOWN {
            list.push(format!("and {} more", tried.len() - SHOWN));
        }
        format!(
            "source {file} not found (tried {}); try --source-dir DIR",
            list.join(", ")
        )
    }

    /// What the code pane says in place of a line whose file was not found: the recorded path
    /// it looked at (the search directories were tried too) and how to say where the sources
    /// are. Only what the module records, so that it reads the same on every machine.
    pub fn not_found(&self, file: &str) -> String {
        if Path::new(file).is_absolute() {
            format!("(not at {file} nor under the search directories; try --source-dir DIR)")
        } else {
            format!("({file} not found under the search directories; try --source-dir DIR)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_without_dwarf_has_no_locations() {
        let wasm = wat::parse_str("(module (func (export \"f\") nop))").unwrap();
        let s = Sources::new(DebugInfo::new(&wasm).unwrap().map(Arc::new), vec![]);
        assert!(!s.has_lines());
        assert_eq!(s.location(0x20), None);
    }

    #[test]
    fn the_flaky_example_maps_to_its_c_source() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/flaky");
        let wasm = std::fs::read(dir.join("flaky.wasm")).unwrap();
        // Only the example's directory to search: the recorded absolute path is the build
        // machine's and may not exist here.
        let mut s = Sources::new(
            DebugInfo::new(&wasm).unwrap().map(Arc::new),
            vec![dir.clone()],
        );
        assert!(s.has_lines());
        // Some instruction of the module maps to the line with the division's caller.
        let mut found = None;
        for pc in 0..wasm.len() as u32 {
            if let Some(loc) = s.location(pc)
                && s.text(&loc)
                    .is_some_and(|t| t.contains("return total / last_quantity"))
            {
                found = Some(loc);
                break;
            }
        }
        let loc = found.expect("a location on the division line");
        assert!(loc.short().starts_with("flaky.c:"), "{loc:?}");
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn a_missing_file_says_where_it_was_looked_for() {
        let s = Sources::new(None, vec![PathBuf::from("/nonexistent/deja/dir")]);
        let tried = s.candidates("/build/src/app.c");
        assert_eq!(tried[0], PathBuf::from("/build/src/app.c"));
        assert!(tried.contains(&PathBuf::from("/nonexistent/deja/dir/app.c")));
        let msg = s.not_found("/build/src/app.c");
        assert!(
            msg.starts_with("(not at /build/src/app.c nor under"),
            "{msg}"
        );
        assert!(msg.ends_with("try --source-dir DIR)"), "{msg}");
        assert!(s.not_found("src/app.c").starts_with("(src/app.c not found"));
        let status = s.tried("/build/src/app.c");
        assert!(
            status.starts_with(
                "source /build/src/app.c not found (tried /build/src/app.c, /nonexistent/deja/dir/"
            ),
            "{status}"
        );
        assert!(status.contains(" more); try --source-dir DIR"), "{status}");
    }

    #[test]
    fn files_are_found_under_search_directories_and_above_them_with_a_directory() {
        let root = std::env::temp_dir().join(format!("deja-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("proj/src/deep")).unwrap();
        std::fs::write(root.join("proj/src/x.c"), "int x;\n").unwrap();
        std::fs::write(root.join("proj/y.c"), "int y;\n").unwrap();
        let s = |dirs: Vec<PathBuf>| Sources::new(None, dirs);
        // In the search directory itself: the bare name will do.
        let here = s(vec![root.join("proj/src")]);
        assert_eq!(
            here.find("/elsewhere/build/x.c"),
            Some(root.join("proj/src/x.c"))
        );
        // Above it: only with a directory left in the path.
        let below = s(vec![root.join("proj/src/deep")]);
        assert_eq!(
            below.find("/elsewhere/src/x.c"),
            Some(root.join("proj/src/x.c"))
        );
        assert_eq!(below.find("/elsewhere/y.c"), None);
        let _ = std::fs::remove_dir_all(&root);
    }
}
