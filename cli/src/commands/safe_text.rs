//! Text from chains (token names and symbols, revert reasons) on its way to a terminal.
//!
//! A contract can name itself anything: ANSI escape sequences that recolour or clear the
//! screen, bidirectional overrides that make text read backwards, newlines that break a
//! row, zero-width characters, kilobytes of it. Nothing of that is written raw: the table
//! shows such characters as escapes (`\u{1b}`) and cuts long text; JSON carries them as
//! `\uXXXX` escapes, which every JSON reader turns back into the same text.

use std::borrow::Cow;

use serde::Serialize;

/// Whether `c` may do something other than show itself on a terminal: a control character
/// (C0, DEL, C1), a bidirectional control, a zero-width or invisible format character, or a
/// line or paragraph separator.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `text` for one table cell: unsafe characters as escapes (`\n`, `\t`, `\u{1b}`), cut to
/// `max` characters with `…` when longer.
pub fn cell(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(4 * max));
    let mut shown = 0;
    for c in text.chars() {
        let piece: Cow<'_, str> = match c {
            '\n' => "\\n".into(),
            '\t' => "\\t".into(),
            '\r' => "\\r".into(),
            c if is_unsafe(c) => format!("\\u{{{:x}}}", u32::from(c)).into(),
            c => c.encode_utf8(&mut [0; 4]).to_string().into(),
        };
        let width = piece.chars().count();
        if shown + width > max {
            out.push('…');
            return out;
        }
        shown += width;
        out.push_str(&piece);
    }
    out
}

/// JSON text with every unsafe character that a JSON writer leaves raw (DEL, C1 controls,
/// bidirectional and invisible characters) written as a `\uXXXX` escape. Such characters
/// can only stand inside strings, so the document means exactly what it meant. (Newlines,
/// tabs and carriage returns a JSON writer escapes inside strings itself: raw, they are the
/// layout's whitespace, and stay.)
pub fn json(text: String) -> String {
    let escaped = |c: char| is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r');
    if !text.chars().any(escaped) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            // Every unsafe character is in the Basic Multilingual Plane: one escape.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `value` as JSON (`pretty` or on one line) with [`json`]'s escapes, then a newline.
pub fn write_json(
    out: &mut impl std::io::Write,
    value: &impl Serialize,
    pretty: bool,
) -> std::io::Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(std::io::Error::from)?;
    out.write_all(json(text).as_bytes())?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\u{1b}[31mRED\u{1b}[0m\n\u{202e}gnp.exe\u{9b}2J\u{7f}\u{200b}";

    #[test]
    fn cells_show_escapes_and_nothing_raw() {
        let shown = cell(HOSTILE, 200);
        assert!(!shown.chars().any(is_unsafe), "{shown:?}");
        assert_eq!(
            shown,
            "\\u{1b}[31mRED\\u{1b}[0m\\n\\u{202e}gnp.exe\\u{9b}2J\\u{7f}\\u{200b}"
        );
        assert_eq!(cell("USDC", 12), "USDC");
        assert_eq!(cell("ÉTÉ", 12), "ÉTÉ");
    }

    #[test]
    fn long_cells_are_cut() {
        let long = "x".repeat(20_000);
        let shown = cell(&long, 24);
        assert_eq!(shown.chars().count(), 24 + 1);
        assert!(shown.ends_with('…'));
        // An escape is never cut in half.
        let shown = cell("ab\u{1b}", 5);
        assert_eq!(shown, "ab…");
    }

    #[test]
    fn json_keeps_its_meaning_and_loses_raw_controls() {
        let value = serde_json::json!({ "symbol": HOSTILE });
        let text = json(serde_json::to_string(&value).unwrap());
        assert!(!text.chars().any(is_unsafe), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // Pretty layout keeps its newlines; only the ones inside strings were escaped.
        let pretty = json(serde_json::to_string_pretty(&value).unwrap());
        assert_eq!(pretty.lines().count(), 3, "{pretty}");
        assert!(
            !pretty.chars().any(|c| is_unsafe(c) && c != '\n'),
            "{pretty}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
            value
        );
        assert_eq!(json("{\"a\":1}".to_string()), "{\"a\":1}");
    }
}
