//! The body plaintext of a Data message (PROTOCOL.md §7.1–7.2): typed content, session sequence
//! number, sender's clock, and MTProto-2.0-style random padding into 256-byte buckets.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::delivery::{MAX_NUMBER, MESSAGE_ID_LEN, MessageId};
use crate::envelope::BODY_BUCKET;

/// Longest text message, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = 16 * 1024;
/// Longest display name, in bytes of UTF-8.
pub const MAX_PROFILE_NAME_LEN: usize = 64;
/// Most ids in one Ack.
pub const MAX_ACK_IDS: usize = 64;
/// Longest disappearing-messages timer: one year.
pub const MAX_EXPIRE_SECS: u32 = 31_536_000;
/// Fewest random padding bytes (MTProto 2.0).
pub const MIN_PADDING: usize = 12;
/// Most random padding bytes accepted (MTProto 2.0).
pub const MAX_PADDING: usize = 1024;
/// Length of a Resume nonce (§7.8).
pub const RESUME_NONCE_LEN: usize = 16;
/// Fixed fields before the content: type, seq, sent_at_ms, len.
const FIXED_LEN: usize = 1 + 8 + 8 + 4;

/// Content type bytes (§7.2).
mod kind {
    pub(super) const TEXT: u8 = 0x01;
    pub(super) const ACK: u8 = 0x02;
    pub(super) const PROFILE: u8 = 0x03;
    pub(super) const TIMER: u8 = 0x04;
    pub(super) const RESUME: u8 = 0x05;
    pub(super) const RESUME_OK: u8 = 0x06;
    pub(super) const RELIABLE_FUTURE: core::ops::RangeInclusive<u8> = 0x20..=0x3f;
}

/// What a Data message carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Content {
    /// A chat message (reliable).
    Text {
        /// Its id.
        id: MessageId,
        /// The sender's disappearing-messages timer when it was written (0 = kept).
        expire_secs: u32,
        /// The text, 1..=16 384 bytes of UTF-8.
        text: String,
    },
    /// Acknowledges reliable contents: they are stored on the receiving side (1..=64 ids).
    Ack(Vec<MessageId>),
    /// The sender's display name.
    Profile(String),
    /// A change of the conversation's disappearing-messages timer (reliable, §7.7).
    Timer {
        /// Its id.
        id: MessageId,
        /// The setting's version.
        version: u64,
        /// The new timer (0 = off).
        expire_secs: u32,
    },
    /// Asks to resume this session after a reconnect (§7.8).
    Resume([u8; RESUME_NONCE_LEN]),
    /// Accepts the peer's Resume, echoing its nonce (§7.8).
    ResumeOk([u8; RESUME_NONCE_LEN]),
    /// A reliable content of a type this version does not know (0x20..=0x3F): acknowledged and
    /// ordered, shown as "a message this version cannot show".
    Unknown {
        /// Its type byte.
        kind: u8,
        /// Its id.
        id: MessageId,
    },
}

impl core::fmt::Debug for Content {
    // Message text is secret: Debug shows only its length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Content::Text {
                id,
                expire_secs,
                text,
            } => write!(
                f,
                "Text({id}, expire {expire_secs} s, {} bytes)",
                text.len()
            ),
            Content::Ack(ids) => write!(f, "Ack({} ids)", ids.len()),
            Content::Profile(p) => write!(f, "Profile({} bytes)", p.len()),
            Content::Timer {
                id,
                version,
                expire_secs,
            } => write!(f, "Timer({id}, v{version}, {expire_secs} s)"),
            Content::Resume(_) => f.write_str("Resume"),
            Content::ResumeOk(_) => f.write_str("ResumeOk"),
            Content::Unknown { kind, id } => write!(f, "Unknown({kind:#04x}, {id})"),
        }
    }
}

impl Content {
    /// The id of a reliable content.
    pub fn id(&self) -> Option<MessageId> {
        match self {
            Content::Text { id, .. } | Content::Timer { id, .. } | Content::Unknown { id, .. } => {
                Some(*id)
            }
            _ => None,
        }
    }
}

