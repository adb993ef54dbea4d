//! The profile as a picture: one horizontal bar per layer (GPU time, network order top to
//! bottom, coloured by op kind, annotated with the fraction of peak), drawn with plotters'
//! SVG backend; HTML output wraps the same SVG with the table underneath.

use std::path::Path;

use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use resnet_wgpu::{Error, Result};

use super::profile::Row;

const BAR_PX: u32 = 18;

fn colour(op: &str) -> RGBColor {
    match op {
        "conv" => RGBColor(49, 110, 178),
        "linear" => RGBColor(128, 77, 163),
        "maxpool" | "avgpool" => RGBColor(224, 130, 40),
        _ => RGBColor(140, 140, 140),
    }
}

/// Draws the bar chart of `rows` as an SVG document.
pub fn svg(title: &str, rows: &[Row], path: &Path) -> Result<String> {
    let fail = |e: String| {
        Error::io(
            path,
            std::io::Error::other(format!("drawing the chart: {e}")),
        )
    };
    let n = rows.len().max(1);
    let label = |r: &Row| format!("{} [{}]", r.name, r.kernel);
    let longest = rows.iter().map(|r| label(r).len()).max().unwrap_or(8) as u32;
    let height = 110 + BAR_PX * n as u32;
    let width = 1100 + 7 * longest;
    // Room right of the longest bar for its note.
    let max_ms = rows.iter().map(|r| r.ms).fold(0.0, f64::max).max(1e-6) * 1.4;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(7 * longest + 20)
            .build_cartesian_2d(0f64..max_ms, (0..n as i32).into_segmented())
            .map_err(|e| fail(e.to_string()))?;
        // Layer i sits at y = n − 1 − i so that the network reads top to bottom.
        let names: Vec<String> = rows.iter().map(label).collect();
        let y_label = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(y) => names
                .get(n.wrapping_sub(1).wrapping_sub(*y as usize))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&y_label)
            .x_desc("GPU time per layer (ms)")
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let y = (n - 1 - i) as i32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(y)),
                        (r.ms, SegmentValue::Exact(y + 1)),
                    ],
                    colour(r.op).filled(),
                );
                bar.set_margin(2, 2, 0, 0);
                bar
            }))
            .map_err(|e| fail(e.to_string()))?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let y = (n - 1 - i) as i32;
                let note = match r.fraction {
                    Some(f) => format!(
                        " {:.3} ms | {:.1} % of {} peak | {:.1} % of time",
                        r.ms,
                        f * 1e2,
                        r.bound,
                        r.share * 1e2
                    ),
                    None => format!(" {:.3} ms | {:.1} % of time", r.ms, r.share * 1e2),
                };
                let style = TextStyle::from(("sans-serif", 11).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center));
                Text::new(note, (r.ms, SegmentValue::CenterOf(y)), style)
            }))
            .map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTML page with the chart and the table.
pub fn html(title: &str, header: &[String], rows: &[Row], svg: &str) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{padding:2px 8px;text-align:right}}td:nth-child(-n+4){{text-align:left}}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    for line in header {
        s += &format!("<p>{}</p>\n", escape(line));
    }
    s += svg;
    s += "\n<table>\n<tr><th>layer</th><th>op</th><th>shape</th><th>kernel</th><th>ms</th><th>GFLOP/s</th><th>GB/s</th><th>% of peak</th><th>% of total</th></tr>\n";
    for r in rows {
        s += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.1}</td></tr>\n",
            escape(&r.name),
            r.op,
            escape(&r.shape),
            escape(&r.kernel),
            r.ms,
            r.gflops.map_or(String::new(), |g| format!("{g:.1}")),
            r.gbs,
            r.fraction
                .map_or(String::new(), |f| format!("{:.1} ({})", f * 1e2, r.bound)),
            r.share * 1e2
        );
    }
    s + "</table>\n</body></html>\n"
}
