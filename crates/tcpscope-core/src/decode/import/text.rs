//! Bytes of a capture into lines of text, whatever made the file: UTF-8 (with or without a BOM),
//! UTF-16 as Windows PowerShell 5 writes with `>` (little-endian, BOM or not), CRLF line ends,
//! and — for text that is neither — Latin-1, byte for byte, so nothing is lost and nothing panics.

/// How the bytes were decoded, for the notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Not valid UTF-8: each byte read as one Latin-1 character.
    Latin1,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Latin1 => "Latin-1",
        }
    }
}

/// Decode a capture's bytes into text.
pub fn decode(bytes: &[u8]) -> (String, Encoding) {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return (String::from_utf8_lossy(rest).into_owned(), Encoding::Utf8);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return (utf16(rest, u16::from_le_bytes), Encoding::Utf16Le);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return (utf16(rest, u16::from_be_bytes), Encoding::Utf16Be);
    }
    // UTF-16 without a BOM: ASCII text has a zero in every other byte.
    match utf16_without_bom(bytes) {
        Some(Encoding::Utf16Le) => return (utf16(bytes, u16::from_le_bytes), Encoding::Utf16Le),
        Some(Encoding::Utf16Be) => return (utf16(bytes, u16::from_be_bytes), Encoding::Utf16Be),
        _ => {}
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), Encoding::Utf8),
        Err(_) => (
            bytes.iter().map(|b| char::from(*b)).collect(),
            Encoding::Latin1,
        ),
    }
}

fn utf16(bytes: &[u8], word: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|c| word([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// UTF-16 without a byte order mark: at least 90% of the first 512 byte pairs have a zero on one
/// side and not on the other.
fn utf16_without_bom(bytes: &[u8]) -> Option<Encoding> {
    let pairs: Vec<&[u8]> = bytes.chunks_exact(2).take(256).collect();
    if pairs.len() < 4 {
        return None;
    }
    let le = pairs.iter().filter(|p| p[0] != 0 && p[1] == 0).count();
    let be = pairs.iter().filter(|p| p[0] == 0 && p[1] != 0).count();
    let need = pairs.len() * 9 / 10;
    if le >= need {
        Some(Encoding::Utf16Le)
    } else if be >= need {
        Some(Encoding::Utf16Be)
    } else {
        None
    }
}

/// The lines of a text, without their `\n` or `\r\n` ends (a lone `\r` ends a line too).
pub fn lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .flat_map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            l.split('\r')
        })
        .collect()
}

/// Expand tabs to spaces (tab stops every 8 columns), for formats read by column position.
pub fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            for _ in 0..n {
                out.push(' ');
            }
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend(u.to_le_bytes());
        }
        v
    }

    #[test]
    fn decodes_every_encoding_a_capture_arrives_in() {
        let text = "  TCP    0.0.0.0:135    0.0.0.0:0    ABHÖREN\r\n";
        assert_eq!(decode(text.as_bytes()), (text.to_string(), Encoding::Utf8));
        assert_eq!(decode(&utf16le(text, true)).0, text);
        assert_eq!(
            decode(&utf16le(text, false)),
            (text.to_string(), Encoding::Utf16Le)
        );
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend(text.as_bytes());
        assert_eq!(decode(&bom8).0, text);
        // Code page 850 bytes: Ö is 0x99; read byte for byte, never a panic.
        let (latin, enc) = decode(b"ABH\x99REN");
        assert_eq!((latin.as_str(), enc), ("ABH\u{99}REN", Encoding::Latin1));
        // An odd trailing byte of UTF-16 is dropped, not a panic.
        let mut odd = utf16le("tcp", true);
        odd.push(0x41);
        assert_eq!(decode(&odd).0, "tcp");
    }

    #[test]
    fn line_ends_and_tabs() {
        assert_eq!(lines("a\r\nb\nc\rd"), vec!["a", "b", "c", "d"]);
        assert_eq!(expand_tabs("a\tb"), "a       b");
        assert_eq!(expand_tabs("\tx"), "        x");
    }
}
