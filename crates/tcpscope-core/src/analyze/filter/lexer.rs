//! Splits a filter expression into tokens, each with the column where it starts, so the parser
//! can point at the exact place of a mistake.
//!
//! ss splits only on whitespace; tcpscope also splits operators off words (`sport>=:1024`,
//! `(dport`), which accepts everything ss accepts and a little more. Quotes ('...' or "...")
//! make one word of text with spaces, for `comm "my app"`.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    LParen,
    RParen,
    /// `!` (the word `not` stays a word; the parser treats both alike).
    Bang,
    /// `&` or `&&`.
    And,
    /// `|` or `||`.
    Or,
    /// `=` or `==`.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A token and where it is: `col` is the 0-based character column of its first character,
/// `len` its length in characters (at least 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub col: usize,
    pub len: usize,
    /// True when the word was quoted: never a keyword or operator then.
    pub quoted: bool,
}

/// An unterminated quote, the only thing the lexer itself rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub col: usize,
    pub len: usize,
}

fn is_operator_char(c: char) -> bool {
    matches!(c, '(' | ')' | '!' | '=' | '<' | '>' | '&' | '|')
}

/// Tokenize `text`.
pub fn lex(text: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op2 = match two.as_str() {
            "==" => Some(Tok::Eq),
            "!=" => Some(Tok::Ne),
            "<=" => Some(Tok::Le),
            ">=" => Some(Tok::Ge),
            "&&" => Some(Tok::And),
            "||" => Some(Tok::Or),
            _ => None,
        };
        if let Some(tok) = op2 {
            out.push(Token {
                tok,
                col: i,
                len: 2,
                quoted: false,
            });
            i += 2;
            continue;
        }
        let op1 = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '!' => Some(Tok::Bang),
            '=' => Some(Tok::Eq),
            '<' => Some(Tok::Lt),
            '>' => Some(Tok::Gt),
            '&' => Some(Tok::And),
            '|' => Some(Tok::Or),
            _ => None,
        };
        if let Some(tok) = op1 {
            out.push(Token {
                tok,
                col: i,
                len: 1,
                quoted: false,
            });
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            let start = i;
            let close = chars[i + 1..].iter().position(|&d| d == c);
            let Some(n) = close else {
                return Err(LexError {
                    col: start,
                    len: chars.len() - start,
                });
            };
            let word: String = chars[i + 1..i + 1 + n].iter().collect();
            out.push(Token {
                tok: Tok::Word(word),
                col: start,
                len: n + 2,
                quoted: true,
            });
            i += n + 2;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !is_operator_char(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        out.push(Token {
            tok: Tok::Word(word),
            col: start,
            len: i - start,
            quoted: false,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }
    fn w(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn splits_like_ss_and_a_little_more() {
        assert_eq!(toks("sport = :22"), vec![w("sport"), Tok::Eq, w(":22")]);
        assert_eq!(toks("sport>=:1024"), vec![w("sport"), Tok::Ge, w(":1024")]);
        assert_eq!(
            toks("(dport == :80||!src [::1]:22)"),
            vec![
                Tok::LParen,
                w("dport"),
                Tok::Eq,
                w(":80"),
                Tok::Or,
                Tok::Bang,
                w("src"),
                w("[::1]:22"),
                Tok::RParen
            ]
        );
        assert_eq!(toks("comm 'my app'"), vec![w("comm"), w("my app")]);
        assert_eq!(lex("comm 'oops").unwrap_err(), LexError { col: 5, len: 5 });
        let t = lex("  dst  10.0.0.0/8").unwrap();
        assert_eq!((t[1].col, t[1].len), (7, 10));
    }
}
