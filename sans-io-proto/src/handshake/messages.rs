//! Byte layouts of the four handshake messages (PROTOCOL.md §5.2–5.7). Parsing only checks sizes;
//! the cryptographic checks live in the state machine.

use crate::envelope::{self, EnvelopeError, EnvelopeType};

/// Length of a handshake nonce.
pub(crate) const NONCE_LEN: usize = 32;
/// Length of the attempt identifier (`hello_hash[0..16]`).
pub(crate) const ATTEMPT_LEN: usize = 16;
/// Length of a DH public value.
pub(crate) const DH_LEN: usize = crate::crypto::dh::DH_LEN;
/// Sealed identity: `ik_pub (260) || 0^12`, encrypted.
pub(crate) const IDENTITY_PT_LEN: usize = 272;
/// Sealed encapsulation: one RSA-2048 ciphertext.
pub(crate) const ENCAP_PT_LEN: usize = 256;
/// HMAC-SHA256 tag length.
pub(crate) const TAG_LEN: usize = 32;

pub(crate) const HELLO_BODY: usize = NONCE_LEN + DH_LEN;
pub(crate) const IDENTITY_BODY: usize = ATTEMPT_LEN + IDENTITY_PT_LEN + TAG_LEN;
pub(crate) const ENCAP_BODY: usize = ATTEMPT_LEN + ENCAP_PT_LEN + TAG_LEN;
pub(crate) const CONFIRM_BODY: usize = ATTEMPT_LEN + TAG_LEN;

/// A parsed Hello body.
pub(crate) struct Hello<'a> {
    pub(crate) nonce: &'a [u8; NONCE_LEN],
    pub(crate) eph_pub: &'a [u8],
}

/// A parsed sealed message body (Identity or Encap): attempt, ciphertext, tag.
pub(crate) struct Sealed<'a> {
    pub(crate) attempt: &'a [u8; ATTEMPT_LEN],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: &'a [u8; TAG_LEN],
}

/// A parsed Confirm body.
pub(crate) struct Confirm<'a> {
    pub(crate) attempt: &'a [u8; ATTEMPT_LEN],
    pub(crate) mac: &'a [u8; TAG_LEN],
}

fn expect_len(kind: EnvelopeType, body: &[u8], expected: usize) -> Result<(), EnvelopeError> {
    if body.len() == expected {
        Ok(())
    } else {
        Err(EnvelopeError::BadLength {
            kind,
            len: body.len(),
            expected,
        })
    }
}

fn array<const N: usize>(bytes: &[u8]) -> Option<&[u8; N]> {
    bytes.try_into().ok()
}

pub(crate) fn parse_hello(body: &[u8]) -> Result<Hello<'_>, EnvelopeError> {
    expect_len(EnvelopeType::Hello, body, HELLO_BODY)?;
    let (nonce, eph_pub) = body.split_at(NONCE_LEN);
    let nonce = array(nonce).ok_or(EnvelopeError::BadLength {
        kind: EnvelopeType::Hello,
        len: body.len(),
        expected: HELLO_BODY,
    })?;
    Ok(Hello { nonce, eph_pub })
}

pub(crate) fn parse_sealed(kind: EnvelopeType, body: &[u8]) -> Result<Sealed<'_>, EnvelopeError> {
    let expected = match kind {
        EnvelopeType::Identity => IDENTITY_BODY,
        _ => ENCAP_BODY,
    };
    expect_len(kind, body, expected)?;
    let bad = EnvelopeError::BadLength {
        kind,
        len: body.len(),
        expected,
    };
    let (attempt, rest) = body.split_at(ATTEMPT_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    Ok(Sealed {
        attempt: array(attempt).ok_or(bad)?,
        ciphertext,
        tag: array(tag).ok_or(bad)?,
    })
}

