//! Durations as people write and read them — one grammar for every flag and filter
//! (`--watch 1.5s`, `--hold 90`, `idle > 5m`) and one short form for tables and evidence (the two
//! most significant units, never more than six characters under a day: "0.2s", "52s", "7m12s",
//! "1h59m", "3d4h").

use std::time::Duration;

/// Format milliseconds for a person.
pub fn human_ms(ms: u64) -> String {
    const S: u64 = 1000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    match ms {
        0..=9_999 => {
            let tenths = ms / 100;
            format!("{}.{}s", tenths / 10, tenths % 10)
        }
        10_000..=59_999 => format!("{}s", ms / S),
        60_000..=3_599_999 => two_units(ms / M, "m", (ms % M) / S, "s"),
        3_600_000..=86_399_999 => two_units(ms / H, "h", (ms % H) / M, "m"),
        _ => two_units(ms / D, "d", (ms % D) / H, "h"),
    }
}

fn two_units(a: u64, ua: &str, b: u64, ub: &str) -> String {
    if b == 0 {
        format!("{a}{ua}")
    } else {
        format!("{a}{ua}{b}{ub}")
    }
}

/// Parse a duration a user typed: `90s`, `1.5s`, `5m`, `2h`, `1d`, `250ms`, or bare seconds
/// (`30`), into milliseconds. Negative, empty and absurdly large values are refused with a message
/// that says what is accepted.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("'{s}' is not a duration; write e.g. 90, 500ms, 1.5s, 5m, 2h or 1d");
    if num.is_empty() || num.starts_with('.') && num.len() == 1 {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1000.0,
        "ms" => 1.0,
        "m" | "min" | "mins" => 60_000.0,
        "h" | "hr" | "hrs" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{s}'; use ms, s, m, h or d"
            ))
        }
    };
    let ms = (value * scale).round();
    // Beyond 2^53 ms (285,000 years) an f64 no longer holds whole milliseconds.
    if !ms.is_finite() || ms > 9_007_199_254_740_992.0 {
        return Err(format!("'{s}' is too long a duration"));
    }
    Ok(ms as u64)
}

/// [`parse_duration_ms`] as a [`Duration`] (for clap value parsers).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_duration_ms(s).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let cases = [
            (0, "0.0s"),
            (230, "0.2s"),
            (1_234, "1.2s"),
            (52_000, "52s"),
            (60_000, "1m"),
            (432_000, "7m12s"),
            (7_140_000, "1h59m"),
            (7_200_000, "2h"),
            (273_600_000, "3d4h"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_ms(ms), want, "{ms}");
        }
    }

    #[test]
    fn parses() {
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1_500));
        assert_eq!(parse_duration_ms("30"), Ok(30_000));
        assert!(parse_duration_ms("5x").is_err());
        assert!(parse_duration_ms("m").is_err());
        assert!(parse_duration_ms("").is_err());
        assert!(parse_duration_ms("-1s").is_err());
        assert!(parse_duration_ms(".").is_err());
        assert!(parse_duration_ms("99999999999999999999h").is_err());
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
    }
}
