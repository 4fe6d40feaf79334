//! The body plaintext of a Data message (PROTOCOL.md §6.7): typed content, sequence number,
//! sender's clock, and MTProto-2.0-style random padding into 256-byte buckets.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::ratchet::BODY_BUCKET;

/// Longest text message, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = 16 * 1024;
/// Longest display name, in bytes of UTF-8.
pub const MAX_PROFILE_NAME_LEN: usize = 64;
/// Fewest random padding bytes (MTProto 2.0).
pub const MIN_PADDING: usize = 12;
/// Most random padding bytes accepted (MTProto 2.0).
pub const MAX_PADDING: usize = 1024;
/// Fixed fields before the content: type, seq, sent_at_ms, len.
const FIXED_LEN: usize = 1 + 8 + 8 + 4;

/// What a Data message carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Content {
    /// A chat message.
    Text(String),
    /// Delivery receipt for the message with this sequence number.
    Ack(u64),
    /// The sender's display name.
    Profile(String),
}

impl core::fmt::Debug for Content {
    // Message text is secret: Debug shows only its length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Content::Text(t) => write!(f, "Text({} bytes)", t.len()),
            Content::Ack(seq) => write!(f, "Ack({seq})"),
            Content::Profile(p) => write!(f, "Profile({} bytes)", p.len()),
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
    /// Display name longer than [`MAX_PROFILE_NAME_LEN`].
    #[error("display name is {len} bytes; the limit is {MAX_PROFILE_NAME_LEN}")]
    NameTooLong {
        /// Its length.
        len: usize,
    },
    /// The decrypted body is not a valid encoding (from an authenticated peer: a peer bug).
    #[error("malformed message body")]
    Malformed,
    /// A content type this version does not know.
    #[error("unknown content type {0:#04x}")]
    UnknownType(u8),
}

impl Content {
    fn type_byte(&self) -> u8 {
        match self {
            Content::Text(_) => 0x01,
            Content::Ack(_) => 0x02,
            Content::Profile(_) => 0x03,
        }
    }

    fn payload(&self) -> Result<Vec<u8>, ContentError> {
        match self {
            Content::Text(t) if t.len() > MAX_TEXT_LEN => {
                Err(ContentError::TextTooLong { len: t.len() })
            }
            Content::Profile(p) if p.len() > MAX_PROFILE_NAME_LEN => {
                Err(ContentError::NameTooLong { len: p.len() })
            }
            Content::Text(t) | Content::Profile(t) => Ok(t.as_bytes().to_vec()),
            Content::Ack(seq) => Ok(seq.to_be_bytes().to_vec()),
        }
    }
}

/// A decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body {
    pub(crate) seq: u64,
    pub(crate) sent_at_ms: u64,
    pub(crate) content: Content,
}

/// The padded length for `content_len` bytes of content: `roundup(21 + len + 12, 256) + 256·r`,
/// `r` uniform in {0, 1, 2} (PROTOCOL.md §6.7).
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
    let payload = Zeroizing::new(content.payload()?);
    let total = padded_len(payload.len(), rng);
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    out.push(content.type_byte());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&sent_at_ms.to_be_bytes());
    // payload.len() <= MAX_TEXT_LEN, so it fits a u32.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    let pad_at = out.len();
    out.resize(total, 0);
    rng.fill_bytes(&mut out[pad_at..]);
    Ok(out)
}

/// Decodes a decrypted body, checking every field and the padding bounds.
pub(crate) fn decode(body: &[u8]) -> Result<Body, ContentError> {
    let (fixed, rest) = body
        .split_first_chunk::<FIXED_LEN>()
        .ok_or(ContentError::Malformed)?;
    let kind = fixed[0];
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&fixed[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let seq = u64_at(1);
    let sent_at_ms = u64_at(9);
    let len = u32::from_be_bytes([fixed[17], fixed[18], fixed[19], fixed[20]]) as usize;
    if len > rest.len() {
        return Err(ContentError::Malformed);
    }
    let (payload, padding) = rest.split_at(len);
    if !(MIN_PADDING..=MAX_PADDING).contains(&padding.len()) {
        return Err(ContentError::Malformed);
    }
    let content = match kind {
        0x01 if len <= MAX_TEXT_LEN => Content::Text(utf8(payload)?),
        0x02 => Content::Ack(u64::from_be_bytes(
            payload.try_into().map_err(|_| ContentError::Malformed)?,
        )),
        0x03 if len <= MAX_PROFILE_NAME_LEN => Content::Profile(utf8(payload)?),
        0x01..=0x03 => return Err(ContentError::Malformed),
        other => return Err(ContentError::UnknownType(other)),
    };
    Ok(Body {
        seq,
        sent_at_ms,
        content,
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

    #[test]
    fn round_trip_and_padding_bounds_for_every_length() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for len in (0..=2000).chain([MAX_TEXT_LEN - 1, MAX_TEXT_LEN]) {
            let text = "x".repeat(len);
            let body = encode(&Content::Text(text.clone()), 7, 9, &mut rng).unwrap();
            assert_eq!(body.len() % BODY_BUCKET, 0);
            let pad = body.len() - FIXED_LEN - len;
            assert!((MIN_PADDING..=779).contains(&pad), "len {len}: pad {pad}");
            assert_eq!(
                decode(&body).unwrap(),
                Body {
                    seq: 7,
                    sent_at_ms: 9,
                    content: Content::Text(text)
                }
            );
        }
    }

    #[test]
    fn all_three_bucket_offsets_occur() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let sizes: std::collections::BTreeSet<usize> = (0..200)
            .map(|_| encode(&Content::Ack(1), 1, 0, &mut rng).unwrap().len())
            .collect();
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![256, 512, 768]);
    }

    #[test]
    fn limits_and_malformed_bodies_are_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let long = Content::Text("x".repeat(MAX_TEXT_LEN + 1));
        assert_eq!(
            encode(&long, 1, 0, &mut rng),
            Err(ContentError::TextTooLong {
                len: MAX_TEXT_LEN + 1
            })
        );
        let name = Content::Profile("n".repeat(MAX_PROFILE_NAME_LEN + 1));
        assert!(matches!(
            encode(&name, 1, 0, &mut rng),
            Err(ContentError::NameTooLong { .. })
        ));

        let good = encode(&Content::Text("hi".into()), 1, 0, &mut rng).unwrap();
        assert!(decode(&good[..FIXED_LEN - 1]).is_err());
        let mut bad_len = good.to_vec();
        bad_len[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&bad_len), Err(ContentError::Malformed));
        let mut short_pad = good.to_vec();
        let len = (short_pad.len() - FIXED_LEN - 11) as u32;
        short_pad[17..21].copy_from_slice(&len.to_be_bytes());
        assert_eq!(decode(&short_pad), Err(ContentError::Malformed));
        let mut bad_utf8 = good.to_vec();
        bad_utf8[FIXED_LEN] = 0xff;
        assert_eq!(decode(&bad_utf8), Err(ContentError::Malformed));
        let mut unknown = good.to_vec();
        unknown[0] = 0x7f;
        assert_eq!(decode(&unknown), Err(ContentError::UnknownType(0x7f)));
        let mut bad_ack = good.to_vec();
        bad_ack[0] = 0x02;
        assert_eq!(decode(&bad_ack), Err(ContentError::Malformed));
    }
}
