//! Loading a recipe and its imports: each file is read and parsed once, and
//! its top-level `import` statements are replaced by the imported file's
//! statements, so later passes see one flat list in the order a reader
//! meets them. Import cycles and imports leaving a bundle are errors here.

use super::options::CheckOpts;
use crate::ast::Stmt;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Sources, Span};
use crate::text_file::{read_text, TextError, RECIPE_MAX};
use std::path::{Path, PathBuf};

/// The statements of a recipe with its imports spliced in.
pub struct Loaded {
    pub stmts: Vec<Stmt>,
    pub sources: Sources,
    /// The recipe files read, the main file first, as the user names them.
    pub files: Vec<PathBuf>,
    pub diags: Vec<Diagnostic>,
}

struct Loader<'a> {
    workspace: PathBuf,
    /// The workspace, canonical (for display paths and confinement).
    ws_canon: PathBuf,
    opts: &'a CheckOpts,
    out: Loaded,
    /// Canonical paths of the files being loaded (import chain).
    stack: Vec<PathBuf>,
    /// Canonical paths of every file loaded.
    seen: Vec<PathBuf>,
}

/// Loads the recipe at `path` (relative to `workspace` or absolute).
pub fn load_file(path: &Path, workspace: &Path, opts: &CheckOpts) -> Loaded {
    let mut l = Loader::new(workspace, opts);
    l.load(path, None);
    l.out
}

/// Loads recipe text (tests, fuzzing); its imports resolve against
/// `workspace`.
pub fn load_source(name: &str, text: &str, workspace: &Path, opts: &CheckOpts) -> Loaded {
    let mut l = Loader::new(workspace, opts);
    let id = l.out.sources.add(Path::new(name), text.to_string());
    l.out.files.push(PathBuf::from(name));
    l.stack.push(PathBuf::from(name));
    l.parse_and_splice(id);
    l.out
}

impl<'a> Loader<'a> {
    fn new(workspace: &Path, opts: &'a CheckOpts) -> Self {
        Loader {
            workspace: workspace.to_path_buf(),
            ws_canon: workspace
                .canonicalize()
                .unwrap_or_else(|_| workspace.to_path_buf()),
            opts,
            out: Loaded {
                stmts: vec![],
                sources: Sources::default(),
                files: vec![],
                diags: vec![],
            },
            stack: vec![],
            seen: vec![],
        }
    }

    fn error(&mut self, from: Option<Span>, code: Code, msg: String, label: &str, help: &str) {
        let d = match from {
            Some(s) => Diagnostic::new(code, s, msg).label(label),
            None => Diagnostic::nowhere(code, msg),
        };
        self.out.diags.push(d.help(help));
    }

