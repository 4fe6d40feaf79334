//! Encoders of the six handshake messages (PROTOCOL.md §5.2–5.9). Decoding lives in
//! [`crate::envelope`]: an envelope is decoded once, into typed fields.

use crate::crypto::dh::DH_LEN;
use crate::envelope::{self, ATTEMPT_LEN, COMMIT_LEN, EnvelopeType, NONCE_LEN, TAG_LEN};

/// `Commit`: the 32-byte commitment (§5.2).
pub(crate) fn encode_commit(commitment: &[u8; COMMIT_LEN]) -> Vec<u8> {
    let mut out = envelope::start(EnvelopeType::Commit, COMMIT_LEN);
    out.extend_from_slice(commitment);
    out
}

/// `Hello`: nonce and ephemeral DH value (§5.3).
pub(crate) fn encode_hello(nonce: &[u8; NONCE_LEN], eph_pub: &[u8; DH_LEN]) -> Vec<u8> {
    let mut out = envelope::start(EnvelopeType::Hello, NONCE_LEN + DH_LEN);
    out.extend_from_slice(nonce);
    out.extend_from_slice(eph_pub);
    out
}

/// A message made of `attempt` and then sealed boxes and tags, in order (§5.5–5.9).
pub(crate) fn encode_parts(
    kind: EnvelopeType,
    attempt: &[u8; ATTEMPT_LEN],
    parts: &[&[u8]],
) -> Vec<u8> {
    let len = ATTEMPT_LEN + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = envelope::start(kind, len);
    out.extend_from_slice(attempt);
    for part in parts {
        out.extend_from_slice(part);
    }
    debug_assert_eq!(
        Some(out.len() - envelope::PREFIX_LEN),
        kind.handshake_body_len()
    );
    out
}

/// `InitConfirm`: attempt and MAC (§5.9).
pub(crate) fn encode_init_confirm(attempt: &[u8; ATTEMPT_LEN], mac: &[u8; TAG_LEN]) -> Vec<u8> {
    encode_parts(EnvelopeType::InitConfirm, attempt, &[mac])
}

/// The first 306 bytes of RespAuth: prefix, attempt and the sealed encapsulation (§5.7); the
/// confirmation MAC over the transcript that includes them is appended afterwards.
pub(crate) fn encode_parts_prefix(
    attempt: &[u8; ATTEMPT_LEN],
    kem_box: &(Vec<u8>, [u8; 32]),
) -> Vec<u8> {
    let mut out = envelope::start(
        EnvelopeType::RespAuth,
        ATTEMPT_LEN + kem_box.0.len() + 2 * TAG_LEN,
    );
    out.extend_from_slice(attempt);
    out.extend_from_slice(&kem_box.0);
    out.extend_from_slice(&kem_box.1);
    debug_assert_eq!(out.len(), envelope::RESP_AUTH_TRANSCRIBED);
    out
}
