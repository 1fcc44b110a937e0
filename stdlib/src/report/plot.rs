//! The report's plots: SVG written by hand (small, diffable, no plotting
//! dependency) and the same picture rasterised to PNG with resvg, using a
//! bundled DejaVu Sans so that a machine without fonts still gets labels.
//!
//! Two kinds: WER (or CER) against remaining weights on a log axis, one line
//! per model and test set; and WER across test conditions (clean, then each
//! noisy test set), one line per ticket round.

use crate::eval::table::Row;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, OnceLock};

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// The font every plot names; bundled so PNGs never depend on the machine.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans";

/// Canvas and margins shared by both plots: room on the right for a legend.
struct Frame {
    w: f64,
    h: f64,
    ml: f64,
    mr: f64,
    mt: f64,
    mb: f64,
}

const FRAME: Frame = Frame {
    w: 760.0,
    h: 460.0,
    ml: 70.0,
    mr: 250.0,
    mt: 50.0,
    mb: 60.0,
};

impl Frame {
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

    /// One legend entry (line sample and text), `i`-th from the top.
    fn legend(&self, s: &mut String, i: usize, color: &str, dashed: bool, text: &str) {
        let ly = self.mt + 10.0 + i as f64 * 20.0;
        let dash = if dashed {
            " stroke-dasharray=\"5,4\""
        } else {
            ""
        };
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

/// A line through the points (when there are two or more) with a dot at each.
fn polyline(s: &mut String, color: &str, pts: &[(f64, f64)]) {
    let path: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
    if pts.len() > 1 {
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
    }
    for (a, b) in pts {
        let _ = writeln!(
            s,
            "<circle cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"3.5\" fill=\"{color}\"/>"
        );
    }
}

/// Rows grouped by (model, test set), in table order within each group.
pub fn series(rows: &[Row]) -> BTreeMap<(String, String), Vec<&Row>> {
    let mut m: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        m.entry((r.model.clone(), r.corpus.clone()))
            .or_default()
            .push(r);
    }
    m
}

/// WER (or CER) against RW on a log axis, one line per model and test set,
/// each dense model as a dashed line.
pub fn rw_svg(rows: &[Row], metric: &str) -> String {
    let f = &FRAME;
    let m = metric.to_uppercase();
    let min_rw = rows.iter().map(|r| r.rw).fold(100.0f64, f64::min).max(0.1);
    let (lx0, lx1) = ((min_rw * 0.8).log10(), 100f64.log10() + 0.02);
    let ymax = y_max(rows, metric);
    let x = |rw: f64| f.ml + (lx1 - rw.max(0.1).log10()) / (lx1 - lx0) * (f.plot_right() - f.ml);
    let mut s = f.open(
        &format!("{m} vs remaining weights (lower is better)"),
        "remaining weights, % of prunable (log scale; sparser to the right)",
        &format!("{m} (%)"),
    );
    for rw in [100.0, 50.0, 25.0, 12.5, 5.0, 2.0, 1.0] {
        if rw >= min_rw * 0.8 {
            let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{rw}</text>", x(rw), f.mt, f.plot_bottom(), f.plot_bottom() + 16.0);
        }
    }
    f.y_grid(&mut s, ymax);
    // A model evaluated only densely (one point per test set) is drawn as a
    // dashed baseline in the colour of the ticket line it belongs to: the
    // one on the same test set whose round 0 (the dense model itself) has
    // the same value; else the first line on that test set.
    let is_dense = |rs: &[&Row]| rs.iter().all(|r| r.method == "dense" && r.round == 0);
    let groups = series(rows);
    let lines: Vec<_> = groups.iter().filter(|(_, rs)| !is_dense(rs)).collect();
    let color_of = |corpus: &str, v: f64, fallback: usize| {
        let own = lines.iter().position(|((_, c), rs)| {
            c == corpus && rs.iter().any(|r| r.round == 0 && value(r, metric) == v)
        });
        let i = own
            .or_else(|| lines.iter().position(|((_, c), _)| c == corpus))
            .unwrap_or(fallback);
        COLORS[i % COLORS.len()]
    };
    let dense: Vec<_> = groups.iter().filter(|(_, rs)| is_dense(rs)).collect();
    for (i, ((_, corpus), rs)) in dense.iter().enumerate() {
        let v = value(rs[0], metric);
        let c = color_of(corpus, v, lines.len() + i);
        let y = f.y(v, ymax);
        let _ = writeln!(s, "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{c}\" stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>", f.ml, f.plot_right());
    }
    for (i, ((model, corpus), rs)) in lines.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let mut pts: Vec<(f64, f64)> = rs.iter().map(|r| (r.rw, value(r, metric))).collect();
        pts.sort_by(|a, b| b.0.total_cmp(&a.0));
        let pts: Vec<(f64, f64)> = pts.iter().map(|(a, b)| (x(*a), f.y(*b, ymax))).collect();
        polyline(&mut s, c, &pts);
        f.legend(&mut s, i, c, false, &format!("{model} on {corpus}"));
    }
    let dense_models: std::collections::BTreeSet<&str> =
        dense.iter().map(|((m, _), _)| m.as_str()).collect();
    let baseline = if dense_models.len() > 1 {
        "dense, each in its ticket's colour"
    } else {
        "dense, same test set"
    };
    f.legend(&mut s, lines.len(), "gray", true, baseline);
    s.push_str("</svg>\n");
    s
}

