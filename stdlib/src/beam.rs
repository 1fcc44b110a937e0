//! CTC prefix beam search (Hannun et al. 2014) over characters or BPE
//! subwords, with an optional word n-gram language model applied as each
//! word ends (a space, or a subword that starts the next word):
//! score = ln P_ctc(prefix) + α·ln P_lm(words) + β·|words|.

use crate::lm::{NgramLm, BOS, EOS};
use crate::text;
use crate::tokens::Tokens;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct BeamSettings {
    pub width: usize,
    /// LM weight α.
    pub alpha: f64,
    /// Bonus β per word (counters the LM's preference for short outputs).
    pub beta: f64,
}

#[derive(Clone, Debug)]
struct Hyp {
    /// ln P(prefix, ending in blank) and ln P(prefix, ending in a label).
    blank: f64,
    label: f64,
    /// α·ln P_lm + β·words of the completed words.
    lm: f64,
}

fn lse(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        m
    } else {
        m + ((a - m).exp() + (b - m).exp()).ln()
    }
}

impl Hyp {
    fn ctc(&self) -> f64 {
        lse(self.blank, self.label)
    }
}

/// The words of a prefix (labels → text).
fn words(tokens: Tokens, prefix: &[usize]) -> Vec<String> {
    tokens
        .labels_text(prefix)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// α·ln P(last word | the words before) + β, for a prefix whose last word
/// just ended.
fn word_score(lm: Option<&NgramLm>, s: &BeamSettings, done: &[String], next: &str) -> f64 {
    let Some(lm) = lm else {
        return s.beta;
    };
    let mut hist: Vec<&str> = vec![BOS];
    hist.extend(done.iter().map(String::as_str));
    s.alpha * lm.ln_prob(&hist, next) + s.beta
}

/// Decodes one utterance from its log-probabilities (`frames` rows of
/// `vocab` values, row-major) and returns the best transcript.
pub fn decode(
    lp: &[f32],
    frames: usize,
    tokens: Tokens,
    s: &BeamSettings,
    lm: Option<&NgramLm>,
) -> String {
    let vocab = tokens.vocab();
    let mut beams: HashMap<Vec<usize>, Hyp> = HashMap::new();
    beams.insert(
        vec![],
        Hyp {
            blank: 0.0,
            label: f64::NEG_INFINITY,
            lm: 0.0,
        },
    );
    for t in 0..frames {
        let row = &lp[t * vocab..(t + 1) * vocab];
        // Only labels within ln(1e-4) of the frame's best are extended.
        let best = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let cands: Vec<usize> = (0..vocab)
            .filter(|&c| c != text::BLANK && row[c] as f64 > best - 9.2)
            .collect();
        let mut next: HashMap<Vec<usize>, Hyp> = HashMap::new();
        let mut add = |k: Vec<usize>, blank: f64, label: f64, lm: f64| {
            let e = next.entry(k).or_insert(Hyp {
                blank: f64::NEG_INFINITY,
                label: f64::NEG_INFINITY,
                lm,
            });
            e.blank = lse(e.blank, blank);
            e.label = lse(e.label, label);
        };
        for (prefix, h) in &beams {
            let pb = row[text::BLANK] as f64;
            // Stay on the prefix: a blank, or the last label repeated.
            let stay_label = match prefix.last() {
                Some(&last) => h.label + row[last] as f64,
                None => f64::NEG_INFINITY,
            };
            add(prefix.clone(), h.ctc() + pb, stay_label, h.lm);
            for &c in &cands {
                let pc = row[c] as f64;
                // A repeated label needs a blank in between.
                let from = if prefix.last() == Some(&c) {
                    h.blank
                } else {
                    h.ctc()
                };
                let mut k = prefix.clone();
                k.push(c);
                let mut lm_score = h.lm;
                if tokens.starts_word(c) && tokens.inside_word(prefix) {
                    let w = words(tokens, prefix);
                    if let Some((last, done)) = w.split_last() {
                        lm_score += word_score(lm, s, done, last);
                    }
                }
                add(k, f64::NEG_INFINITY, from + pc, lm_score);
            }
        }
        let mut all: Vec<(Vec<usize>, Hyp)> = next.into_iter().collect();
        all.sort_by(|a, b| {
            (b.1.ctc() + b.1.lm)
                .total_cmp(&(a.1.ctc() + a.1.lm))
                .then_with(|| a.0.cmp(&b.0))
        });
        all.truncate(s.width.max(1));
        beams = all.into_iter().collect();
    }
    // Close each hypothesis: score its unfinished last word and </s>.
    let finish = |prefix: &Vec<usize>, h: &Hyp| {
        let mut score = h.ctc() + h.lm;
        let w = words(tokens, prefix);
        if tokens.inside_word(prefix) {
            if let Some((last, done)) = w.split_last() {
                score += word_score(lm, s, done, last);
            }
        }
        if let Some(lm) = lm {
            let mut hist: Vec<&str> = vec![BOS];
            hist.extend(w.iter().map(String::as_str));
            score += s.alpha * lm.ln_prob(&hist, EOS);
        }
        score
    };
    beams
        .iter()
        .map(|(p, h)| (finish(p, h), p))
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, p)| tokens.labels_text(p))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log-probabilities for frames given as (label, probability) peaks,
    /// the rest of each frame's mass spread evenly.
    fn frames(peaks: &[&[(char, f32)]]) -> Vec<f32> {
        let v = text::VOCAB;
        let mut lp = vec![];
        for f in peaks {
            let mut row = vec![0.0f32; v];
            let used: f32 = f.iter().map(|p| p.1).sum();
            let rest = (1.0 - used) / (v - f.len()) as f32;
            for (c, r) in row.iter_mut().enumerate() {
                *r = rest;
                for &(ch, p) in f.iter() {
                    let id = if ch == '_' {
                        text::BLANK
                    } else {
                        text::encode(&ch.to_string())[0]
                    };
                    if id == c {
                        *r = p;
                    }
                }
            }
            lp.extend(row.iter().map(|p| p.ln()));
        }
        lp
    }

    fn settings(width: usize) -> BeamSettings {
        BeamSettings {
            width,
            alpha: 1.0,
            beta: 0.0,
        }
    }

    #[test]
    fn without_a_model_the_beam_finds_the_likeliest_labelling() {
        // "a" sums three paths (a a, a _, _ a); "aa" would need a blank
        // between its labels.
        let lp = frames(&[&[('a', 0.6), ('_', 0.35)], &[('a', 0.5), ('_', 0.45)]]);
        assert_eq!(decode(&lp, 2, Tokens::Chars, &settings(8), None), "a");
        // Greedy would pick blank twice (0.4 each) and output nothing; the
        // summed paths of "b" win.
        let lp = frames(&[&[('_', 0.4), ('b', 0.35)], &[('_', 0.4), ('b', 0.35)]]);
        assert_eq!(decode(&lp, 2, Tokens::Chars, &settings(8), None), "b");
    }

    #[test]
    fn a_language_model_turns_an_acoustically_close_call() {
        // Acoustics slightly prefer "go ip" over "go up".
        let lp = frames(&[
            &[('g', 0.9)],
            &[('o', 0.9)],
            &[(' ', 0.9)],
            &[('i', 0.5), ('u', 0.45)],
            &[('p', 0.9)],
        ]);
        assert_eq!(decode(&lp, 5, Tokens::Chars, &settings(16), None), "go ip");
        let lm = NgramLm::estimate(&[vec!["go".into(), "up".into()], vec!["up".into()]], 2);
        assert_eq!(
            decode(&lp, 5, Tokens::Chars, &settings(16), Some(&lm)),
            "go up"
        );
    }

    /// The same close call over BPE subwords: a word ends where the next
    /// `▁` piece starts, and at the end.
    #[test]
    fn over_subwords_the_model_scores_each_word_as_it_ends() {
        let bpe = crate::bpe::Bpe::train(["go up", "go ip"], 40);
        let t = Tokens::Bpe(&bpe);
        let (go, up, ip) = (t.encode("go")[0], t.encode("up")[0], t.encode("ip")[0]);
        let v = t.vocab();
        let row = |peaks: &[(usize, f32)]| -> Vec<f32> {
            let used: f32 = peaks.iter().map(|p| p.1).sum();
            let rest = (1.0 - used) / (v - peaks.len()) as f32;
            (0..v)
                .map(|c| peaks.iter().find(|p| p.0 == c).map_or(rest, |p| p.1).ln())
                .collect()
        };
        let lp: Vec<f32> = [row(&[(go, 0.9)]), row(&[(ip, 0.5), (up, 0.45)])].concat();
        assert_eq!(decode(&lp, 2, t, &settings(16), None), "go ip");
        let lm = NgramLm::estimate(&[vec!["go".into(), "up".into()], vec!["up".into()]], 2);
        assert_eq!(decode(&lp, 2, t, &settings(16), Some(&lm)), "go up");
    }
}
