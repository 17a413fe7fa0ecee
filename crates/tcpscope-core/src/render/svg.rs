//! The state machine as a self-contained SVG, laid out like the classic RFC 793 / 9293 figure:
//! CLOSED on top, the handshake states below it, ESTABLISHED in the middle, the active closer's
//! states down the left, the passive closer's down the right, and CLOSED again at the bottom.
//! Linux's extra states sit beside the RFC ones. Drawn by hand (no layout engine): the figure is
//! fixed, only the arrows and labels come from the model.

use super::diagram::{arrows, exceptional_summary, Arrow};
use crate::analyze::fsm::Origin;
use crate::model::state::TcpState;
use std::fmt::Write as _;

const WIDTH: f64 = 1100.0;
const NODE_W: f64 = 136.0;
const NODE_H: f64 = 38.0;
const FONT: f64 = 11.5;
/// Average width of a character of the label font, for label backgrounds.
const CHAR_W: f64 = 6.3;

/// Where a state's box is drawn. CLOSED is drawn twice, as in the RFC: at the top (where
/// connections begin) and at the bottom (where they end).
fn position(state: TcpState, bottom: bool) -> (f64, f64) {
    use TcpState::*;
    match state {
        Close if bottom => (550.0, 890.0),
        Close => (550.0, 70.0),
        BoundInactive => (870.0, 70.0),
        NewSynRecv => (670.0, 320.0),
        Listen => (420.0, 200.0),
        SynRecv => (290.0, 340.0),
        SynSent => (870.0, 340.0),
        Established => (550.0, 470.0),
        FinWait1 => (230.0, 610.0),
        Closing => (550.0, 610.0),
        CloseWait => (870.0, 610.0),
        FinWait2 => (230.0, 750.0),
        TimeWait => (550.0, 750.0),
        LastAck => (870.0, 750.0),
    }
}

