//! Progress reporting for long steps: indicatif bars on a terminal, periodic
//! log lines otherwise (CI logs, pipes), so a run never looks hung.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    multi: Option<MultiProgress>,
}

/// One bar; `inc` / `set_message` as work advances.
pub struct Bar {
    bar: Option<ProgressBar>,
    name: String,
    len: u64,
    pos: Mutex<(u64, Instant, String)>,
}

impl Progress {
    /// Bars when stderr is a terminal, else plain lines.
    pub fn new(show_bars: bool) -> Self {
        let multi =
            show_bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi }
    }
    pub fn hidden() -> Self {
        Progress { multi: None }
    }
    pub fn bar(&self, name: &str, len: u64) -> Bar {
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(len));
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>24} [{bar:30}] {pos}/{len} {msg} (ETA {eta})",
                )
                .unwrap()
                .progress_chars("=> "),
            );
            b.set_prefix(name.chars().take(24).collect::<String>());
            b
        });
        Bar {
            bar,
            name: name.to_string(),
            len,
            pos: Mutex::new((0, Instant::now(), String::new())),
        }
    }
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

impl Bar {
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
            return;
        }
        let mut p = self.pos.lock().unwrap();
        p.0 += n;
        if p.1.elapsed() > Duration::from_secs(10) || p.0 == self.len {
            p.1 = Instant::now();
            tracing::info!("{}: {}/{} {}", self.name, p.0, self.len, p.2);
        }
    }
    pub fn set_message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        } else {
            self.pos.lock().unwrap().2 = msg;
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
