//! The one error type of the commands: what to tell the user, if it is not
//! printed yet, and the exit code. 1: the recipe or a step failed (or
//! differs from its lock); 2: the command line or the environment is wrong
//! (a missing file, a bad option); 130: interrupted.

use std::process::ExitCode;

#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    /// Printed as `error: ...`; `None` when the command printed it already
    /// (diagnostics, failed steps).
    pub message: Option<String>,
}

impl Fail {
    /// Exit 2 with a message: the command cannot do what was asked.
    pub fn usage(message: impl std::fmt::Display) -> Fail {
        Fail {
            code: 2,
            message: Some(message.to_string()),
        }
    }
    /// Exit 1 with a message: the recipe or a step failed.
    pub fn failed(message: impl std::fmt::Display) -> Fail {
        Fail {
            code: 1,
            message: Some(message.to_string()),
        }
    }
    /// Exit `code` after the command printed why.
    pub fn reported(code: u8) -> Fail {
        Fail {
            code,
            message: None,
        }
    }
    /// Prints the message and gives the exit code.
    pub fn exit(self) -> ExitCode {
        if let Some(m) = self.message {
            eprintln!("error: {m}");
        }
        ExitCode::from(self.code)
    }
}

/// What every command returns.
pub type CmdResult = Result<(), Fail>;