/// Why content could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// Text longer than [`MAX_TEXT_LEN`].
    #[error("message is {len} bytes; the limit is {MAX_TEXT_LEN}")]
    TextTooLong {
        /// Its length.
        len: usize,
    },
    /// An empty text.
    #[error("message is empty")]
    EmptyText,
    /// Display name empty or longer than [`MAX_PROFILE_NAME_LEN`].
    #[error("display name is {len} bytes; it must be 1 to {MAX_PROFILE_NAME_LEN}")]
    BadName {
        /// Its length.
        len: usize,
    },
    /// An Ack with no id or more than [`MAX_ACK_IDS`].
    #[error("an ack names 1 to {MAX_ACK_IDS} ids, not {0}")]
    BadAck(usize),
    /// A timer above [`MAX_EXPIRE_SECS`].
    #[error("timer of {0} s is above the one-year limit")]
    TimerTooLong(u32),
    /// An unknown type cannot be sent.
    #[error("cannot send content of an unknown type")]
    NotSendable,
    /// The decrypted body is not a valid encoding (from an authenticated peer: a peer bug).
    #[error("malformed message body")]
    Malformed,
    /// A content type this version does not know (and not a reliable future type).
    #[error("unknown content type {0:#04x}")]
    UnknownType(u8),
}

fn check_timer(secs: u32) -> Result<(), ContentError> {
    if secs > MAX_EXPIRE_SECS {
        Err(ContentError::TimerTooLong(secs))
    } else {
        Ok(())
    }
}

/// `(type byte, content bytes)` of a content, checking every limit.
fn encode_content(content: &Content) -> Result<(u8, Zeroizing<Vec<u8>>), ContentError> {
    let mut out = Zeroizing::new(Vec::new());
    let kind = match content {
        Content::Text {
            id,
            expire_secs,
            text,
        } => {
            if text.is_empty() {
                return Err(ContentError::EmptyText);
            }
            if text.len() > MAX_TEXT_LEN {
                return Err(ContentError::TextTooLong { len: text.len() });
            }
            check_timer(*expire_secs)?;
            out.extend_from_slice(&id.to_bytes());
            out.extend_from_slice(&expire_secs.to_be_bytes());
            out.extend_from_slice(text.as_bytes());
            kind::TEXT
        }
        Content::Ack(ids) => {
            if ids.is_empty() || ids.len() > MAX_ACK_IDS {
                return Err(ContentError::BadAck(ids.len()));
            }
            out.push(ids.len() as u8);
            for id in ids {
                out.extend_from_slice(&id.to_bytes());
            }
            kind::ACK
        }
        Content::Profile(name) => {
            if name.is_empty() || name.len() > MAX_PROFILE_NAME_LEN {
                return Err(ContentError::BadName { len: name.len() });
            }
            out.extend_from_slice(name.as_bytes());
            kind::PROFILE
        }
        Content::Timer {
            id,
            version,
            expire_secs,
        } => {
            check_timer(*expire_secs)?;
            out.extend_from_slice(&id.to_bytes());
            out.extend_from_slice(&version.to_be_bytes());
            out.extend_from_slice(&expire_secs.to_be_bytes());
            kind::TIMER
        }
        Content::Resume(nonce) => {
            out.extend_from_slice(nonce);
            kind::RESUME
        }
        Content::ResumeOk(nonce) => {
            out.extend_from_slice(nonce);
            kind::RESUME_OK
        }
        Content::Unknown { .. } => return Err(ContentError::NotSendable),
    };
    Ok((kind, out))
}

/// A decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body {
    pub(crate) seq: u64,
    pub(crate) sent_at_ms: u64,
    pub(crate) content: Content,
}

/// The padded length for `content_len` bytes of content: `roundup(21 + len + 12, 256) + 256·r`,
/// `r` uniform in {0, 1, 2} (PROTOCOL.md §7.1).
fn padded_len(content_len: usize, rng: &mut impl CryptoRngCore) -> usize {
    let base = (FIXED_LEN + content_len + MIN_PADDING).div_ceil(BODY_BUCKET) * BODY_BUCKET;
    // Rejection sampling keeps r exactly uniform.
    let r = loop {
        let x = rng.next_u32() & 3;
        if x < 3 {
            break x as usize;
        }
    };
    base + r * BODY_BUCKET
}

/// Encodes and pads a body.
pub(crate) fn encode(
    content: &Content,
    seq: u64,
    sent_at_ms: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<Zeroizing<Vec<u8>>, ContentError> {
    let (kind, payload) = encode_content(content)?;
    let total = padded_len(payload.len(), rng);
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    out.push(kind);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&sent_at_ms.to_be_bytes());
    // payload.len() is bounded by the limits above, so it fits a u32.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    let pad_at = out.len();
    out.resize(total, 0);
    rng.fill_bytes(&mut out[pad_at..]);
    Ok(out)
}

