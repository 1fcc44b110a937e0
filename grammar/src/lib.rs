//! The grammar of the lotto recipe language.
//!
//! This crate holds only the pest grammar (`lotto.pest`) and the parser type
//! pest derives from it, so that the syntax has a single source that the
//! interpreter, the docs and the fuzzer all share.

use pest_derive::Parser;

/// The pest parser for `.lotto` recipes; `Rule::program` parses a whole file.
#[derive(Parser)]
#[grammar = "lotto.pest"]
pub struct LottoParser;

/// The grammar text itself, so the language reference can quote it and a
/// test can check the quote is current.
pub const GRAMMAR: &str = include_str!("../lotto.pest");

/// Human names for grammar rules, used in syntax errors instead of rule names.
pub fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of file",
        Rule::program => "a recipe",
        Rule::param_stmt => "`param`",
        Rule::import_stmt => "`import`",
        Rule::for_stmt => "`for`",
        Rule::block => "a `{ ... }` block",
        Rule::report_stmt => "`report`",
        Rule::bind_stmt | Rule::kind => "a statement (e.g. `corpus name = op(...)`)",
        Rule::targets => "a name",
        Rule::expr => "a value",
        Rule::member => "`.method(...)`",
        Rule::call => "a call",
        Rule::call_args => "`(`",
        Rule::named_arg => "a named argument",
        Rule::list => "a list",
        Rule::shape => "a shape like `1x4`",
        Rule::quantity => "a quantity like `20ms`",
        Rule::unit => "a unit (ms, s, %, dB, Hz, kHz)",
        Rule::number | Rule::number_body => "a number",
        Rule::string => "a string",
        Rule::string_inner => "string text",
        Rule::keyword => "a keyword",
        Rule::ident => "a name",
        Rule::statement => "a statement",
        Rule::assign | Rule::eq => "`=`",
        Rule::primary | Rule::paren | Rule::arg | Rule::numeric => "a value",
        Rule::ident_char => "a name character",
        Rule::WHITESPACE | Rule::COMMENT => "whitespace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pest::Parser;

    fn parses(rule: Rule, s: &str) -> bool {
        LottoParser::parse(rule, s)
            .map(|p| p.as_str() == s)
            .unwrap_or(false)
    }

    #[test]
    fn units_and_shapes_are_atoms() {
        assert!(parses(Rule::quantity, "20ms"));
        assert!(parses(Rule::quantity, "-5dB"));
        assert!(parses(Rule::quantity, "120%"));
        assert!(parses(Rule::shape, "1x4"));
        assert!(parses(Rule::shape, "2:4"));
        assert!(!parses(Rule::quantity, "20 ms"));
        assert!(!parses(Rule::number, "5sec"));
    }

    #[test]
    fn keyword_statements_win_over_bindings() {
        assert!(parses(Rule::keyword, "for"));
        assert!(!parses(Rule::keyword, "format"));
        let p = LottoParser::parse(Rule::program, "param x = 1").unwrap();
        let stmt = p.flatten().nth(1).unwrap();
        assert_eq!(stmt.as_rule(), Rule::param_stmt);
    }

    #[test]
    fn whole_recipe() {
        let src = "# comment\nparam seed = 7\nimport \"x.lotto\"\ncorpus a = manifest(\"m.tsv\")\n\
                   split tr, dv = a.split(0.8, 0.2, seed: seed)\n\
                   for l in [0, 0.2] { corpus n = mix(tr, b, level: l) }\n\
                   report \"r\" = summary(e), plot(e, x: rw)\n";
        LottoParser::parse(Rule::program, src).unwrap();
    }
}
