//! JSON text written straight to bytes (a long list of logs), in buffers used again.
//!
//! An answer of 10,000 logs is 6 MB. Written into a new buffer each time, every page of it
//! is faulted in and zeroed anew, which costs the node more than writing the text does. The
//! buffers come back when the server is done sending them (the body's bytes are dropped) and
//! are used for a later answer: a few are kept, so that a node answering one large scan
//! after another keeps what its largest answers took, and no more.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Buffers kept for later answers: one per answer being sent at once, about.
const KEPT: usize = 8;
/// Buffers smaller than this are not worth keeping; larger ones are not kept either, so
/// that one huge answer does not stay held.
const KEEP_FROM: usize = 64 * 1024;
const KEEP_UP_TO: usize = 32 * 1024 * 1024;

/// One node's buffers given back, for its later answers.
#[derive(Debug, Default)]
pub(super) struct Spare(Mutex<Vec<Vec<u8>>>);

impl Spare {
    fn take(&self) -> Vec<u8> {
        let mut spare = self.0.lock().unwrap_or_else(|e| e.into_inner());
        spare.pop().unwrap_or_default()
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        if !(KEEP_FROM..=KEEP_UP_TO).contains(&buf.capacity()) {
            return;
        }
        buf.clear();
        let mut spare = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < KEPT {
            spare.push(buf);
        }
    }
}

/// JSON text written ahead of the answer it goes in, with room left in front of it for the
/// answer's envelope: a long text is wrapped where it lies, not copied into a new buffer.
#[derive(Debug)]
pub(super) struct RawText {
    buf: Vec<u8>,
    start: usize,
    spare: Arc<Spare>,
}

impl RawText {
    /// The room left in front: an envelope with any id of up to 20 digits fits.
    pub(super) const ROOM: usize = 64;

    /// An empty text (its writer reserves what it needs), in one of `spare`'s buffers
    /// where it has one; its buffer goes back there once sent.
    pub(super) fn new(spare: &Arc<Spare>) -> RawText {
        let mut buf = spare.take();
        buf.resize(Self::ROOM, b' ');
        RawText {
            buf,
            start: Self::ROOM,
            spare: spare.clone(),
        }
    }

    /// Where the text is written: append to it.
    pub(super) fn writer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// The text.
    pub(super) fn text(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The text with `head` in front of it (in the room left, where it fits) and `tail`
    /// after it.
    pub(super) fn wrap(mut self, head: &[u8], tail: &[u8]) -> RawText {
        if head.len() <= self.start {
            let at = self.start - head.len();
            self.buf[at..self.start].copy_from_slice(head);
            self.start = at;
        } else {
            let mut buf = Vec::with_capacity(head.len() + self.text().len() + tail.len());
            buf.extend_from_slice(head);
            buf.extend_from_slice(self.text());
            self.spare.give_back(std::mem::replace(&mut self.buf, buf));
            self.start = 0;
        }
        self.buf.extend_from_slice(tail);
        self
    }

    /// The text, as the bytes of a body (no copy); its buffer is given back for a later
    /// answer once the body is sent.
    pub(super) fn into_bytes(self) -> Bytes {
        Bytes::from_owner(Sent(self))
    }
}

/// A text being sent: its bytes, and its buffer given back when they are dropped.
struct Sent(RawText);

impl AsRef<[u8]> for Sent {
    fn as_ref(&self) -> &[u8] {
        self.0.text()
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.0.spare.give_back(std::mem::take(&mut self.0.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_is_wrapped_where_it_lies() {
        let spare = Arc::new(Spare::default());
        let mut t = RawText::new(&spare);
        t.writer().extend_from_slice(b"[1,2]");
        assert_eq!(t.text(), b"[1,2]");
        let wrapped = t.wrap(b"{\"id\":7,\"result\":", b"}");
        assert_eq!(wrapped.text(), b"{\"id\":7,\"result\":[1,2]}");
        assert_eq!(&wrapped.into_bytes()[..], b"{\"id\":7,\"result\":[1,2]}");
        // A head longer than the room is copied in front instead.
        let long = vec![b'x'; RawText::ROOM + 1];
        let mut t = RawText::new(&spare);
        t.writer().push(b'0');
        let wrapped = t.wrap(&long, b"!");
        assert_eq!(wrapped.text().len(), RawText::ROOM + 3);
        assert!(wrapped.text().starts_with(&long) && wrapped.text().ends_with(b"0!"));
    }

    #[test]
    fn a_sent_buffer_is_used_again_and_starts_clean() {
        let spare = Arc::new(Spare::default());
        let mut t = RawText::new(&spare);
        t.writer().extend(std::iter::repeat_n(b'7', 2 * KEEP_FROM));
        let body = t.wrap(b"[", b"]").into_bytes();
        let at = body.as_ptr();
        assert_eq!(body.len(), 2 * KEEP_FROM + 2);
        assert!(body.starts_with(b"[7") && body.ends_with(b"7]"));
        let sliced = body.slice(1..3);
        drop(body);
        assert!(
            spare.0.lock().unwrap().is_empty(),
            "kept while any of it is sent"
        );
        drop(sliced);
        assert_eq!(spare.0.lock().unwrap().len(), 1, "given back once sent");
        // The next text is written in it, with only what is written to it.
        let mut again = RawText::new(&spare);
        again.writer().extend_from_slice(b"[]");
        assert_eq!(again.text(), b"[]");
        let head = b"{\"id\":1,\"result\":";
        let body = again.wrap(head, b"}").into_bytes();
        assert_eq!(&body[..], b"{\"id\":1,\"result\":[]}");
        let buffer_start = |text: *const u8, head: usize| text as usize - (RawText::ROOM - head);
        assert_eq!(
            buffer_start(body.as_ptr(), head.len()),
            buffer_start(at, 1),
            "the same buffer"
        );
        drop(body);
        // Small buffers, and more than are kept, go back to the allocator.
        let other = Arc::new(Spare::default());
        drop(RawText::new(&other).into_bytes());
        assert!(other.0.lock().unwrap().is_empty());
        let texts: Vec<RawText> = (0..KEPT + 2)
            .map(|_| {
                let mut t = RawText::new(&spare);
                t.writer().resize(KEEP_FROM, b'0');
                t
            })
            .collect();
        drop(
            texts
                .into_iter()
                .map(RawText::into_bytes)
                .collect::<Vec<_>>(),
        );
        assert_eq!(spare.0.lock().unwrap().len(), KEPT);
    }
}