fn id_at(bytes: &[u8]) -> Result<MessageId, ContentError> {
    let id: &[u8; MESSAGE_ID_LEN] = bytes
        .get(..MESSAGE_ID_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(ContentError::Malformed)?;
    Ok(MessageId::from_bytes(id))
}

/// The id of a reliable content: a non-zero stream and a number in `1..2^63` (§7.2).
fn reliable_id_at(bytes: &[u8]) -> Result<MessageId, ContentError> {
    let id = id_at(bytes)?;
    if id.stream == 0 || id.number == 0 || id.number >= MAX_NUMBER {
        return Err(ContentError::Malformed);
    }
    Ok(id)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, ContentError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(ContentError::Malformed)
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, ContentError> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or(ContentError::Malformed)
}

fn nonce(payload: &[u8]) -> Result<[u8; RESUME_NONCE_LEN], ContentError> {
    payload.try_into().map_err(|_| ContentError::Malformed)
}

/// Decodes a content of type `kind` from its bytes, checking every field (§7.2).
fn decode_content(kind: u8, p: &[u8]) -> Result<Content, ContentError> {
    Ok(match kind {
        kind::TEXT => {
            let id = reliable_id_at(p)?;
            let expire_secs = u32_at(p, MESSAGE_ID_LEN)?;
            check_timer(expire_secs).map_err(|_| ContentError::Malformed)?;
            let text = &p[MESSAGE_ID_LEN + 4..];
            if text.is_empty() || text.len() > MAX_TEXT_LEN {
                return Err(ContentError::Malformed);
            }
            Content::Text {
                id,
                expire_secs,
                text: utf8(text)?,
            }
        }
        kind::ACK => {
            let (&n, ids) = p.split_first().ok_or(ContentError::Malformed)?;
            let n = usize::from(n);
            if n == 0 || n > MAX_ACK_IDS || ids.len() != n * MESSAGE_ID_LEN {
                return Err(ContentError::Malformed);
            }
            Content::Ack(
                ids.chunks_exact(MESSAGE_ID_LEN)
                    .map(id_at)
                    .collect::<Result<_, _>>()?,
            )
        }
        kind::PROFILE => {
            if p.is_empty() || p.len() > MAX_PROFILE_NAME_LEN {
                return Err(ContentError::Malformed);
            }
            Content::Profile(utf8(p)?)
        }
        kind::TIMER => {
            if p.len() != MESSAGE_ID_LEN + 12 {
                return Err(ContentError::Malformed);
            }
            let expire_secs = u32_at(p, MESSAGE_ID_LEN + 8)?;
            check_timer(expire_secs).map_err(|_| ContentError::Malformed)?;
            let version = u64_at(p, MESSAGE_ID_LEN)?;
            if version >= MAX_NUMBER {
                return Err(ContentError::Malformed);
            }
            Content::Timer {
                id: reliable_id_at(p)?,
                version,
                expire_secs,
            }
        }
        kind::RESUME => Content::Resume(nonce(p)?),
        kind::RESUME_OK => Content::ResumeOk(nonce(p)?),
        k if kind::RELIABLE_FUTURE.contains(&k) => Content::Unknown {
            kind: k,
            id: reliable_id_at(p)?,
        },
        other => return Err(ContentError::UnknownType(other)),
    })
}

/// Decodes a decrypted body, checking every field and the padding bounds.
pub(crate) fn decode(body: &[u8]) -> Result<Body, ContentError> {
    let (fixed, rest) = body
        .split_first_chunk::<FIXED_LEN>()
        .ok_or(ContentError::Malformed)?;
    let seq = u64_at(fixed, 1)?;
    let sent_at_ms = u64_at(fixed, 9)?;
    let len = u32_at(fixed, 17)? as usize;
    if len > rest.len() {
        return Err(ContentError::Malformed);
    }
    let (payload, padding) = rest.split_at(len);
    if !(MIN_PADDING..=MAX_PADDING).contains(&padding.len()) {
        return Err(ContentError::Malformed);
    }
    Ok(Body {
        seq,
        sent_at_ms,
        content: decode_content(fixed[0], payload)?,
    })
}

fn utf8(bytes: &[u8]) -> Result<String, ContentError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ContentError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const ID: MessageId = MessageId {
        stream: 0x0102_0304_0506_0708,
        number: 9,
    };

    fn text(s: &str) -> Content {
        Content::Text {
            id: ID,
            expire_secs: 30,
            text: s.into(),
        }
    }

    #[test]
    fn every_content_round_trips_with_padding_in_bounds() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let all = [
            text("hi"),
            text(&"x".repeat(MAX_TEXT_LEN)),
            Content::Ack(vec![ID; MAX_ACK_IDS]),
            Content::Ack(vec![ID]),
            Content::Profile("Alice".into()),
            Content::Timer {
                id: ID,
                version: 7,
                expire_secs: MAX_EXPIRE_SECS,
            },
            Content::Resume([3; 16]),
            Content::ResumeOk([4; 16]),
        ];
        for content in all {
            for seq in [1u64, u64::MAX] {
                let body = encode(&content, seq, 42, &mut rng).unwrap();
                assert_eq!(body.len() % BODY_BUCKET, 0);
                let back = decode(&body).unwrap();
                assert_eq!(back.content, content);
                assert_eq!((back.seq, back.sent_at_ms), (seq, 42));
            }
        }
    }

    #[test]
    fn all_three_bucket_offsets_occur() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let sizes: std::collections::BTreeSet<usize> = (0..200)
            .map(|_| {
                encode(&Content::Ack(vec![ID]), 1, 0, &mut rng)
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![256, 512, 768]);
    }

    #[test]
    fn unknown_reliable_types_keep_their_id_and_others_are_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let good = encode(&text("hi"), 1, 0, &mut rng).unwrap();
        let mut future = good.to_vec();
        future[0] = 0x21;
        assert_eq!(
            decode(&future).unwrap().content,
            Content::Unknown { kind: 0x21, id: ID }
        );
        let mut unknown = good.to_vec();
        unknown[0] = 0x7f;
        assert_eq!(decode(&unknown), Err(ContentError::UnknownType(0x7f)));
        assert_eq!(
            encode(&Content::Unknown { kind: 0x21, id: ID }, 1, 0, &mut rng),
            Err(ContentError::NotSendable)
        );
    }

    #[test]
    fn limits_and_malformed_bodies_are_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        assert_eq!(
            encode(&text(&"x".repeat(MAX_TEXT_LEN + 1)), 1, 0, &mut rng),
            Err(ContentError::TextTooLong {
                len: MAX_TEXT_LEN + 1
            })
        );
        assert_eq!(
            encode(&text(""), 1, 0, &mut rng),
            Err(ContentError::EmptyText)
        );
        assert!(matches!(
            encode(
                &Content::Profile("n".repeat(MAX_PROFILE_NAME_LEN + 1)),
                1,
                0,
                &mut rng
            ),
            Err(ContentError::BadName { .. })
        ));
        assert_eq!(
            encode(&Content::Ack(vec![]), 1, 0, &mut rng),
            Err(ContentError::BadAck(0))
        );
        assert_eq!(
            encode(&Content::Ack(vec![ID; MAX_ACK_IDS + 1]), 1, 0, &mut rng),
            Err(ContentError::BadAck(MAX_ACK_IDS + 1))
        );
        let long_timer = Content::Timer {
            id: ID,
            version: 1,
            expire_secs: MAX_EXPIRE_SECS + 1,
        };
        assert!(encode(&long_timer, 1, 0, &mut rng).is_err());

        let good = encode(&text("hi"), 1, 0, &mut rng).unwrap();
        assert!(decode(&good[..FIXED_LEN - 1]).is_err());
        let mut bad_len = good.to_vec();
        bad_len[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&bad_len), Err(ContentError::Malformed));
        let mut short_pad = good.to_vec();
        let len = (short_pad.len() - FIXED_LEN - 11) as u32;
        short_pad[17..21].copy_from_slice(&len.to_be_bytes());
        assert_eq!(decode(&short_pad), Err(ContentError::Malformed));
        let mut bad_utf8 = good.to_vec();
        bad_utf8[FIXED_LEN + MESSAGE_ID_LEN + 4] = 0xff;
        assert_eq!(decode(&bad_utf8), Err(ContentError::Malformed));
        for kind in [kind::ACK, kind::TIMER, kind::RESUME] {
            let mut wrong = good.to_vec();
            wrong[0] = kind;
            assert_eq!(decode(&wrong), Err(ContentError::Malformed), "{kind}");
        }
        let mut bad_timer = good.to_vec();
        bad_timer[FIXED_LEN + 16..FIXED_LEN + 20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&bad_timer), Err(ContentError::Malformed));
    }
}
