//! The report's plots: SVG written by hand (small, diffable, no plotting
//! dependency) and the same picture rasterised to PNG with resvg, using a
//! bundled DejaVu Sans so that a machine without fonts still gets labels.
//!
//! Two kinds: WER (or CER) against remaining weights on a log axis, one line
//! per model and test set; and WER across test conditions (clean, then each
//! noisy test set), one line per ticket round.

use super::aggregate::aggregate;
use crate::eval::table::Row;
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];

/// Line patterns that tell apart lines past the tenth, which reuse the
/// colours: solid, then long dashes, then dots (dense baselines dash 5,4).
const PATTERNS: &[Option<&str>] = &[None, Some("10,3"), Some("2,3")];

/// The colour and pattern of line `i`: no two lines share both.
fn style(i: usize) -> (&'static str, Option<&'static str>) {
    (
        COLORS[i % COLORS.len()],
        PATTERNS[(i / COLORS.len()) % PATTERNS.len()],
    )
}

/// The width a label takes at the plots' 12-pixel font (DejaVu Sans
/// averages a little over 7 pixels a character).
fn text_width(text: &str) -> f64 {
    7.2 * text.chars().count() as f64
}

/// The font every plot names; bundled so PNGs never depend on the machine.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans";

/// Canvas and margins: a plot area of fixed size, with room on the right
/// for the legend's longest entry and below for the x labels.
struct Frame {
    w: f64,
    h: f64,
    ml: f64,
    mr: f64,
    mt: f64,
    mb: f64,
}

impl Frame {
    /// A frame whose legend fits `legend` entries and whose x labels need
    /// `below` pixels under the axis (beyond the usual 60).
    fn new(legend: &[String], below: f64) -> Frame {
        let widest = legend.iter().map(|l| text_width(l)).fold(0.0, f64::max);
        let mr = (widest + 60.0).max(250.0);
        let (mt, mb) = (50.0, 60.0 + below);
        // 20 pixels a legend entry.
        let h = (mt + mb + 350.0).max(mt + 20.0 + 20.0 * legend.len() as f64 + 10.0);
        Frame {
            w: 70.0 + 440.0 + mr,
            h,
            ml: 70.0,
            mr,
            mt,
            mb,
        }
    }

    fn plot_right(&self) -> f64 {
        self.w - self.mr
    }
    fn plot_bottom(&self) -> f64 {
        self.h - self.mb
    }
    fn center_x(&self) -> f64 {
        (self.w - self.mr + self.ml) / 2.0
    }

    /// Background, title, axes, x label and rotated y label.
    fn open(&self, title: &str, xlabel: &str, ylabel: &str) -> String {
        let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"{FAMILY}, sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", self.w, self.h);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">{}</text>",
            self.center_x(),
            esc(title)
        );
        let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/><line x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{1}\" stroke=\"black\"/>", self.ml, self.plot_bottom(), self.plot_right(), self.mt);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            self.center_x(),
            self.h - 18.0,
            esc(xlabel)
        );
        let _ = writeln!(
            s,
            "<text transform=\"translate(20,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (self.h - self.mb + self.mt) / 2.0,
            esc(ylabel)
        );
        s
    }

    /// Horizontal grid lines and labels for a 0..ymax axis.
    fn y_grid(&self, s: &mut String, ymax: f64) {
        for i in 0..=5 {
            let v = ymax * i as f64 / 5.0;
            let y = self.y(v, ymax);
            let _ = writeln!(s, "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.1}</text>", self.ml, self.plot_right(), self.ml - 6.0, y + 4.0);
        }
    }

    fn y(&self, v: f64, ymax: f64) -> f64 {
        self.mt + (1.0 - v / ymax) * (self.h - self.mt - self.mb)
    }

    /// One legend entry (line sample in the line's colour and pattern, and
    /// text), `i`-th from the top.
    fn legend(&self, s: &mut String, i: usize, color: &str, pattern: Option<&str>, text: &str) {
        let ly = self.mt + 10.0 + i as f64 * 20.0;
        let dash = pattern
            .map(|p| format!(" stroke-dasharray=\"{p}\""))
            .unwrap_or_default();
        let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/><text x=\"{2}\" y=\"{3}\">{4}</text>", self.plot_right() + 12.0, self.plot_right() + 36.0, self.plot_right() + 42.0, ly + 4.0, esc(text));
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn value(r: &Row, metric: &str) -> f64 {
    if metric == "cer" {
        r.cer
    } else {
        r.wer
    }
}

