//! Pass 4: checks that need more than one call, once every call is
//! resolved and the graph has no cycle: each op sees the steps it reads
//! (their ops and arguments) and refuses what cannot work together, such
//! as a rewind epoch after the dense training's last.

use super::messages;
use crate::diag::Diagnostic;
use crate::program::{Step, Upstream};
use crate::registry::Registry;

pub fn validate_inputs(steps: &[Step], reg: &Registry) -> Vec<Diagnostic> {
    let up = Upstream::new(steps);
    steps
        .iter()
        .filter_map(|s| {
            let op = reg.get(s.op)?;
            let invalid = op.validate_inputs(&s.args, &up).err()?;
            let span = invalid
                .param
                .and_then(|p| s.arg_spans.get(p).copied())
                .unwrap_or(s.span);
            Some(messages::invalid_call(span, s.op, invalid.message))
        })
        .collect()
}
