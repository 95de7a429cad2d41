//! The fast way through an `eth_getLogs` answer: one pass over the bytes that reads the
//! fields tokbal uses (`address`, `topics`, `data`, `blockNumber`, `removed`) straight into
//! [`Logs`], and steps over every other value without building it.
//!
//! A large answer is hundreds of bytes of hashes per log, most of them in fields tokbal does
//! not read; a general JSON reader goes through each of their bytes. This one checks the
//! whole body once for what JSON forbids anywhere (text that is not UTF-8, control
//! characters), then finds the end of each string with `memchr`, checking escapes, numbers
//! and literals as JSON writes them. It takes only the compact shape providers send: an
//! escape in a string it reads, a duplicated field, an error object, an answer laid out on
//! lines or anything it does not expect makes it give up (`None`), and the answer is then
//! read by the general reader, which reads what this one cannot and says what is wrong
//! with the rest. What this one reads, the general one reads the same (proptested).

use alloy_primitives::{hex, Address, B256};

use super::log_answer::{Entry, Logs, Topics};

/// How deep an unread value may nest before the reader gives up (the general reader takes
/// over, with its own limit).
const MAX_DEPTH: usize = 64;

/// Reads the logs of `body` into `logs` (an empty table, or one used before and cleared),
/// or gives up (`None`, leaving `logs` partly filled) when it is not the plain shape read
/// here.
pub(super) fn read_into(body: &[u8], logs: &mut Logs) -> Option<()> {
    // Printable ASCII only, checked at once over the whole body: then no string stepped over
    // can hold what the general reader would refuse (text that is not UTF-8, a raw control
    // character). A compact answer of logs is all printable ASCII; one laid out on lines, or
    // with other text in it, is left to the general reader.
    plain_ascii(body).then_some(())?;
    let mut r = Reader { b: body, i: 0 };
    let mut result = false;
    r.ws();
    r.eat(b'{')?;
    r.ws();
    if !r.eat_if(b'}') {
        loop {
            r.ws();
            let key = r.plain_string()?;
            r.ws();
            r.eat(b':')?;
            r.ws();
            match key {
                b"result" if !result => {
                    r.logs(logs)?;
                    result = true;
                }
                // An error (or a second result) is left to the general reader.
                b"result" | b"error" => return None,
                _ => r.skip_value(0)?,
            }
            r.ws();
            if r.eat_if(b'}') {
                break;
            }
            r.eat(b',')?;
        }
    }
    r.ws();
    (r.i == r.b.len() && result).then_some(())
}

