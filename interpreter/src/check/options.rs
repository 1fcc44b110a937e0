//! The choices a user makes for one check.

/// Options of a check.
#[derive(Clone, Debug, Default)]
pub struct CheckOpts {
    /// `--set name=value` overrides, as source text.
    pub set: Vec<(String, String)>,
    /// Allow report paths outside the workspace.
    pub allow_outside: bool,
    /// Running an unpacked bundle: imports and reports must stay inside
    /// the workspace, whatever `allow_outside` says.
    pub confine: bool,
}
