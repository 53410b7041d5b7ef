//! Cutting a TCP byte stream into messages: every message starts with a
//! big-endian Packet Length that counts the bytes after it
//! (MS-WINSRA 2.2.2).

use crate::winsrepl::error::FrameError;

/// The length of the first message in `stream`, Packet Length field
/// included, once its 4 length bytes are there; `None` before.
///
/// This is the whole framing rule, usable without `std`: cut
/// `stream[..len]` once `stream.len() >= len`.
///
/// # Errors
/// [`FrameError::TooLong`] when the message would exceed `limit` bytes.
///
/// ```
/// use nbns::winsrepl::{MAX_MESSAGE_LEN, frame_len};
/// assert_eq!(frame_len(b"\x00\x00", MAX_MESSAGE_LEN), Ok(None));
/// assert_eq!(frame_len(b"\x00\x00\x00\x10\x00\x00\x78\x00", MAX_MESSAGE_LEN), Ok(Some(20)));
/// assert!(frame_len(b"\xff\xff\xff\xff", MAX_MESSAGE_LEN).is_err());
/// ```
pub fn frame_len(stream: &[u8], limit: usize) -> Result<Option<usize>, FrameError> {
    let Some(word) = stream.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = (u32::from_be_bytes(*word) as usize).saturating_add(4);
    if len > limit {
        return Err(FrameError::TooLong { len, limit });
    }
    Ok(Some(len))
}

#[cfg(feature = "std")]
pub use framer::{Fed, Framer};

#[cfg(feature = "std")]
mod framer {
    use super::frame_len;
    use crate::winsrepl::MAX_MESSAGE_LEN;
    use crate::winsrepl::error::FrameError;

    /// Capacity kept after a large message has been handed out; more is
    /// given back, so an idle connection holds little memory.
    const RETAINED_CAPACITY: usize = 64 * 1024;

    /// An incremental framer over a TCP byte stream: feed it chunks of any
    /// size as they arrive, get whole messages back.
    ///
    /// It buffers at most one message, and only while that message is
    /// incomplete: a message that arrives whole inside one chunk is handed
    /// out from the chunk without a copy. The buffer never holds more than
    /// the limit ([`MAX_MESSAGE_LEN`] unless set), and a Packet Length
    /// above the limit is refused before anything of that message is
    /// stored. After an error the framer keeps refusing: the stream cannot
    /// be resynchronized, and the connection should be closed.
    ///
    /// ```
    /// use nbns::winsrepl::{Framer, Message};
    /// // Samba's Association Stop, arriving in two pieces.
    /// let stream = b"\x00\x00\x00\x10\x00\x00\x78\x00\x00\x00\xbe\xef\x00\x00\x00\x02\x00\x00\x00\x00";
    /// let mut framer = Framer::new();
    /// let mut messages = 0;
    /// for chunk in stream.chunks(7) {
    ///     framer.feed_all(chunk, |m| {
    ///         assert!(Message::parse(m).is_ok());
    ///         messages += 1;
    ///     }).unwrap();
    /// }
    /// assert_eq!(messages, 1);
    /// assert!(framer.is_at_boundary());
    /// ```
    #[derive(Debug, Clone)]
    pub struct Framer {
        /// The incomplete message (or the one just handed out).
        buf: Vec<u8>,
        /// Whether `buf` holds a message already handed out.
        delivered: bool,
        limit: usize,
        error: Option<FrameError>,
    }