/// Whether every byte is printable ASCII (0x20 to 0x7f), in one pass the compiler can run
/// many bytes at a time: a byte below 0x20 wraps to 0xe0 and up when 0x20 is taken from it.
fn plain_ascii(body: &[u8]) -> bool {
    body.chunks(4096).all(|chunk| {
        chunk
            .iter()
            .fold(0u8, |seen, &b| seen | ((b.wrapping_sub(0x20) | b) & 0x80))
            == 0
    })
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.eat_if(c).then_some(())
    }

    fn eat_if(&mut self, c: u8) -> bool {
        let here = self.peek() == Some(c);
        if here {
            self.i += 1;
        }
        here
    }

    /// A string without escapes, as its raw bytes.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        (rest[end] == b'"').then_some(())?;
        self.i += end + 1;
        Some(&rest[..end])
    }

    /// Steps over a string, escapes and all.
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let rest = self.b.get(self.i..)?;
            let at = memchr::memchr2(b'"', b'\\', rest)?;
            if rest[at] == b'"' {
                self.i += at + 1;
                return Some(());
            }
            // A backslash and what it escapes: one of JSON's, or four hex digits.
            self.i += at + 1;
            match self.peek()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                b'u' => {
                    let digits = self.b.get(self.i + 1..self.i + 5)?;
                    digits.iter().all(u8::is_ascii_hexdigit).then_some(())?;
                    self.i += 5;
                }
                _ => return None,
            }
        }
    }

    /// Steps over any value, checking its shape.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        (depth < MAX_DEPTH).then_some(())?;
        match self.peek()? {
            b'"' => self.skip_string(),
            open @ (b'{' | b'[') => {
                self.i += 1;
                let close = if open == b'{' { b'}' } else { b']' };
                self.ws();
                if self.eat_if(close) {
                    return Some(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        self.skip_string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.skip_value(depth + 1)?;
                    self.ws();
                    if self.eat_if(close) {
                        return Some(());
                    }
                    self.eat(b',')?;
                }
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        self.eat_if(b'-');
        if !self.eat_if(b'0') {
            matches!(self.peek(), Some(b'1'..=b'9')).then_some(())?;
            self.digits();
        }
        if self.eat_if(b'.') {
            (self.digits() > 0).then_some(())?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if !self.eat_if(b'+') {
                self.eat_if(b'-');
            }
            (self.digits() > 0).then_some(())?;
        }
        Some(())
    }

    /// Steps over decimal digits; how many.
    fn digits(&mut self) -> usize {
        let n = self.b[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        self.i += n;
        n
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        self.b.get(self.i..)?.starts_with(w).then_some(())?;
        self.i += w.len();
        Some(())
    }

    /// The `result` list.
    fn logs(&mut self, logs: &mut Logs) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.eat_if(b']') {
            return Some(());
        }
        loop {
            self.ws();
            self.log(logs)?;
            self.ws();
            if self.eat_if(b']') {
                return Some(());
            }
            self.eat(b',')?;
        }
    }

    /// One log object, added to `logs` unless it is marked `removed`.
    fn log(&mut self, logs: &mut Logs) -> Option<()> {
        self.eat(b'{')?;
        let start = logs.data.len();
        let (mut address, mut topics, mut block, mut removed) = (None, None, None, false);
        let mut data = None;
        let mut seen = 0u8;
        let mut first = |bit: u8| -> Option<()> {
            (seen & bit == 0).then_some(())?;
            seen |= bit;
            Some(())
        };
        self.ws();
        if !self.eat_if(b'}') {
            loop {
                self.ws();
                let key = self.plain_string()?;
                self.ws();
                self.eat(b':')?;
                self.ws();
                match key {
                    b"address" => {
                        first(1)?;
                        if self.peek() == Some(b'n') {
                            self.word(b"null")?;
                        } else {
                            let text = std::str::from_utf8(self.plain_string()?).ok()?;
                            address = Some(text.parse::<Address>().ok()?);
                        }
                    }
                    b"topics" => {
                        first(2)?;
                        topics = Some(self.topics()?);
                    }
                    b"data" => {
                        first(4)?;
                        let text = self.plain_string()?;
                        let digits = text.strip_prefix(b"0x").unwrap_or(text);
                        (digits.len() % 2 == 0).then_some(())?;
                        let at = logs.data.len();
                        logs.data.resize(at + digits.len() / 2, 0);
                        hex::decode_to_slice(digits, &mut logs.data[at..]).ok()?;
                        data = Some((at, logs.data.len()));
                    }
                    b"blockNumber" => {
                        first(8)?;
                        let digits = self.plain_string()?.strip_prefix(b"0x")?;
                        let text = std::str::from_utf8(digits).ok()?;
                        block = Some(u64::from_str_radix(text, 16).ok()?);
                    }
                    b"removed" => {
                        first(16)?;
                        removed = match self.peek()? {
                            b't' => self.word(b"true").map(|()| true)?,
                            _ => self.word(b"false").map(|()| false)?,
                        };
                    }
                    _ => self.skip_value(0)?,
                }
                self.ws();
                if self.eat_if(b'}') {
                    break;
                }
                self.eat(b',')?;
            }
        }
        // Every log has these, removed or not.
        let (topics, block, data) = (topics?, block?, data?);
        if removed {
            logs.data.truncate(start);
            return Some(());
        }
        logs.entries.push(Entry {
            address,
            topics,
            block,
            data,
        });
        Some(())
    }

    /// A list of at most four 32-byte topics.
    fn topics(&mut self) -> Option<Topics> {
        self.eat(b'[')?;
        let mut topics = Topics::default();
        self.ws();
        if self.eat_if(b']') {
            return Some(topics);
        }
        loop {
            self.ws();
            let text = self.plain_string()?;
            let digits = text.strip_prefix(b"0x").unwrap_or(text);
            let slot = topics.list.get_mut(usize::from(topics.count))?;
            let mut word = [0u8; 32];
            hex::decode_to_slice(digits, &mut word).ok()?;
            *slot = B256::from(word);
            topics.count += 1;
            self.ws();
            if self.eat_if(b']') {
                return Some(topics);
            }
            self.eat(b',')?;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::log_answer::{parse_answer_body, Log};
    use super::*;

    /// The logs of `body`, read into a new table.
    fn read(body: &[u8]) -> Option<Logs> {
        let mut logs = Logs::default();
        read_into(body, &mut logs).map(|()| logs)
    }

    /// A log as owned parts: address, topics, data, block.
    type Owned = (Option<Address>, Vec<B256>, Vec<u8>, u64);
    /// A generated log: address, topics, data, block, `removed`.
    type Made = (Option<[u8; 20]>, Vec<[u8; 32]>, Vec<u8>, u64, Option<bool>);

    fn general(body: &str) -> Option<Vec<Owned>> {
        let logs = super::super::log_answer::read_general(body.as_bytes())
            .ok()?
            .ok()?;
        Some(owned(&logs))
    }

    fn owned(logs: &Logs) -> Vec<Owned> {
        logs.iter()
            .map(|l: Log<'_>| (l.address, l.topics.to_vec(), l.data.to_vec(), l.block))
            .collect()
    }

    fn hex_of(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    /// One log object as a provider might write it: fields in `order`, with `ws` between
    /// tokens, some fields the reader skips.
    fn log_text(
        (address, topics, data, block, removed): &Made,
        order: &[usize],
        ws: &str,
    ) -> String {
        let topics: Vec<String> = topics
            .iter()
            .map(|t| format!("\"{}\"", hex_of(t)))
            .collect();
        let mut fields = vec![
            match address {
                Some(a) => format!("\"address\"{ws}:{ws}\"{}\"", hex_of(a)),
                None => format!("\"address\":{ws}null"),
            },
            format!("\"topics\":{ws}[{ws}{}{ws}]", topics.join(&format!("{ws},{ws}"))),
            format!("\"data\":\"{}\"", hex_of(data)),
            format!("\"blockNumber\":\"0x{block:x}\""),
            format!("\"blockHash\":\"{}\"", hex_of(&[7u8; 32])),
            format!("\"logIndex\":{ws}\"0x1\",{ws}\"extra\":{ws}{{\"a\":[1,-2.5e3,true,false,null,{{}},[]],\"b\":\"x\\\"y\\\\\"}}"),
        ];
        if let Some(r) = removed {
            fields.push(format!("\"removed\":{ws}{r}"));
        }
        let ordered: Vec<&String> = order.iter().filter_map(|&i| fields.get(i)).collect();
        let mut all: Vec<&String> = ordered;
        for f in &fields {
            if !all.contains(&f) {
                all.push(f);
            }
        }
        let parts: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
        format!("{{{ws}{}{ws}}}", parts.join(&format!("{ws},{ws}")))
    }

    proptest! {
        #[test]
        fn reads_what_the_general_reader_reads(
            logs in prop::collection::vec(
                (
                    prop::option::of(any::<[u8; 20]>()),
                    prop::collection::vec(any::<[u8; 32]>(), 0..=4),
                    prop::collection::vec(any::<u8>(), 0..80),
                    any::<u64>(),
                    prop::option::of(any::<bool>()),
                ),
                0..12,
            ),
            order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
            ws in prop::sample::select(vec!["", " ", "\n  ", "\t"]),
        ) {
            let items: Vec<String> = logs.iter().map(|l| log_text(l, &order, ws)).collect();
            let body = format!(
                "{ws}{{{ws}\"jsonrpc\":{ws}\"2.0\",\"id\":{ws}1,{ws}\"result\":{ws}[{ws}{}{ws}]{ws}}}{ws}",
                items.join(&format!("{ws},{ws}"))
            );
            let kept = logs.iter().filter(|l| l.4 != Some(true)).count();
            if ws.bytes().any(|c| c < 0x20) {
                // Laid out on lines: left to the general reader, which reads it.
                prop_assert!(read(body.as_bytes()).is_none());
                let logs = parse_answer_body(body.as_bytes(), Logs::default()).unwrap().unwrap();
                prop_assert_eq!(logs.len(), kept);
            } else {
                let fast = read(body.as_bytes()).expect("the plain shape is read");
                prop_assert_eq!(Some(owned(&fast)), general(&body));
                prop_assert_eq!(fast.len(), kept);
            }
        }

        #[test]
        fn never_reads_what_the_general_reader_refuses(body in "[\\[\\]{}\",:a-z0-9 \\\\]{0,60}") {
            if let Some(logs) = read(body.as_bytes()) {
                prop_assert_eq!(Some(owned(&logs)), general(&body));
            }
        }

        /// A plain answer spoilt in one place (cut short, or one byte changed to one that
        /// means something in JSON): never a panic, and never a reading the general reader
        /// does not give.
        #[test]
        fn a_spoilt_answer_is_read_as_the_general_reader_reads_it_or_not_at_all(
            logs in prop::collection::vec(
                (
                    prop::option::of(any::<[u8; 20]>()),
                    prop::collection::vec(any::<[u8; 32]>(), 0..=4),
                    prop::collection::vec(any::<u8>(), 0..40),
                    any::<u64>(),
                    prop::option::of(any::<bool>()),
                ),
                1..4,
            ),
            at in any::<prop::sample::Index>(),
            cut in any::<bool>(),
            byte in prop::sample::select(b"\"\\{}[],:0x n-e\xff".to_vec()),
        ) {
            let order: Vec<usize> = (0..6).collect();
            let items: Vec<String> = logs.iter().map(|l| log_text(l, &order, "")).collect();
            let mut body = format!(r#"{{"jsonrpc":"2.0","id":1,"result":[{}]}}"#, items.join(","))
                .into_bytes();
            let at = at.index(body.len());
            if cut {
                body.truncate(at);
            } else {
                body[at] = byte;
            }
            if let Some(logs) = read(&body) {
                let text = String::from_utf8_lossy(&body);
                prop_assert_eq!(Some(owned(&logs)), general(&text));
            }
        }
    }

    #[test]
    fn plain_ascii_is_printable_ascii_only() {
        for b in 0..=255u8 {
            assert_eq!(plain_ascii(&[b'a', b]), (0x20..0x80).contains(&b), "{b:#x}");
        }
        assert!(plain_ascii(b""));
        let mut long = vec![b'x'; 10_000];
        assert!(plain_ascii(&long));
        long[9_999] = b'\n';
        assert!(!plain_ascii(&long));
    }

    #[test]
    fn gives_way_to_the_general_reader_where_it_must() {
        let topic = format!("\"{}\"", hex_of(&[0x11; 32]));
        let log = |extra: &str| {
            format!(
                r#"{{"result":[{{"topics":[{topic}],"data":"0x01","blockNumber":"0x5"{extra}}}]}}"#
            )
        };
        assert_eq!(read(log("").as_bytes()).map(|l| l.len()), Some(1));
        for (extra_or_body, why) in [
            (log(r#","data":"0x02""#), "a field twice"),
            (log(r#","removed":null"#), "removed that is not a boolean"),
            (
                r#"{"result":[{"topics":[],"data":"0x\u0030\u0031","blockNumber":"0x1"}]}"#
                    .to_string(),
                "an escape in a field read",
            ),
            (
                r#"{"error":{"code":-32005,"message":"x"}}"#.to_string(),
                "an error",
            ),
            (r#"{"result":[]} x"#.to_string(), "text after the answer"),
            (r#"{"id":1}"#.to_string(), "no result"),
            (
                log(&format!(r#","x":{}{}"#, "[".repeat(70), "]".repeat(70))),
                "nesting too deep",
            ),
        ] {
            assert!(read(extra_or_body.as_bytes()).is_none(), "{why}");
        }
        // And the general reader reads the escaped one and names what is wrong elsewhere.
        let escaped = r#"{"result":[{"topics":[],"data":"0x\u0030\u0031","blockNumber":"0x1"}]}"#;
        assert_eq!(
            parse_answer_body(escaped.as_bytes(), Logs::default())
                .unwrap()
                .unwrap()
                .len(),
            1
        );
        assert!(parse_answer_body(log(r#","data":"0x02""#).as_bytes(), Logs::default()).is_err());
    }
}
