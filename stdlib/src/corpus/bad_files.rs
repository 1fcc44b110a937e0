//! A corpus's bad files, reported together: with `on_error: error` a user
//! sees every missing, undecodable or unlisted file at once (the first
//! [`SHOWN`], then a count) instead of fixing them one run at a time; with
//! `on_error: skip` they are counted and left out.

use super::on_error::OnError;

/// Problems listed in full; the rest are counted.
pub const SHOWN: usize = 20;

/// The good results, and how many bad ones were skipped; an error listing
/// the bad ones under `on_error: error`. `what` names the files ("audio
/// files of `data/m.tsv`").
pub fn gather<T>(
    results: impl IntoIterator<Item = Result<T, String>>,
    on_error: OnError,
    what: &str,
) -> Result<(Vec<T>, u64), String> {
    let (mut good, mut bad) = (vec![], vec![]);
    for r in results {
        match r {
            Ok(t) => good.push(t),
            Err(e) => bad.push(e),
        }
    }
    if bad.is_empty() || on_error == OnError::Skip {
        for e in &bad {
            tracing::warn!("skipped: {e}");
        }
        return Ok((good, bad.len() as u64));
    }
    Err(listing(&bad, what))
}

/// "N problems with WHAT:" and the first [`SHOWN`], one per line, then a
/// count of the rest and what to do.
pub fn listing(bad: &[String], what: &str) -> String {
    let mut s = format!(
        "{} problem{} with {what}:",
        bad.len(),
        if bad.len() == 1 { "" } else { "s" }
    );
    for e in bad.iter().take(SHOWN) {
        s.push_str("\n  ");
        s.push_str(e);
    }
    if bad.len() > SHOWN {
        s.push_str(&format!("\n  … and {} more", bad.len() - SHOWN));
    }
    s.push_str("\nfix or remove them, or pass `on_error: skip` to leave them out");
    s
}

/// Refuses two utterances with one id (ids name features, decodes and
/// results): each repeat is reported with the place of the first.
/// `utts` gives (id, where it was declared, its audio file).
pub fn unique_ids<'a>(
    utts: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    what: &str,
) -> Result<(), String> {
    let mut first: std::collections::HashMap<&str, (&str, &str)> = Default::default();
    let mut bad = vec![];
    for (id, at, audio) in utts {
        if let Some((at0, audio0)) = first.get(id) {
            bad.push(format!(
                "{at}: utterance id `{id}` (from `{audio}`) is also {at0}'s (from `{audio0}`); ids come from file names, so rename one"
            ));
        } else {
            first.insert(id, (at, audio));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        let mut msg = listing(&bad, what);
        // Skipping cannot fix a repeated id: drop the generic advice.
        msg.truncate(msg.rfind("\nfix or remove").unwrap_or(msg.len()));
        Err(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_file_is_listed_up_to_a_count() {
        let results: Vec<Result<u32, String>> = (0..30)
            .map(|i| {
                if i % 2 == 0 {
                    Ok(i)
                } else {
                    Err(format!("bad {i}"))
                }
            })
            .collect();
        let e = gather(results.clone(), OnError::Error, "audio files of `m.tsv`").unwrap_err();
        assert!(
            e.starts_with("15 problems with audio files of `m.tsv`:\n  bad 1\n  bad 3"),
            "{e}"
        );
        assert!(e.contains("bad 29") && !e.contains("more"), "{e}");
        let (good, skipped) = gather(results, OnError::Skip, "x").unwrap();
        assert_eq!((good.len(), skipped), (15, 15));
        let many: Vec<Result<u32, String>> = (0..50).map(|i| Err(format!("bad {i}"))).collect();
        let e = gather(many, OnError::Error, "x").unwrap_err();
        assert!(e.contains("  bad 19\n  … and 30 more"), "{e}");
    }

    #[test]
    fn a_repeated_id_names_both_places() {
        let e = unique_ids(
            [
                ("a", "m.tsv:2", "a.wav"),
                ("ok", "m.tsv:3", "ok.flac"),
                ("ok", "m.tsv:4", "ok.sph"),
            ],
            "m.tsv",
        )
        .unwrap_err();
        assert!(
            e.contains(
                "m.tsv:4: utterance id `ok` (from `ok.sph`) is also m.tsv:3's (from `ok.flac`)"
            ),
            "{e}"
        );
        unique_ids([("a", "1", "a"), ("b", "2", "b")], "m").unwrap();
    }
}