/// A round axis top: the next multiple of 10 above the largest value.
fn y_max(rows: &[Row], metric: &str) -> f64 {
    ((rows.iter().map(|r| value(r, metric)).fold(1.0f64, f64::max) * 1.05) / 10.0).ceil() * 10.0
}

/// Line `i` through the points (when there are two or more) with a dot at
/// each. Later lines' dots are smaller and ringed in white, so points that
/// coincide with an earlier line's stay visible as rings.
/// `bars` holds each point's error bar, its half height in pixels (0:
/// none).
fn polyline(s: &mut String, i: usize, pts: &[(f64, f64)], bars: &[f64]) {
    let (color, pattern) = style(i);
    let path: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
    let dash = pattern
        .map(|p| format!(" stroke-dasharray=\"{p}\""))
        .unwrap_or_default();
    if pts.len() > 1 {
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
            path.join(" ")
        );
    }
    let r = 5.0 - 0.3 * (i % 8) as f64;
    for ((a, b), h) in pts.iter().zip(bars) {
        if *h > 0.0 {
            let (top, bottom) = (b - h, b + h);
            let _ = writeln!(
                s,
                "<path d=\"M{a:.1},{top:.1}V{bottom:.1}M{:.1},{top:.1}h8M{:.1},{bottom:.1}h8\" stroke=\"{color}\" stroke-width=\"1.5\" fill=\"none\"/>",
                a - 4.0,
                a - 4.0
            );
        }
    }
    for (a, b) in pts {
        let _ = writeln!(
            s,
            "<circle cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"{r:.1}\" fill=\"{color}\" stroke=\"white\" stroke-width=\"1\"/>"
        );
    }
}

/// Rows grouped by (model, test set): models evaluated only densely first,
/// then the others, each in the order the evaluation lists them (the
/// recipe's order); rows in table order within each group.
pub fn series(rows: &[Row]) -> Vec<((String, String), Vec<&Row>)> {
    series_by(rows, |r| r)
}

/// [`series`] of items that each carry a row (a row over seeds).
pub fn series_by<T>(items: &[T], row: impl Fn(&T) -> &Row) -> Vec<((String, String), Vec<&T>)> {
    let mut m: Vec<((String, String), Vec<&T>)> = vec![];
    for it in items {
        let r = row(it);
        let key = (r.model.clone(), r.corpus.clone());
        match m.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rs)) => rs.push(it),
            None => m.push((key, vec![it])),
        }
    }
    let only_dense = |rs: &[&T]| {
        rs.iter()
            .map(|t| row(t))
            .all(|r| r.method == "dense" && r.round == 0)
    };
    // A stable sort: dense models first, recipe order otherwise.
    m.sort_by_key(|(_, rs)| !only_dense(rs));
    m
}

