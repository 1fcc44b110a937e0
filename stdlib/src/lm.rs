//! Word n-gram language models in the ARPA format: reading one (the
//! paper decodes with LibriSpeech's 3-gram), estimating one from a corpus's
//! transcripts (absolute discounting with back-off, so the result is a
//! proper ARPA model any toolkit reads), and scoring words with back-off.

use crate::data_paths::read_input_text;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

pub const BOS: &str = "<s>";
pub const EOS: &str = "</s>";
pub const UNK: &str = "<unk>";

/// ln(10): ARPA files hold log10 values; scores here are natural logs.
const LN10: f64 = std::f64::consts::LN_10;

#[derive(Clone, Debug, Default)]
pub struct NgramLm {
    pub order: usize,
    /// log10 P and log10 back-off weight of each n-gram, keyed by its words
    /// joined with single spaces.
    grams: HashMap<String, (f64, f64)>,
}

impl NgramLm {
    /// Parses an ARPA file's text; `name` goes into error messages.
    pub fn from_arpa(text: &str, name: &str) -> Result<NgramLm, String> {
        let mut lm = NgramLm::default();
        let mut section = 0usize;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line == "\\data\\" || line.starts_with("ngram ") {
                continue;
            }
            if line == "\\end\\" {
                break;
            }
            if let Some(n) = line
                .strip_prefix('\\')
                .and_then(|l| l.strip_suffix("-grams:"))
            {
                section = n
                    .parse()
                    .map_err(|_| format!("{name}:{}: bad section header `{line}`", i + 1))?;
                lm.order = lm.order.max(section);
                continue;
            }
            if section == 0 {
                return Err(format!(
                    "{name}:{}: n-gram line before any `\\N-grams:` section; is this an ARPA file?",
                    i + 1
                ));
            }
            let mut f = line.split_whitespace();
            let p: f64 = f
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name}:{}: expected a log10 probability", i + 1))?;
            let words: Vec<&str> = f.by_ref().take(section).collect();
            if words.len() != section {
                return Err(format!(
                    "{name}:{}: a {section}-gram needs {section} words",
                    i + 1
                ));
            }
            let bow: f64 = match f.next() {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("{name}:{}: bad back-off weight `{v}`", i + 1))?,
                None => 0.0,
            };
            lm.grams.insert(words.join(" "), (p, bow));
        }
        if lm.order == 0 || lm.grams.is_empty() {
            return Err(format!("{name}: no n-grams found; is this an ARPA file?"));
        }
        Ok(lm)
    }

    pub fn read(path: &Path) -> Result<NgramLm, String> {
        let text = read_input_text(path, &path.display().to_string())?;
        NgramLm::from_arpa(&text, &path.display().to_string())
    }

    /// ln P(word | history), backing off to shorter histories (only the
    /// last order − 1 words of `history` count). Unknown words get
    /// P(<unk>), or 10⁻¹⁰ when the model has no <unk>.
    pub fn ln_prob(&self, history: &[&str], word: &str) -> f64 {
        let n = history.len().min(self.order.saturating_sub(1));
        let hist = &history[history.len() - n..];
        let mut backoff = 0.0;
        for k in (0..=n).rev() {
            let h = &hist[n - k..];
            let key = if k == 0 {
                word.to_string()
            } else {
                format!("{} {word}", h.join(" "))
            };
            if let Some((p, _)) = self.grams.get(&key) {
                return (backoff + p) * LN10;
            }
            if k > 0 {
                backoff += self.grams.get(&h.join(" ")).map_or(0.0, |g| g.1);
            }
        }
        let unk = self.grams.get(UNK).map_or(-10.0, |g| g.0);
        (backoff + unk) * LN10
    }

    /// Estimates an `order`-gram model from sentences (words already
    /// normalised): absolute discounting (D = n₁ / (n₁ + 2n₂) per order)
    /// with back-off weights that make every history's distribution sum to
    /// one; <unk> keeps the mass of one unseen unigram.
    pub fn estimate(sentences: &[Vec<String>], order: usize) -> NgramLm {
        let order = order.max(1);
        // counts[k][gram] for k-grams (k = 1..=order), grams joined by ' '.
        let mut counts: Vec<HashMap<Vec<&str>, usize>> = vec![HashMap::new(); order + 1];
        for s in sentences {
            let mut w: Vec<&str> = vec![BOS];
            w.extend(s.iter().map(String::as_str));
            w.push(EOS);
            for (k, c) in counts.iter_mut().enumerate().skip(1) {
                for g in w.windows(k) {
                    if k == 1 && g[0] == BOS {
                        continue;
                    }
                    *c.entry(g.to_vec()).or_default() += 1;
                }
            }
        }
        let mut lm = NgramLm {
            order,
            grams: HashMap::new(),
        };
        // Unigrams: relative frequency with one extra count for <unk>.
        let total: usize = counts[1].values().sum::<usize>() + 1;
        for (g, &c) in &counts[1] {
            lm.grams
                .insert(g[0].to_string(), ((c as f64 / total as f64).log10(), 0.0));
        }
        lm.grams
            .insert(UNK.into(), ((1.0 / total as f64).log10(), 0.0));
        lm.grams.insert(BOS.into(), (-99.0, 0.0));
        for k in 2..=order {
            let n1 = counts[k].values().filter(|&&c| c == 1).count() as f64;
            let n2 = counts[k].values().filter(|&&c| c == 2).count() as f64;
            let d = if n1 + n2 > 0.0 {
                (n1 / (n1 + 2.0 * n2)).clamp(0.1, 0.9)
            } else {
                0.5
            };
            // Per history: total count and the words seen after it.
            let mut by_hist: HashMap<Vec<&str>, Vec<(&str, usize)>> = HashMap::new();
            for (g, &c) in &counts[k] {
                by_hist
                    .entry(g[..k - 1].to_vec())
                    .or_default()
                    .push((g[k - 1], c));
            }
            let mut new = vec![];
            for (h, seen) in &by_hist {
                let ch: usize = seen.iter().map(|s| s.1).sum();
                let mut seen_lower = 0.0;
                for &(w, c) in seen {
                    let p = (c as f64 - d) / ch as f64;
                    let mut gram = h.join(" ");
                    gram.push(' ');
                    gram.push_str(w);
                    new.push((gram, p.log10()));
                    seen_lower += lm.ln_prob(&h[1..], w).exp();
                }
                let left = d * seen.len() as f64 / ch as f64;
                let bow = (left / (1.0 - seen_lower).max(1e-12)).max(1e-12);
                let hk = h.join(" ");
                if let Some(g) = lm.grams.get_mut(&hk) {
                    g.1 = bow.log10();
                }
            }
            for (g, p) in new {
                lm.grams.insert(g, (p, 0.0));
            }
        }
        lm
    }

    /// The model as ARPA text (n-grams sorted within each order).
    pub fn to_arpa(&self) -> String {
        let mut by_order: Vec<Vec<(&String, &(f64, f64))>> = vec![vec![]; self.order + 1];
        for (g, v) in &self.grams {
            by_order[g.split(' ').count()].push((g, v));
        }
        let mut s = String::from("\\data\\\n");
        for (k, grams) in by_order.iter().enumerate().skip(1) {
            let _ = writeln!(s, "ngram {k}={}", grams.len());
        }
        for (k, grams) in by_order.iter_mut().enumerate().skip(1) {
            grams.sort_by(|a, b| a.0.cmp(b.0));
            let _ = write!(s, "\n\\{k}-grams:\n");
            for (g, (p, bow)) in grams.iter() {
                if k < self.order && *bow != 0.0 {
                    let _ = writeln!(s, "{p:.6}\t{g}\t{bow:.6}");
                } else {
                    let _ = writeln!(s, "{p:.6}\t{g}");
                }
            }
        }
        s.push_str("\n\\end\\\n");
        s
    }

    pub fn len(&self) -> usize {
        self.grams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grams.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(s: &[&str]) -> Vec<Vec<String>> {
        s.iter()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    }

    /// Every history's next-word distribution sums to one over the
    /// vocabulary plus </s> and <unk>: the back-off weights are right.
    #[test]
    fn estimated_distributions_sum_to_one() {
        let lm = NgramLm::estimate(&sents(&["go up", "go up now", "up go", "now go up go"]), 3);
        let vocab = ["go", "up", "now", EOS, UNK];
        for hist in [
            vec![BOS],
            vec![BOS, "go"],
            vec!["go", "up"],
            vec!["now", "now"],
            vec!["up"],
        ] {
            let total: f64 = vocab.iter().map(|w| lm.ln_prob(&hist, w).exp()).sum();
            assert!((total - 1.0).abs() < 1e-6, "{hist:?}: {total}");
        }
        // Seen continuations beat unseen ones.
        assert!(lm.ln_prob(&[BOS, "go"], "up") > lm.ln_prob(&[BOS, "go"], "now"));
    }

    #[test]
    fn arpa_text_round_trips_and_bad_files_are_named() {
        let lm = NgramLm::estimate(&sents(&["a b c", "a b", "b c a"]), 2);
        let again = NgramLm::from_arpa(&lm.to_arpa(), "x.arpa").unwrap();
        assert_eq!(again.len(), lm.len());
        for (h, w) in [(vec!["a"], "b"), (vec!["c"], "b"), (vec!["b"], "zzz")] {
            assert!((lm.ln_prob(&h, w) - again.ln_prob(&h, w)).abs() < 1e-4);
        }
        let err = NgramLm::from_arpa("hello world\n", "lm.arpa").unwrap_err();
        assert!(err.starts_with("lm.arpa:1:"), "{err}");
    }
}
