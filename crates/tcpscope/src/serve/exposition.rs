//! The metric families core decides on ([`tcpscope_core::render::metrics`]) written out by the
//! `prometheus-client` crate, in the Prometheus text format (0.0.4) or OpenMetrics 1.0 as the
//! scraper asked. The crate writes names, `_total`/`_info` suffixes, `# EOF`, and escapes label
//! values (`\`, `"`, newline); a [`Collector`] hands it this scrape's values, so nothing is kept
//! between scrapes.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType as PcType;
use prometheus_client::registry::Registry;
use tcpscope_core::render::metrics::{Exposition, MetricFamily, MetricType, Sample};

/// The `Content-Type` of each format.
pub fn content_type(format: Exposition) -> &'static str {
    match format {
        Exposition::PrometheusText => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
    }
}

/// The families as one exposition document.
pub fn encode(families: Vec<MetricFamily>, format: Exposition) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families)));
    let mut out = String::new();
    match format {
        Exposition::PrometheusText => {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?
        }
        Exposition::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry)?,
    }
    Ok(out)
}

#[derive(Debug)]
struct Families(Vec<MetricFamily>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let kind = match f.kind {
                MetricType::Gauge => PcType::Gauge,
                MetricType::Counter => PcType::Counter,
                MetricType::Info => PcType::Info,
            };
            let mut family = encoder.encode_descriptor(f.name, f.help, None, kind)?;
            for s in &f.samples {
                sample(&mut family, f.kind, s)?;
            }
        }
        Ok(())
    }
}

fn sample(family: &mut MetricEncoder, kind: MetricType, s: &Sample) -> Result<(), std::fmt::Error> {
    if kind == MetricType::Info {
        return family.encode_info(&s.labels);
    }
    let labelled = family.encode_family(&s.labels)?;
    // Whole numbers are written as integers ("36", not "36.0").
    let whole = s.value.fract() == 0.0 && s.value.abs() < 9.0e15;
    match kind {
        MetricType::Counter if whole && s.value >= 0.0 => {
            ConstCounter::new(s.value as u64).encode(labelled)
        }
        MetricType::Counter => ConstCounter::new(s.value).encode(labelled),
        _ if whole => ConstGauge::new(s.value as i64).encode(labelled),
        _ => ConstGauge::new(s.value).encode(labelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families() -> Vec<MetricFamily> {
        vec![
            MetricFamily {
                name: "tcpscope_process_sockets",
                help: "help",
                kind: MetricType::Gauge,
                samples: vec![Sample {
                    labels: vec![
                        ("comm", "a\"b\\c\nd".to_string()),
                        ("state", "close-wait".into()),
                    ],
                    value: 3.0,
                }],
            },
            MetricFamily {
                name: "tcpscope_listen_overflows",
                help: "h",
                kind: MetricType::Counter,
                samples: vec![Sample {
                    labels: vec![],
                    value: 7.0,
                }],
            },
            MetricFamily {
                name: "tcpscope_build",
                help: "v",
                kind: MetricType::Info,
                samples: vec![Sample {
                    labels: vec![("version", "0.1.0".into())],
                    value: 1.0,
                }],
            },
            MetricFamily {
                name: "tcpscope_scrape_duration_seconds",
                help: "s",
                kind: MetricType::Gauge,
                samples: vec![Sample {
                    labels: vec![],
                    value: 0.25,
                }],
            },
        ]
    }

    #[test]
    fn prometheus_text() {
        let text = encode(families(), Exposition::PrometheusText).unwrap();
        assert!(
            text.contains(r#"tcpscope_process_sockets{comm="a\"b\\c\nd",state="close-wait"} 3"#),
            "{text}"
        );
        assert!(text.contains("# TYPE tcpscope_listen_overflows_total counter\ntcpscope_listen_overflows_total 7\n"), "{text}");
        assert!(
            text.contains(
                "# TYPE tcpscope_build_info gauge\ntcpscope_build_info{version=\"0.1.0\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("tcpscope_scrape_duration_seconds 0.25\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn openmetrics() {
        let text = encode(families(), Exposition::OpenMetrics).unwrap();
        assert!(
            text.contains(
                "# TYPE tcpscope_listen_overflows counter\ntcpscope_listen_overflows_total 7\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tcpscope_build info\ntcpscope_build_info{version=\"0.1.0\"} 1\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