/// WER (or CER) against RW on a log axis, one line per model and test set,
/// each dense model as a dashed line; a tick at every RW a point sits at.
///
/// Rows of several seeds are drawn at their mean with a bar of ± one
/// standard deviation over seeds.
pub fn rw_svg(rows: &[Row], metric: &str) -> String {
    let (means, sds) = over_seeds(rows, metric);
    let rows = means.as_slice();
    let m = metric.to_uppercase();
    // A model evaluated only densely (one point per test set) is drawn as a
    // dashed baseline in the colour of the ticket line it belongs to: the
    // one on the same test set whose round 0 (the dense model itself) has
    // the same value; else the first line on that test set.
    let is_dense = |rs: &[&Row]| rs.iter().all(|r| r.method == "dense" && r.round == 0);
    let groups = series(rows);
    let lines = sweeps_as_curves(
        groups
            .iter()
            .filter(|(_, rs)| !is_dense(rs))
            .cloned()
            .collect(),
    );
    let dense: Vec<_> = groups.iter().filter(|(_, rs)| is_dense(rs)).collect();
    let dense_models: std::collections::BTreeSet<&str> =
        dense.iter().map(|((m, _), _)| m.as_str()).collect();
    let baseline = if dense_models.len() > 1 {
        "dense, each in its ticket's colour"
    } else {
        "dense, same test set"
    };
    let mut legend: Vec<String> = lines
        .iter()
        .map(|((model, corpus), _)| format!("{model} on {corpus}"))
        .collect();
    legend.push(baseline.to_string());
    let f = Frame::new(&legend, 0.0);
    let min_rw = rows.iter().map(|r| r.rw).fold(100.0f64, f64::min).max(0.1);
    let (lx0, lx1) = ((min_rw * 0.8).log10(), 100f64.log10() + 0.02);
    let ymax = y_max(rows, metric);
    let x = |rw: f64| f.ml + (lx1 - rw.max(0.1).log10()) / (lx1 - lx0) * (f.plot_right() - f.ml);
    let mut s = f.open(
        &format!("{m} vs remaining weights (lower is better)"),
        "remaining weights, % of prunable (log scale; sparser to the right)",
        &format!("{m} (%)"),
    );
    // A tick at each RW plotted (to 0.1), unless it would overlap the last.
    let mut ticks: Vec<f64> = rows.iter().map(|r| (r.rw * 10.0).round() / 10.0).collect();
    ticks.sort_by(|a, b| b.total_cmp(a));
    ticks.dedup();
    let mut last_x = f64::NEG_INFINITY;
    for rw in ticks {
        let label = format!("{rw}");
        let at = x(rw);
        if at - last_x < text_width(&label) + 6.0 {
            continue;
        }
        last_x = at;
        let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{label}</text>", at, f.mt, f.plot_bottom(), f.plot_bottom() + 16.0);
    }
    f.y_grid(&mut s, ymax);
    let color_of = |corpus: &str, v: f64, fallback: usize| {
        let own = lines.iter().position(|((_, c), rs)| {
            c == corpus && rs.iter().any(|r| r.round == 0 && value(r, metric) == v)
        });
        let i = own
            .or_else(|| lines.iter().position(|((_, c), _)| c == corpus))
            .unwrap_or(fallback);
        style(i).0
    };
    for (i, ((_, corpus), rs)) in dense.iter().enumerate() {
        let v = value(rs[0], metric);
        let c = color_of(corpus, v, lines.len() + i);
        let y = f.y(v, ymax);
        let _ = writeln!(s, "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{c}\" stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>", f.ml, f.plot_right());
    }
    let px = f.y(0.0, ymax) - f.y(1.0, ymax);
    for (i, (_, rs)) in lines.iter().enumerate() {
        let mut pts: Vec<(f64, f64, f64)> = rs
            .iter()
            .map(|r| (r.rw, value(r, metric), sd_of(rows, &sds, r)))
            .collect();
        pts.sort_by(|a, b| b.0.total_cmp(&a.0));
        let bars: Vec<f64> = pts.iter().map(|p| p.2 * px).collect();
        let pts: Vec<(f64, f64)> = pts.iter().map(|(a, b, _)| (x(*a), f.y(*b, ymax))).collect();
        polyline(&mut s, i, &pts, &bars);
        let (c, pattern) = style(i);
        f.legend(&mut s, i, c, pattern, &legend[i]);
    }
    f.legend(&mut s, lines.len(), "gray", Some("5,4"), baseline);
    s.push_str("</svg>\n");
    s
}