/// One ticket round: model, method, round and its RW.
type RoundKey<'a> = (&'a str, &'a str, usize, f64);

/// WER (or CER) across the test sets in table order (clean first, then the
/// noisy ones as the recipe lists them), one line per model and round; the
/// dense models dashed. The paper's robustness question in one picture:
/// does a ticket degrade faster than the dense model as noise grows?
pub fn noise_svg(rows: &[Row], metric: &str) -> String {
    let f = &FRAME;
    let m = metric.to_uppercase();
    let mut sets: Vec<&str> = vec![];
    for r in rows {
        if !sets.contains(&r.corpus.as_str()) {
            sets.push(&r.corpus);
        }
    }
    let ymax = y_max(rows, metric);
    let step = (f.plot_right() - f.ml) / sets.len().max(1) as f64;
    let x = |i: usize| f.ml + step * (i as f64 + 0.5);
    let mut s = f.open(
        &format!("{m} per test condition (lower is better)"),
        "test set (clean, then with added noise, as listed in the recipe)",
        &format!("{m} (%)"),
    );
    for (i, name) in sets.iter().enumerate() {
        let _ = writeln!(s, "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>", x(i), f.mt, f.plot_bottom(), f.plot_bottom() + 16.0, esc(name));
    }
    f.y_grid(&mut s, ymax);
    // One line per (model, method, round), in table order.
    let mut lines: Vec<(RoundKey, Vec<(usize, f64)>)> = vec![];
    for r in rows {
        let key = (r.model.as_str(), r.method.as_str(), r.round, r.rw);
        let at = sets.iter().position(|c| *c == r.corpus).unwrap_or(0);
        match lines
            .iter_mut()
            .find(|(k, _)| (k.0, k.1, k.2) == (key.0, key.1, key.2))
        {
            Some((_, pts)) => pts.push((at, value(r, metric))),
            None => lines.push((key, vec![(at, value(r, metric))])),
        }
    }
    // Dense lines last, so their dashes stay visible over a ticket's round 0
    // (the same weights).
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i].0 .1 == "dense");
    for i in order {
        let ((model, method, round, rw), mut pts) = lines[i].clone();
        let c = COLORS[i % COLORS.len()];
        pts.sort_by_key(|p| p.0);
        let dense = method == "dense";
        let pts: Vec<(f64, f64)> = pts.iter().map(|(a, b)| (x(*a), f.y(*b, ymax))).collect();
        if dense {
            let path: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = writeln!(s, "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" stroke-dasharray=\"5,4\" points=\"{}\"/>", path.join(" "));
        } else {
            polyline(&mut s, c, &pts);
        }
        let label = if dense {
            format!("{model} (dense, 100% RW)")
        } else {
            format!("{model}: {method} round {round} ({rw:.1}% RW)")
        };
        f.legend(&mut s, i, c, dense, &label);
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
        let named = |model: &str, method: &str, round: usize, rw: f64, wer: f64| Row {
            model: model.into(),
            ..row(method, round, rw, "test", wer)
        };
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
        // Series are drawn in name order: lth_a first, lth_b second.
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
}
