//! `lotto fsck`: re-hashes every file of every store entry against the
//! digests recorded when it was published, and removes damaged entries (a
//! later run computes them again).

use crate::app::App;
use crate::error::{CmdResult, Fail};
use lotto_interpreter::integrity::{Depth, Health};

pub fn run(app: &App, dry_run: bool) -> CmdResult {
    if !app.store_root.join("objects").is_dir() {
        println!("no store at `{}`", app.store_root.display());
        return Ok(());
    }
    let store = app.open_store()?;
    let keys = store.keys();
    let (mut damaged, mut unverified, mut kept) = (0usize, 0usize, 0usize);
    for k in &keys {
        match store.health(k, Depth::Full) {
            Some(Health::Damaged(why)) => {
                damaged += 1;
                let what = store
                    .record(k)
                    .map(|r| format!("{} ({})", r.step, r.op))
                    .unwrap_or_else(|| "an unreadable entry".into());
                println!("damaged {k} {what}: {why}");
                if dry_run {
                    continue;
                }
                match store.try_lock(k) {
                    Ok(Some(_lock)) => store
                        .discard(k)
                        .map_err(|e| Fail::failed(format!("cannot remove {k}: {e}")))?,
                    _ => {
                        kept += 1;
                        println!("  kept: a running lotto holds it; run fsck again later");
                    }
                }
            }
            Some(Health::Unverified) => unverified += 1,
            _ => {}
        }
    }
    let removed = if dry_run { 0 } else { damaged - kept };
    println!(
        "{} entr{} checked: {} intact, {damaged} damaged ({removed} removed{}), {unverified} published without digests (by an older lotto; presence checked only)",
        keys.len(),
        if keys.len() == 1 { "y" } else { "ies" },
        keys.len() - damaged - unverified,
        if dry_run { "; --dry-run" } else { "" },
    );
    if damaged > removed {
        return Err(Fail::reported(1));
    }
    Ok(())
}