/// True when an arrow into CLOSED should end at the bottom CLOSED (it comes from a closing state).
fn ends_at_bottom(a: &Arrow) -> bool {
    a.to == TcpState::Close && position(a.from, false).1 >= 600.0
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The point where the segment from the centre `c` towards `p` leaves the box around `c`.
fn clip(c: (f64, f64), p: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (p.0 - c.0, p.1 - c.1);
    let tx = if dx.abs() > 1e-9 {
        (NODE_W / 2.0 + 3.0) / dx.abs()
    } else {
        f64::INFINITY
    };
    let ty = if dy.abs() > 1e-9 {
        (NODE_H / 2.0 + 3.0) / dy.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty).min(1.0);
    (c.0 + dx * t, c.1 + dy * t)
}

struct Style {
    class: &'static str,
    marker: &'static str,
}

fn style(a: &Arrow, highlight: Option<TcpState>) -> Style {
    if a.touches(highlight) {
        return Style {
            class: "e hl",
            marker: "hl",
        };
    }
    let (class, marker) = match a.origin {
        Origin::Both => ("e", "both"),
        Origin::Linux => ("e linux", "linux"),
        Origin::Rfc => ("e rfc", "rfc"),
    };
    let class = if highlight.is_some() {
        match a.origin {
            Origin::Both => "e dim",
            Origin::Linux => "e linux dim",
            Origin::Rfc => "e rfc dim",
        }
    } else {
        class
    };
    Style { class, marker }
}

/// Render the SVG. `highlight` fills one state and draws its arrows heavy; the others fade.
pub fn render_svg(highlight: Option<TcpState>) -> String {
    let legend = exceptional_summary();
    let legend_top = 950.0;
    let height = legend_top + 40.0 + 17.0 * (legend.len() as f64 + 2.0);
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(s, "<title>TCP state machine (RFC 9293, with Linux)</title>");
    let _ = writeln!(
        s,
        r#"<style>
.e {{ fill: none; stroke: #44546a; stroke-width: 1.4; }}
.e.linux {{ stroke: #1f6feb; stroke-dasharray: 6 4; }}
.e.rfc {{ stroke: #8a8f98; stroke-dasharray: 2 3; }}
.e.hl {{ stroke: #d9480f; stroke-width: 2.8; }}
.dim {{ opacity: 0.35; }}
.n rect {{ fill: #eef2f7; stroke: #44546a; stroke-width: 1.4; }}
.n.linux rect {{ fill: #eaf2ff; stroke: #1f6feb; stroke-dasharray: 5 3; }}
.n.hl rect {{ fill: #ffd54f; stroke: #b35c00; stroke-width: 2.6; }}
.n text {{ font-size: 13px; font-weight: bold; fill: #1d2733; text-anchor: middle; }}
.l rect {{ fill: #ffffff; fill-opacity: 0.92; }}
.l text {{ font-size: {FONT}px; fill: #2b3645; text-anchor: middle; }}
.l.hl text {{ fill: #d9480f; font-weight: bold; }}
.legend {{ font-size: 12px; fill: #2b3645; }}
.heading {{ font-size: 18px; font-weight: bold; fill: #1d2733; }}
</style>"#
    );
    let _ = writeln!(s, "<defs>");
    for (id, colour) in [
        ("both", "#44546a"),
        ("linux", "#1f6feb"),
        ("rfc", "#8a8f98"),
        ("hl", "#d9480f"),
    ] {
        let _ = writeln!(
            s,
            r##"<marker id="arrow-{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" markerHeight="11" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>"##
        );
    }
    let _ = writeln!(s, "</defs>");
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text class="heading" x="24" y="36">TCP state machine</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text class="legend" x="24" y="56">RFC 9293 figure, with Linux's differences</text>"##
    );

    // Arrows first, then labels, then boxes on top.
    let arrows = arrows();
    let mut labels = String::new();
    for a in &arrows {
        let st = style(a, highlight);
        let from = position(a.from, false);
        let to = position(a.to, ends_at_bottom(a));
        let text_w = a.label.chars().count() as f64 * CHAR_W + 8.0;
        let (path, mid) = if a.is_loop() {
            loop_path(from, text_w)
        } else {
            let push = if label_on_line(a) { 0.0 } else { text_w };
            curve(from, to, push * bend_side(a), bend_side(a))
        };
        let _ = writeln!(
            s,
            r##"<path class="{}" d="{path}" marker-end="url(#arrow-{})"><title>{} -&gt; {}: {}</title></path>"##,
            st.class,
            st.marker,
            a.from.display_name(),
            a.to.display_name(),
            escape(&a.label)
        );
        let label_class = if a.touches(highlight) {
            "l hl"
        } else if highlight.is_some() {
            "l dim"
        } else {
            "l"
        };
        let _ = writeln!(
            labels,
            r#"<g class="{label_class}"><rect x="{:.1}" y="{:.1}" width="{text_w:.1}" height="15" rx="3"/><text x="{:.1}" y="{:.1}">{}</text></g>"#,
            mid.0 - text_w / 2.0,
            mid.1 - 8.5,
            mid.0,
            mid.1 + 3.5,
            escape(&a.label)
        );
    }
    s.push_str(&labels);

    let mut boxes: Vec<(TcpState, bool)> = super::diagram::DIAGRAM_ORDER
        .iter()
        .map(|st| (*st, false))
        .collect();
    boxes.push((TcpState::Close, true));
    for (state, bottom) in boxes {
        let (x, y) = position(state, bottom);
        let mut class = String::from("n");
        if matches!(state, TcpState::NewSynRecv | TcpState::BoundInactive) {
            class.push_str(" linux");
        }
        if highlight == Some(state) {
            class.push_str(" hl");
        }
        let _ = writeln!(
            s,
            r#"<g class="{class}"><rect x="{:.1}" y="{:.1}" width="{NODE_W}" height="{NODE_H}" rx="9"/><text x="{x:.1}" y="{:.1}">{}</text></g>"#,
            x - NODE_W / 2.0,
            y - NODE_H / 2.0,
            y + 4.5,
            state.display_name()
        );
    }

    // Legend: line styles, then the edges the figure leaves out.
    let mut y = legend_top;
    let key = [
        ("both", "RFC 9293 and Linux", "e"),
        ("linux", "Linux only", "e linux"),
        ("rfc", "RFC only (Linux differs)", "e rfc"),
    ];
    let mut x = 24.0;
    for (id, text, class) in key {
        let _ = writeln!(
            s,
            r##"<path class="{class}" d="M{x:.1},{:.1} H{:.1}" marker-end="url(#arrow-{id})"/><text class="legend" x="{:.1}" y="{:.1}">{text}</text>"##,
            y - 4.0,
            x + 44.0,
            x + 52.0,
            y
        );
        x += 250.0;
    }
    y += 26.0;
    let _ = writeln!(
        s,
        r#"<text class="legend" x="24" y="{y:.1}" font-weight="bold">Not drawn:</text>"#
    );
    for line in legend.iter().map(String::as_str).chain([
        "Linux's tracepoint sock:inet_sock_set_state sees entering TIME-WAIT as FIN_WAIT2 -> CLOSE (a timewait mini-socket takes over)",
    ]) {
        y += 17.0;
        let _ = writeln!(
            s,
            r#"<text class="legend" x="36" y="{y:.1}">• {}</text>"#,
            escape(line)
        );
    }
    let _ = writeln!(s, "</svg>");
    s
}

/// Which side an arrow bends to: +1 (left of its direction) unless the figure reads better the
/// other way (the label would cover a box or another arrow). The sign rides on the label width.
fn bend_side(a: &Arrow) -> f64 {
    use TcpState::*;
    match (a.from, a.to) {
        (Established, FinWait1) | (SynRecv, Established) | (SynRecv, FinWait1) => -1.0,
        (Established, CloseWait) | (Listen, NewSynRecv) => -1.0,
        _ => 1.0,
    }
}

/// Arrows whose label sits on the line (over a white background) because beside it there is
/// no room.
fn label_on_line(a: &Arrow) -> bool {
    use TcpState::*;
    matches!(
        (a.from, a.to),
        (Established, FinWait1) | (CloseWait, LastAck) | (Listen, NewSynRecv) | (Listen, SynRecv)
    )
}

/// A gently curved arrow from box to box, bending to the left of its direction so that the two
/// arrows of a pair (A -> B, B -> A) do not overlap. Returns the path and the label's centre,
/// which sits beside the curve (on its outer side) rather than on it.
/// `side` -1 bends to the right instead; `text_w` 0 puts the label on the curve.
fn curve(a: (f64, f64), b: (f64, f64), text_w: f64, side: f64) -> (String, (f64, f64)) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let text_w = text_w.abs();
    let bend = (24.0 + len * 0.06) * side;
    let (nx, ny) = (dy / len, -dx / len);
    let ctrl = ((a.0 + b.0) / 2.0 + nx * bend, (a.1 + b.1) / 2.0 + ny * bend);
    let start = clip(a, ctrl);
    let end = clip(b, ctrl);
    let push = if text_w > 0.0 {
        (nx.abs() * (text_w / 2.0 + 3.0) + ny.abs() * 10.0) * side
    } else {
        0.0
    };
    let mid = (
        0.25 * start.0 + 0.5 * ctrl.0 + 0.25 * end.0 + nx * push,
        0.25 * start.1 + 0.5 * ctrl.1 + 0.25 * end.1 + ny * push,
    );
    (
        format!(
            "M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}",
            start.0, start.1, ctrl.0, ctrl.1, end.0, end.1
        ),
        mid,
    )
}

/// A loop on the right of a box (TIME-WAIT answering a repeated FIN), label to its right.
fn loop_path(c: (f64, f64), text_w: f64) -> (String, (f64, f64)) {
    let x0 = c.0 + NODE_W / 2.0 + 2.0;
    let (y0, y1) = (c.1 - 10.0, c.1 + 10.0);
    (
        format!(
            "M{x0:.1},{y0:.1} C{:.1},{:.1} {:.1},{:.1} {x0:.1},{y1:.1}",
            x0 + 46.0,
            y0 - 22.0,
            x0 + 46.0,
            y1 + 22.0
        ),
        (x0 + 40.0 + text_w / 2.0, c.1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_box_and_every_arrow_a_path() {
        let svg = render_svg(None);
        for s in TcpState::ALL {
            assert!(
                svg.contains(&format!(">{}</text>", s.display_name())),
                "{s}"
            );
        }
        assert_eq!(svg.matches("<path class=\"e").count(), arrows().len() + 3);
    }

    #[test]
    fn boxes_do_not_overlap() {
        let mut all: Vec<(f64, f64)> = TcpState::ALL.iter().map(|s| position(*s, false)).collect();
        all.push(position(TcpState::Close, true));
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let apart = (a.0 - b.0).abs() > NODE_W + 20.0 || (a.1 - b.1).abs() > NODE_H + 20.0;
                assert!(apart, "{a:?} and {b:?} overlap");
            }
        }
    }

    #[test]
    fn is_valid_xml_with_an_svg_root() {
        for highlight in [None, Some(TcpState::TimeWait), Some(TcpState::NewSynRecv)] {
            let svg = render_svg(highlight);
            let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}"));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "svg");
            assert_eq!(
                root.tag_name().namespace(),
                Some("http://www.w3.org/2000/svg")
            );
            // Every marker an arrow refers to is defined.
            for node in doc.descendants().filter(|n| n.has_attribute("marker-end")) {
                let url = node.attribute("marker-end").unwrap_or_default();
                let id = url.trim_start_matches("url(#").trim_end_matches(')');
                assert!(
                    doc.descendants().any(|n| n.attribute("id") == Some(id)),
                    "{id}"
                );
            }
        }
    }

    /// The rectangles of every label (`g.l`) and box (`g.n`), from the SVG itself.
    fn rects(svg: &str, class: &str) -> Vec<(String, [f64; 4])> {
        let doc = roxmltree::Document::parse(svg).expect("valid SVG");
        doc.descendants()
            .filter(|n| {
                n.attribute("class")
                    .is_some_and(|c| c.split(' ').next() == Some(class))
            })
            .filter_map(|g| {
                let rect = g.children().find(|c| c.has_tag_name("rect"))?;
                let text = g.children().find(|c| c.has_tag_name("text"))?;
                let num = |a: &str| rect.attribute(a).and_then(|v| v.parse::<f64>().ok());
                Some((
                    text.text().unwrap_or_default().to_string(),
                    [num("x")?, num("y")?, num("width")?, num("height")?],
                ))
            })
            .collect()
    }

    fn overlap(a: [f64; 4], b: [f64; 4]) -> bool {
        a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]
    }

    #[test]
    fn labels_overlap_neither_each_other_nor_boxes_and_stay_on_the_canvas() {
        let svg = render_svg(None);
        let labels = rects(&svg, "l");
        let boxes = rects(&svg, "n");
        assert_eq!(labels.len(), arrows().len());
        let mut problems = Vec::new();
        for (i, (ta, a)) in labels.iter().enumerate() {
            if a[0] < 0.0 || a[0] + a[2] > WIDTH {
                problems.push(format!("'{ta}' leaves the canvas"));
            }
            for (tb, b) in &labels[i + 1..] {
                if overlap(*a, *b) {
                    problems.push(format!("labels '{ta}' and '{tb}' overlap"));
                }
            }
            for (tb, b) in &boxes {
                if overlap(*a, *b) {
                    problems.push(format!("label '{ta}' covers box {tb}"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn highlight_marks_state() {
        let svg = render_svg(Some(TcpState::CloseWait));
        assert!(svg.contains(r#"<g class="n hl">"#));
        assert!(svg.contains("e hl"));
    }
}