pub(crate) fn parse_confirm(body: &[u8]) -> Result<Confirm<'_>, EnvelopeError> {
    expect_len(EnvelopeType::Confirm, body, CONFIRM_BODY)?;
    let bad = EnvelopeError::BadLength {
        kind: EnvelopeType::Confirm,
        len: body.len(),
        expected: CONFIRM_BODY,
    };
    let (attempt, mac) = body.split_at(ATTEMPT_LEN);
    Ok(Confirm {
        attempt: array(attempt).ok_or(bad)?,
        mac: array(mac).ok_or(bad)?,
    })
}

/// The attempt identifier of an Identity, Encap or Confirm body, if it is long enough.
pub(crate) fn attempt_of(body: &[u8]) -> Option<&[u8; ATTEMPT_LEN]> {
    body.get(..ATTEMPT_LEN).and_then(array)
}

pub(crate) fn encode_hello(nonce: &[u8; NONCE_LEN], eph_pub: &[u8; DH_LEN]) -> Vec<u8> {
    let mut out = envelope::start(EnvelopeType::Hello, HELLO_BODY);
    out.extend_from_slice(nonce);
    out.extend_from_slice(eph_pub);
    out
}

pub(crate) fn encode_sealed(
    kind: EnvelopeType,
    attempt: &[u8; ATTEMPT_LEN],
    ciphertext: &[u8],
    tag: &[u8; TAG_LEN],
) -> Vec<u8> {
    let mut out = envelope::start(kind, ATTEMPT_LEN + ciphertext.len() + TAG_LEN);
    out.extend_from_slice(attempt);
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(tag);
    out
}

pub(crate) fn encode_confirm(attempt: &[u8; ATTEMPT_LEN], mac: &[u8; TAG_LEN]) -> Vec<u8> {
    let mut out = envelope::start(EnvelopeType::Confirm, CONFIRM_BODY);
    out.extend_from_slice(attempt);
    out.extend_from_slice(mac);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_protocol_md_section_4() {
        assert_eq!(HELLO_BODY, 288);
        assert_eq!(IDENTITY_BODY, 320);
        assert_eq!(ENCAP_BODY, 304);
        assert_eq!(CONFIRM_BODY, 48);
    }

    #[test]
    fn wrong_sizes_are_typed_errors_not_panics() {
        for len in [0, 1, 15, 16, 47, 49, 287, 289, 303, 305, 319, 321, 1000] {
            let body = vec![0u8; len];
            assert_eq!(parse_hello(&body).is_ok(), len == HELLO_BODY);
            assert_eq!(
                parse_sealed(EnvelopeType::Identity, &body).is_ok(),
                len == IDENTITY_BODY
            );
            assert_eq!(
                parse_sealed(EnvelopeType::Encap, &body).is_ok(),
                len == ENCAP_BODY
            );
            assert_eq!(parse_confirm(&body).is_ok(), len == CONFIRM_BODY);
        }
    }

    #[test]
    fn encodings_parse_back() {
        let hello = encode_hello(&[7; 32], &[9; 256]);
        let (kind, body) = envelope::parse(&hello).unwrap();
        assert_eq!(kind, EnvelopeType::Hello);
        let parsed = parse_hello(body).unwrap();
        assert_eq!(parsed.nonce, &[7; 32]);
        assert_eq!(parsed.eph_pub, &[9u8; 256][..]);

        let sealed = encode_sealed(EnvelopeType::Encap, &[1; 16], &[2; 256], &[3; 32]);
        let (_, body) = envelope::parse(&sealed).unwrap();
        let parsed = parse_sealed(EnvelopeType::Encap, body).unwrap();
        assert_eq!(
            (parsed.attempt, parsed.ciphertext, parsed.tag),
            (&[1; 16], &[2u8; 256][..], &[3; 32])
        );

        let confirm = encode_confirm(&[4; 16], &[5; 32]);
        let (_, body) = envelope::parse(&confirm).unwrap();
        let parsed = parse_confirm(body).unwrap();
        assert_eq!((parsed.attempt, parsed.mac), (&[4; 16], &[5; 32]));
    }
}
