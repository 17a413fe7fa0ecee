//! Wall-clock text for timestamps carried as data (`taken_at_unix_ms`, a trace record's
//! nanoseconds), without a date crate.

/// `2026-11-21 04:32:24 UTC` for milliseconds since the Unix epoch.
pub fn utc_text(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The time of day in UTC to a tenth of a second: `12:00:03.5` (a replay clock).
pub fn utc_clock_tenths(unix_ms: u64) -> String {
    let rem = unix_ms / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000 / 100
    )
}

/// RFC 3339 in UTC with nanoseconds: `2026-11-21T04:32:24.123456789Z`.
pub fn rfc3339_ns(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ns % 1_000_000_000
    )
}

/// The time of day in UTC with microseconds, for a column: `04:32:24.123456`.
pub fn clock_us(unix_ns: u64) -> String {
    let secs = unix_ns / 1_000_000_000 % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        unix_ns % 1_000_000_000 / 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_text(1_795_235_544_000), "2026-11-21 04:32:24 UTC");
        let ns = 1_795_235_544_000_000_000 + 123_456_789;
        assert_eq!(rfc3339_ns(ns), "2026-11-21T04:32:24.123456789Z");
        assert_eq!(rfc3339_ns(5), "1970-01-01T00:00:00.000000005Z");
        assert_eq!(clock_us(ns), "04:32:24.123456");
    }
}
