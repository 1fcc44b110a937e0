//! What a corpus loader does with a missing or undecodable audio file.

lotto_interpreter::sym_enum! {
    pub enum OnError {
        Error = "error",
        Skip = "skip",
    }
}

impl OnError {
    pub const DOC: &'static str = "what to do with a missing or undecodable audio file";
}