    fn load(&mut self, path: &Path, from: Option<Span>) {
        let full = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.workspace.join(path)
        };
        let canon = canonical(&full);
        if from.is_some() && !self.importable(&canon, from) {
            return;
        }
        if self.opts.confine && !canon.starts_with(&self.ws_canon) {
            let msg = format!(
                "`{}` is outside this bundle's folder; a bundle may only import recipes inside it",
                canon.display()
            );
            self.error(
                from,
                Code::UnsafePath,
                msg,
                "imported here",
                "copy the imported recipe into the bundle, or run it outside a bundle if you trust it",
            );
            return;
        }
        if let Some(i) = self.stack.iter().position(|p| *p == canon) {
            let chain: Vec<String> = self.stack[i..]
                .iter()
                .chain(std::iter::once(&canon))
                .map(|p| self.display_path(p))
                .collect();
            let msg = format!("import cycle: {}", chain.join(" -> "));
            self.error(
                from,
                Code::ImportCycle,
                msg,
                "this import closes the cycle",
                "move the shared statements into a file that neither imports",
            );
            return;
        }
        if self.seen.contains(&canon) {
            return; // imported twice through different paths: load once
        }
        let text = match read_text(&full, RECIPE_MAX) {
            Ok(t) => t,
            Err(e) => {
                let (code, help) = match (&e, from.is_some()) {
                    (TextError::Missing, true) => (
                        Code::ImportNotFound,
                        "import paths are relative to the importing file's folder",
                    ),
                    (TextError::Missing, false) => {
                        (Code::Io, "recipe paths are relative to the current folder")
                    }
                    (_, true) => (
                        Code::ImportNotFound,
                        "an import names a recipe: a UTF-8 text file ending in .lotto",
                    ),
                    (_, false) => (Code::Io, "a recipe is a UTF-8 text file ending in .lotto"),
                };
                let msg = format!("cannot read recipe `{}`: {e}", self.display_path(path));
                self.error(from, code, msg, "imported here", help);
                return;
            }
        };
        let shown = PathBuf::from(self.display_path(&full));
        let id = self.out.sources.add(&shown, text);
        self.out.files.push(shown);
        self.seen.push(canon.clone());
        self.stack.push(canon);
        self.parse_and_splice(id);
        self.stack.pop();
    }

    /// Whether an import may read `canon`: a `.lotto` file (so a typo or a
    /// hostile recipe cannot show another file's lines in a syntax error),
    /// inside the workspace unless `--allow-outside` (a bundle: never).
    fn importable(&mut self, canon: &Path, from: Option<Span>) -> bool {
        if canon.extension().is_none_or(|e| e != "lotto") {
            let msg = format!(
                "`{}` is not a recipe: imports name `.lotto` files",
                self.display_path(canon)
            );
            self.error(
                from,
                Code::UnsafePath,
                msg,
                "imported here",
                "import the recipe that binds what you need; data files are read by ops such as manifest()",
            );
            return false;
        }
        // A bundle's own confinement check follows, with its own words.
        if canon.starts_with(&self.ws_canon) || self.opts.allow_outside || self.opts.confine {
            return true;
        }
        let msg = format!(
            "`{}` is outside the workspace `{}`",
            canon.display(),
            self.ws_canon.display()
        );
        let help = "copy the recipe into the workspace, or pass --allow-outside if you trust it";
        self.error(from, Code::UnsafePath, msg, "imported here", help);
        false
    }

    /// The path relative to the workspace when it is inside it.
    fn display_path(&self, p: &Path) -> String {
        let pc = p.canonicalize().unwrap_or(p.to_path_buf());
        pc.strip_prefix(&self.ws_canon)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    }

    fn parse_and_splice(&mut self, id: FileId) {
        let parsed = crate::parse::parse(id, &self.out.sources.get(id).text);
        let prog = match parsed {
            Ok(p) => p,
            Err(d) => {
                self.out.diags.push(d);
                return;
            }
        };
        for st in prog.stmts {
            match st {
                Stmt::Import { path, span } => {
                    let dir = self
                        .stack
                        .last()
                        .and_then(|p| p.parent().map(Path::to_path_buf))
                        .unwrap_or(self.workspace.clone());
                    self.load(&dir.join(path), Some(span));
                }
                other => self.out.stmts.push(other),
            }
        }
    }
}

/// `p` with symbolic links resolved; for a file that does not exist, its
/// folder resolved (so a missing import is "not found", not "outside").
fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| {
        match (
            p.parent().and_then(|d| d.canonicalize().ok()),
            p.file_name(),
        ) {
            (Some(d), Some(n)) => d.join(n),
            _ => p.to_path_buf(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(l: &Loaded) -> Vec<String> {
        l.stmts
            .iter()
            .map(|s| match s {
                Stmt::Param { name, .. } => name.name.clone(),
                _ => "?".into(),
            })
            .collect()
    }

    #[test]
    fn imports_are_spliced_in_place_once_and_cycles_are_errors() {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path();
        std::fs::create_dir_all(ws.join("lib")).unwrap();
        std::fs::write(ws.join("lib/a.lotto"), "param a = 1\nimport \"b.lotto\"\n").unwrap();
        std::fs::write(ws.join("lib/b.lotto"), "param b = 2\n").unwrap();
        let opts = CheckOpts::default();
        let l = load_source(
            "main.lotto",
            "param x = 0\nimport \"lib/a.lotto\"\nimport \"lib/b.lotto\"\nparam y = 3\n",
            ws,
            &opts,
        );
        assert!(l.diags.is_empty(), "{:?}", l.diags);
        assert_eq!(names(&l), ["x", "a", "b", "y"]);
        assert_eq!(l.files.len(), 3);
        std::fs::write(ws.join("lib/b.lotto"), "import \"a.lotto\"\n").unwrap();
        let l = load_file(Path::new("lib/a.lotto"), ws, &opts);
        assert_eq!(l.diags.len(), 1);
        assert_eq!(l.diags[0].code, Code::ImportCycle);
        assert_eq!(
            l.diags[0].message,
            "import cycle: lib/a.lotto -> lib/b.lotto -> lib/a.lotto"
        );
    }

    #[test]
    fn a_confined_check_refuses_imports_from_outside() {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(t.path().join("out.lotto"), "param z = 1\n").unwrap();
        let opts = CheckOpts {
            confine: true,
            ..Default::default()
        };
        let l = load_source("m.lotto", "import \"../out.lotto\"\n", &ws, &opts);
        assert_eq!(l.diags.len(), 1);
        assert_eq!(l.diags[0].code, Code::UnsafePath);
        assert!(l.stmts.is_empty());
    }
}
