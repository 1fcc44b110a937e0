//! The character alphabet of CTC models, transcript normalisation, and
//! WER/CER by edit distance.

/// blank, space, a-z, apostrophe: the paper's 29 characters.
pub const VOCAB: usize = 29;
pub const BLANK: usize = 0;

fn char_id(c: char) -> Option<usize> {
    match c {
        ' ' => Some(1),
        'a'..='z' => Some(2 + (c as usize - 'a' as usize)),
        '\'' => Some(28),
        _ => None,
    }
}

fn id_char(i: usize) -> char {
    match i {
        1 => ' ',
        2..=27 => (b'a' + (i - 2) as u8) as char,
        28 => '\'',
        _ => '?',
    }
}

/// Lower-cases, maps punctuation to spaces, collapses spaces. Returns the
/// text and how many characters were dropped (reported in step records).
pub fn normalize(s: &str) -> (String, usize) {
    let mut out = String::with_capacity(s.len());
    let mut dropped = 0;
    for c in s.chars().flat_map(|c| c.to_lowercase()) {
        let c = match c {
            '’' | '`' => '\'',
            c if c.is_whitespace() || c == '-' => ' ',
            c => c,
        };
        if char_id(c).is_some() {
            out.push(c);
        } else if c.is_alphanumeric() {
            dropped += 1;
        } else {
            out.push(' ');
        }
    }
    (
        out.split_whitespace().collect::<Vec<_>>().join(" "),
        dropped,
    )
}

pub fn encode(s: &str) -> Vec<usize> {
    s.chars().filter_map(char_id).collect()
}

/// Greedy CTC output (best class per frame) as labels: repeats merged,
/// blanks dropped.
pub fn ctc_collapse(best: &[usize]) -> Vec<usize> {
    let mut out = vec![];
    let mut prev = BLANK;
    for &c in best {
        if c != prev && c != BLANK {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Label ids to text (transducer output: no repeats to merge).
pub fn labels_to_text(labels: &[usize]) -> String {
    let s: String = labels
        .iter()
        .filter(|&&c| c != BLANK)
        .map(|&c| id_char(c))
        .collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Word and character errors and reference lengths for one utterance.
pub fn errors(reference: &str, hypothesis: &str) -> (usize, usize, usize, usize) {
    let rw: Vec<&str> = reference.split_whitespace().collect();
    let hw: Vec<&str> = hypothesis.split_whitespace().collect();
    let rc: Vec<char> = reference.chars().collect();
    let hc: Vec<char> = hypothesis.chars().collect();
    (
        edit_distance(&rw, &hw),
        rw.len(),
        edit_distance(&rc, &hc),
        rc.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_and_decoding() {
        assert_eq!(
            normalize("Hello, World!  It's"),
            ("hello world it's".to_string(), 0)
        );
        assert_eq!(normalize("café").1, 1);
        assert_eq!(
            labels_to_text(&ctc_collapse(&[0, 8, 8, 0, 8, 1, 1, 2])),
            "gg a"
        );
        assert_eq!(encode("ab '").len(), 4);
    }

    #[test]
    fn wer_counts() {
        assert_eq!(errors("one two three", "one three"), (1, 3, 4, 13));
        assert_eq!(errors("a b", "a b").0, 0);
    }
}