/// The lines of one sweep along the RW axis as one curve: models named
/// alike but for their sweep values (`std[sparsity=0.5]`,
/// `std[sparsity=0.8]`) on one test set, whose pruned rounds sit at RWs no
/// other member has, become `std[sparsity=*]` with every member's points
/// (a point two members share, their common dense round, once). Sweeps
/// whose members share RWs (a learning-rate sweep) stay one line each.
fn sweeps_as_curves(
    lines: Vec<((String, String), Vec<&Row>)>,
) -> Vec<((String, String), Vec<&Row>)> {
    let mut out: Vec<((String, String), Vec<&Row>)> = vec![];
    let mut members: Vec<Vec<usize>> = vec![];
    let mut keys: Vec<(String, String)> = vec![];
    for (i, ((model, corpus), _)) in lines.iter().enumerate() {
        let key = (
            swept(model).unwrap_or_else(|| model.clone()),
            corpus.clone(),
        );
        match keys.iter().position(|k| *k == key) {
            Some(g) if swept(model).is_some() => members[g].push(i),
            _ => {
                keys.push(key);
                members.push(vec![i]);
            }
        }
    }
    for (key, group) in keys.into_iter().zip(members) {
        let rws = |i: usize| -> Vec<i64> {
            lines[i]
                .1
                .iter()
                .filter(|r| r.round > 0)
                .map(|r| (r.rw * 10.0).round() as i64)
                .collect()
        };
        let mut seen = std::collections::BTreeSet::new();
        let along_rw = group.len() > 1
            && group
                .iter()
                .all(|&i| rws(i).into_iter().all(|rw| seen.insert(rw)));
        if !along_rw {
            out.extend(group.iter().map(|&i| lines[i].clone()));
            continue;
        }
        let mut rows: Vec<&Row> = vec![];
        for &i in &group {
            for r in &lines[i].1 {
                if !rows
                    .iter()
                    .any(|o| o.rw == r.rw && o.wer == r.wer && o.cer == r.cer)
                {
                    rows.push(r);
                }
            }
        }
        out.push((key, rows));
    }
    out
}

/// `std[sparsity=0.5]` → `std[sparsity=*]`: a sweep member's name with its
/// values starred; `None` for a name without a sweep suffix.
fn swept(model: &str) -> Option<String> {
    let (base, pairs) = lotto_interpreter::check::sweep_values(model)?;
    let vars: Vec<String> = pairs.iter().map(|(k, _)| format!("{k}=*")).collect();
    Some(format!("{base}[{}]", vars.join(",")))
}

/// A point of the noise plot: condition, value, standard deviation over
/// seeds.
type Point = (usize, f64, f64);

/// The mean rows over seeds and each one's standard deviation of `metric`.
fn over_seeds(rows: &[Row], metric: &str) -> (Vec<Row>, Vec<f64>) {
    aggregate(rows)
        .into_iter()
        .map(|a| {
            let sd = a.sd(metric);
            (a.mean, sd)
        })
        .unzip()
}

/// The spread of `r`, one of `rows` (by identity).
fn sd_of(rows: &[Row], sds: &[f64], r: &Row) -> f64 {
    rows.iter()
        .position(|x| std::ptr::eq(x, r))
        .map_or(0.0, |i| sds[i])
}

/// One ticket round: model, method, round and its RW.
type RoundKey<'a> = (&'a str, &'a str, usize, f64);