    /// What one [`Framer::feed`] did.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Fed<'x> {
        /// Bytes taken from the input; feed the rest again.
        pub consumed: usize,
        /// A whole message (Packet Length included), if one is complete.
        pub message: Option<&'x [u8]>,
    }

    impl Default for Framer {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Framer {
        /// A framer for messages of up to [`MAX_MESSAGE_LEN`] bytes.
        #[must_use]
        pub fn new() -> Self {
            Self::with_limit(MAX_MESSAGE_LEN)
        }

        /// A framer for messages of up to `limit` bytes, Packet Length
        /// included.
        #[must_use]
        pub fn with_limit(limit: usize) -> Self {
            Self {
                buf: Vec::new(),
                delivered: false,
                limit,
                error: None,
            }
        }

        /// The limit, Packet Length included.
        #[must_use]
        pub fn limit(&self) -> usize {
            self.limit
        }

        /// Bytes held of an incomplete message.
        #[must_use]
        pub fn buffered(&self) -> usize {
            if self.delivered { 0 } else { self.buf.len() }
        }

        /// Bytes of memory the buffer holds (its capacity).
        #[must_use]
        pub fn capacity(&self) -> usize {
            self.buf.capacity()
        }

        /// Whether the stream is between messages (nothing incomplete is
        /// held): a connection closed now was not cut mid-message.
        #[must_use]
        pub fn is_at_boundary(&self) -> bool {
            self.buffered() == 0
        }

        /// Takes bytes from `input` up to the end of the next message.
        /// Returns how many it took and, when a message is complete, the
        /// message, which stays valid until the next call. Call again with
        /// the rest of `input` until it is all consumed.
        ///
        /// # Errors
        /// [`FrameError::TooLong`] for a message above the limit, on this
        /// call and every later one.
        pub fn feed<'x>(&'x mut self, input: &'x [u8]) -> Result<Fed<'x>, FrameError> {
            if let Some(e) = self.error {
                return Err(e);
            }
            if self.delivered {
                self.delivered = false;
                self.buf.clear();
                if self.buf.capacity() > RETAINED_CAPACITY {
                    self.buf.shrink_to(RETAINED_CAPACITY);
                }
            }
            if self.buf.is_empty() {
                // A whole message inside the input: hand it out in place.
                match frame_len(input, self.limit) {
                    Err(e) => return Err(self.fail(e)),
                    Ok(Some(len)) if len <= input.len() => {
                        return Ok(Fed {
                            consumed: len,
                            message: input.get(..len),
                        });
                    }
                    Ok(_) => {}
                }
            }
            let mut consumed = 0;
            if self.buf.len() < 4 {
                consumed = self.take(input, 4 - self.buf.len());
            }
            let len = match frame_len(&self.buf, self.limit) {
                Err(e) => return Err(self.fail(e)),
                Ok(None) => {
                    return Ok(Fed {
                        consumed,
                        message: None,
                    });
                }
                Ok(Some(len)) => len,
            };
            self.buf.reserve_exact(len - self.buf.len());
            let rest = input.get(consumed..).unwrap_or_default();
            consumed += self.take(rest, len - self.buf.len());
            if self.buf.len() < len {
                return Ok(Fed {
                    consumed,
                    message: None,
                });
            }
            self.delivered = true;
            Ok(Fed {
                consumed,
                message: Some(&self.buf),
            })
        }

        /// Feeds all of `input`, calling `on_message` for each whole
        /// message.
        ///
        /// # Errors
        /// As [`Framer::feed`]; messages before the error have been handed
        /// out.
        pub fn feed_all(
            &mut self,
            mut input: &[u8],
            mut on_message: impl FnMut(&[u8]),
        ) -> Result<(), FrameError> {
            loop {
                let fed = self.feed(input)?;
                let consumed = fed.consumed;
                if let Some(message) = fed.message {
                    on_message(message);
                }
                input = input.get(consumed..).unwrap_or_default();
                if input.is_empty() {
                    return Ok(());
                }
            }
        }

        /// Appends up to `want` bytes of `input`; returns how many.
        fn take(&mut self, input: &[u8], want: usize) -> usize {
            let n = want.min(input.len());
            self.buf
                .extend_from_slice(input.get(..n).unwrap_or_default());
            n
        }

        fn fail(&mut self, e: FrameError) -> FrameError {
            self.error = Some(e);
            self.buf = Vec::new();
            self.delivered = false;
            e
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// Samba's 16-byte stop and a table query, back to back.
    const STREAM: &[u8] =
        b"\x00\x00\x00\x10\x00\x00\x78\x00\x00\x00\xbe\xef\x00\x00\x00\x02\x00\x00\x00\x00\
        \x00\x00\x00\x10\x00\x00\x78\x00\x12\x34\x56\x78\x00\x00\x00\x03\x00\x00\x00\x00";

    fn collect(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for chunk in chunks {
            framer.feed_all(chunk, |m| out.push(m.to_vec())).unwrap();
        }
        out
    }

    #[test]
    fn whole_messages_in_one_chunk_are_not_copied() {
        let mut framer = Framer::new();
        let fed = framer.feed(STREAM).unwrap();
        assert_eq!(fed.consumed, 20);
        assert_eq!(fed.message, Some(&STREAM[..20]));
        assert_eq!(framer.capacity(), 0);
        let got = collect(&mut framer, &[STREAM]);
        assert_eq!(got, [STREAM[..20].to_vec(), STREAM[20..].to_vec()]);
        assert_eq!(framer.capacity(), 0);
    }

    #[test]
    fn any_split_gives_the_same_messages() {
        for cut in 0..=STREAM.len() {
            for second in cut..=STREAM.len() {
                let mut framer = Framer::new();
                let parts = [&STREAM[..cut], &STREAM[cut..second], &STREAM[second..]];
                let got = collect(&mut framer, &parts);
                assert_eq!(
                    got,
                    [STREAM[..20].to_vec(), STREAM[20..].to_vec()],
                    "{cut} {second}"
                );
                assert!(framer.is_at_boundary());
            }
        }
        let mut framer = Framer::new();
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(collect(&mut framer, &bytes).len(), 2);
    }

    #[test]
    fn a_cut_mid_message_is_visible() {
        let mut framer = Framer::new();
        assert!(collect(&mut framer, &[&STREAM[..25]]).len() == 1);
        assert_eq!(framer.buffered(), 5);
        assert!(!framer.is_at_boundary());
    }

    #[test]
    fn oversize_is_refused_before_buffering_and_sticks() {
        let mut framer = Framer::with_limit(64);
        let header = 61u32.to_be_bytes(); // 65 bytes with the length field
        assert_eq!(framer.feed(&header[..2]).unwrap().consumed, 2);
        let err = framer.feed(&header[2..]).unwrap_err();
        assert_eq!(err, FrameError::TooLong { len: 65, limit: 64 });
        assert!(framer.buffered() == 0 && framer.capacity() == 0);
        assert_eq!(framer.feed(STREAM), Err(err));
        // In one piece, too.
        let mut framer = Framer::with_limit(64);
        assert!(framer.feed(&[0, 0, 0, 61, 1, 2, 3]).is_err());
        // The largest allowed message passes.
        let mut framer = Framer::with_limit(64);
        let mut max = vec![0u8; 64];
        max[3] = 60;
        assert_eq!(
            collect(&mut framer, &[&max[..10], &max[10..]]),
            [max.clone()]
        );
    }

    #[test]
    fn memory_is_given_back_after_a_large_message() {
        let mut framer = Framer::new();
        let mut big = vec![0u8; 1 << 20];
        big[..4].copy_from_slice(&((1u32 << 20) - 4).to_be_bytes());
        assert_eq!(collect(&mut framer, &[&big[..100], &big[100..]]).len(), 1);
        assert!(framer.capacity() >= 1 << 20);
        collect(&mut framer, &[&STREAM[..3]]);
        assert!(framer.capacity() <= 64 * 1024);
    }
}