/// WER (or CER) across the test sets in table order (clean first, then the
/// noisy ones as the recipe lists them), one line per model and round; the
/// dense models dashed. A ticket's round 0 that is a dense model already
/// drawn (the same values everywhere) is not drawn again. The paper's
/// robustness question in one picture: does a ticket degrade faster than
/// the dense model as noise grows?
pub fn noise_svg(rows: &[Row], metric: &str) -> String {
    let (means, sds) = over_seeds(rows, metric);
    let rows = means.as_slice();
    let m = metric.to_uppercase();
    let mut sets: Vec<&str> = vec![];
    for r in rows {
        if !sets.contains(&r.corpus.as_str()) {
            sets.push(&r.corpus);
        }
    }
    // One line per (model, method, round), in table order: each point's
    // condition, value and spread.
    let mut lines: Vec<(RoundKey, Vec<Point>)> = vec![];
    for r in rows {
        let key = (r.model.as_str(), r.method.as_str(), r.round, r.rw);
        let at = sets.iter().position(|c| *c == r.corpus).unwrap_or(0);
        let p = (at, value(r, metric), sd_of(rows, &sds, r));
        match lines
            .iter_mut()
            .find(|(k, _)| (k.0, k.1, k.2) == (key.0, key.1, key.2))
        {
            Some((_, pts)) => pts.push(p),
            None => lines.push((key, vec![p])),
        }
    }
    let repeats_dense = |(k, pts): &(RoundKey, Vec<Point>)| {
        k.2 == 0 && k.1 != "dense" && lines.iter().any(|(d, dpts)| d.1 == "dense" && dpts == pts)
    };
    let lines: Vec<(RoundKey, Vec<Point>)> = lines
        .iter()
        .filter(|l| !repeats_dense(l))
        .cloned()
        .collect();
    let legend: Vec<String> = lines
        .iter()
        .map(|((model, method, round, rw), _)| {
            if *method == "dense" {
                format!("{model} (dense, 100% RW)")
            } else {
                format!("{model}: {method} round {round} ({rw:.1}% RW)")
            }
        })
        .collect();
    // Condition names slant when they would not fit side by side.
    let step = 440.0 / sets.len().max(1) as f64;
    let widest = sets.iter().map(|c| text_width(c)).fold(0.0, f64::max);
    let slant = widest + 8.0 > step;
    let f = Frame::new(&legend, if slant { widest * 0.5 } else { 0.0 });
    let ymax = y_max(rows, metric);
    let x = |i: usize| f.ml + step * (i as f64 + 0.5);
    let mut s = f.open(
        &format!("{m} per test condition (lower is better)"),
        "test set (clean, then with added noise, as listed in the recipe)",
        &format!("{m} (%)"),
    );
    for (i, name) in sets.iter().enumerate() {
        let (ty, at) = (f.plot_bottom() + 16.0, x(i));
        let label = if slant {
            format!("<text x=\"{at}\" y=\"{ty}\" text-anchor=\"end\" transform=\"rotate(-30 {at} {ty})\">{}</text>", esc(name))
        } else {
            format!(
                "<text x=\"{at}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
                esc(name)
            )
        };
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/>{label}",
            at,
            f.mt,
            f.plot_bottom()
        );
    }
    f.y_grid(&mut s, ymax);
    // Dense lines last, so their dashes stay visible over any ticket line
    // that runs along them.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i].0 .1 == "dense");
    let px = f.y(0.0, ymax) - f.y(1.0, ymax);
    for i in order {
        let ((_, method, _, _), mut pts) = lines[i].clone();
        pts.sort_by_key(|p| p.0);
        let dense = method == "dense";
        let bars: Vec<f64> = pts.iter().map(|p| p.2 * px).collect();
        let pts: Vec<(f64, f64)> = pts.iter().map(|(a, b, _)| (x(*a), f.y(*b, ymax))).collect();
        let (c, pattern) = style(i);
        if dense {
            let path: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = writeln!(s, "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" stroke-dasharray=\"5,4\" points=\"{}\"/>", path.join(" "));
            f.legend(&mut s, i, c, Some("5,4"), &legend[i]);
        } else {
            polyline(&mut s, i, &pts, &bars);
            f.legend(&mut s, i, c, pattern, &legend[i]);
        }
    }
    s.push_str("</svg>\n");
    s
}

fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// The same picture as PNG, at twice the SVG's size for sharp text.
pub fn png(svg: &str) -> Result<Vec<u8>, String> {
    use resvg::{tiny_skia, usvg};
    let opt = usvg::Options {
        fontdb: fonts(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| format!("plot SVG: {e}"))?;
    let size = tree.size().to_int_size().scale_by(2.0).ok_or("plot size")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("plot has no size")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("PNG encoding: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, round: usize, rw: f64, corpus: &str, wer: f64) -> Row {
        Row {
            model: "m".into(),
            method: method.into(),
            round,
            rw,
            corpus: corpus.into(),
            wer,
            cer: wer / 2.0,
            utterances: 10,
            dev_wer: wer,
            per_utterance: vec![],
            warning: None,
        }
    }

    /// A row of model `model` on the test set `test`.
    fn named(model: &str, method: &str, round: usize, rw: f64, wer: f64) -> Row {
        Row {
            model: model.into(),
            ..row(method, round, rw, "test", wer)
        }
    }

    fn table() -> Vec<Row> {
        let mut rows = vec![];
        for (c, extra) in [("test", 0.0), ("noisy[level=0.2]", 20.0)] {
            rows.push(row("dense", 0, 100.0, c, 30.0 + extra));
            rows.push(row("imp", 1, 60.0, c, 28.0 + extra));
            rows.push(row("imp", 2, 36.0, c, 33.0 + extra));
        }
        rows
    }

    /// Two architectures on one test set: each dense model's dashed line
    /// takes the colour of its own ticket's line (matched by round 0).
    #[test]
    fn each_dense_baseline_takes_its_tickets_colour() {
        let rows = vec![
            named("dense_a", "dense", 0, 100.0, 30.0),
            named("dense_b", "dense", 0, 100.0, 50.0),
            named("lth_a", "imp", 0, 100.0, 30.0),
            named("lth_a", "imp", 1, 50.0, 29.0),
            named("lth_b", "imp", 0, 100.0, 50.0),
            named("lth_b", "imp", 1, 50.0, 45.0),
        ];
        let svg = rw_svg(&rows, "wer");
        let dashed: Vec<&str> = svg
            .lines()
            .filter(|l| l.contains("stroke-dasharray=\"5,4\"") && !l.contains("gray"))
            .collect();
        assert_eq!(dashed.len(), 2, "{svg}");
        // Series are drawn in recipe order: lth_a first, lth_b second.
        assert!(
            dashed.iter().any(|l| l.contains(COLORS[0]))
                && dashed.iter().any(|l| l.contains(COLORS[1])),
            "{dashed:?}"
        );
        assert!(svg.contains("dense, each in its ticket's colour"));
    }

    #[test]
    fn noise_plot_has_one_line_per_round_and_each_condition_on_the_axis() {
        let svg = noise_svg(&table(), "wer");
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        assert!(svg.contains(">noisy[level=0.2]<") && svg.contains(">test<"));
        assert!(svg.contains("m: imp round 2 (36.0% RW)"));
        assert!(svg.contains("m (dense, 100% RW)") && svg.contains("stroke-dasharray"));
        assert!(svg.contains("WER (%)") && svg.contains("per test condition"));
    }

    #[test]
    fn png_is_a_real_image_with_text_drawn() {
        let svg = rw_svg(&table(), "wer");
        let bytes = png(&svg).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // Decode and look at the pixels: mostly white, with dark text and
        // coloured lines. Without the bundled font the title would be absent.
        let img = resvg::tiny_skia::Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((img.width(), img.height()), (1520, 920));
        let dark_in_title = (0..img.width())
            .flat_map(|x| (20..60).map(move |y| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y).unwrap().red() < 100)
            .count();
        assert!(dark_in_title > 500, "title pixels: {dark_in_title}");
        let no_text = png(&svg.replace("font-size=\"16\"", "font-size=\"0\"")).unwrap();
        assert_ne!(no_text, bytes);
    }

    /// Readable with many lines and long names: the legend fits the
    /// canvas, no two lines share colour and pattern, a ticket's round 0
    /// that repeats the dense model is not drawn twice, every plotted RW
    /// has a tick, and long condition names slant instead of overlapping.
    #[test]
    fn a_sweep_along_rw_is_one_curve_and_other_sweeps_stay_apart() {
        let member = |name: &str, round, rw, wer| named(name, "oneshot", round, rw, wer);
        let rows = vec![
            member("std[s=0.5]", 0, 100.0, 30.0),
            member("std[s=0.5]", 1, 50.0, 32.0),
            member("std[s=0.8]", 0, 100.0, 30.0),
            member("std[s=0.8]", 1, 20.0, 45.0),
        ];
        let svg = rw_svg(&rows, "wer");
        assert!(svg.contains(">std[s=*] on test<"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        // The shared dense point is drawn once: three points in all.
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        // Members at the same RW (a learning-rate sweep) stay apart.
        let rows = vec![
            member("t[lr=1]", 0, 100.0, 30.0),
            member("t[lr=1]", 1, 50.0, 32.0),
            member("t[lr=2]", 0, 100.0, 35.0),
            member("t[lr=2]", 1, 50.0, 36.0),
        ];
        let svg = rw_svg(&rows, "wer");
        assert!(
            svg.contains(">t[lr=1] on test<") && svg.contains(">t[lr=2] on test<"),
            "{svg}"
        );
    }

    #[test]
    fn rows_of_several_seeds_are_one_line_with_error_bars() {
        let seeded =
            |seed: u32, round, rw, wer| named(&format!("lth[seed={seed}]"), "imp", round, rw, wer);
        let rows = vec![
            seeded(1, 0, 100.0, 30.0),
            seeded(1, 1, 50.0, 40.0),
            seeded(2, 0, 100.0, 50.0),
            seeded(2, 1, 50.0, 40.0),
        ];
        let svg = rw_svg(&rows, "wer");
        assert!(
            svg.contains(">lth on test<") && !svg.contains("seed="),
            "{svg}"
        );
        // Round 0: mean 40, sd 14.1 → one bar; round 1 has no spread.
        assert_eq!(svg.matches("<path d=\"M").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        let noise = noise_svg(&rows, "wer");
        assert_eq!(noise.matches("<path d=\"M").count(), 1, "{noise}");
    }

    #[test]
    fn plots_stay_readable_with_many_lines_and_long_names() {
        let mut rows = vec![];
        let conditions = [
            "test",
            "noisy[level=0.1]",
            "noisy[level=0.3]",
            "noisy[level=0.5]",
            "noisy[level=0.7]",
        ];
        for (k, c) in conditions.iter().enumerate() {
            rows.push(Row {
                model: "dense".into(),
                ..row("dense", 0, 100.0, c, 30.0 + k as f64)
            });
            for t in 0..3 {
                for r in 0..5 {
                    let rw = 100.0 * 0.6f64.powi(r as i32);
                    // Round 0 of every ticket is the dense model.
                    let wer = if r == 0 {
                        30.0 + k as f64
                    } else {
                        20.0 + (t * 5 + r + k) as f64
                    };
                    rows.push(Row {
                        model: format!("a_rather_long_ticket_name_{t}"),
                        ..row("imp", r, rw, c, wer)
                    });
                }
            }
        }
        let svg = noise_svg(&rows, "wer");
        let width: f64 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        // Legend texts start 42 px right of the plot area; each must fit.
        for l in svg.lines().filter(|l| l.contains("% RW)")) {
            let x: f64 = l
                .split("<text x=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let text = l.rsplit('>').nth(1).unwrap().trim_end_matches("</text");
            assert!(
                x + text_width(text) <= width,
                "clipped: {text} at {x} of {width}"
            );
        }
        // 1 dense + 3 tickets × 4 rounds drawn: round 0 repeats dense.
        assert_eq!(svg.matches("<polyline").count(), 13, "{svg}");
        assert!(!svg.contains("round 0 (100.0% RW)"));
        let styles: Vec<_> = (0..13).map(style).collect();
        for i in 0..styles.len() {
            for j in 0..i {
                assert_ne!(styles[i], styles[j], "lines {i} and {j}");
            }
        }
        assert!(svg.contains("rotate(-30"), "long names slant");
        let rw = rw_svg(&rows, "wer");
        for tick in [">100<", ">60<", ">36<", ">21.6<", ">13<"] {
            assert!(rw.contains(tick), "no tick {tick}");
        }
    }
}
