//! Every domain-separation label of the protocol, in one place (PROTOCOL.md §2: all start with
//! `"e2e-chat v1 "`, so a new protocol version changes every derived key).

/// `hello_hash` (PROTOCOL.md §5.2).
pub(crate) const HELLO: &[u8] = b"e2e-chat v1 hello";
/// HKDF info of the identity-hiding keys (§5.2).
pub(crate) const HANDSHAKE_HIDING: &[u8] = b"e2e-chat v1 handshake hiding";
/// MAC label of a sealed Identity (§5.4).
pub(crate) const IDENTITY: &[u8] = b"e2e-chat v1 identity";
/// MAC label of a sealed Encap (§5.5).
pub(crate) const ENCAP: &[u8] = b"e2e-chat v1 encap";
/// Prefix of the RSA-OAEP label of an Encap (§5.5).
pub(crate) const KEM: &[u8] = b"e2e-chat v1 kem";
/// Transcript hash `TH` (§5.6).
pub(crate) const TRANSCRIPT: &[u8] = b"e2e-chat v1 transcript";
/// HKDF info of the session keys (§5.6).
pub(crate) const SESSION_KEYS: &[u8] = b"e2e-chat v1 session keys";
/// Key-confirmation MAC (§5.7).
pub(crate) const CONFIRM: &[u8] = b"e2e-chat v1 confirm";
/// `KDF_RK` info (§6.1).
pub(crate) const RATCHET: &[u8] = b"e2e-chat v1 ratchet";
/// Message-key expansion info (§6.1).
pub(crate) const MESSAGE_KEYS: &[u8] = b"e2e-chat v1 message keys";
/// Header-key expansion info (§6.1).
pub(crate) const HEADER_KEYS: &[u8] = b"e2e-chat v1 header keys";
/// Header MAC label (§6.6).
pub(crate) const HEADER_MAC: &[u8] = b"e2e-chat v1 header";
/// Body MAC label (§6.6).
pub(crate) const BODY_MAC: &[u8] = b"e2e-chat v1 body";
/// Identity fingerprint (§7.1).
pub(crate) const FINGERPRINT: &[u8] = b"e2e-chat v1 identity";
/// Safety-number iteration seed (§7.1).
pub(crate) const SAFETY: &[u8] = b"e2e-chat v1 safety";
/// Emoji derivation (§7.2).
pub(crate) const EMOJI: &[u8] = b"e2e-chat v1 emoji";
/// HKDF info and MAC label of the version 2 identity file (§9.1).
pub(crate) const IDENTITY_FILE: &[u8] = b"e2e-chat v2 identity file";

#[cfg(test)]
mod tests {
    /// PROTOCOL.md is the single source of truth for the key schedule: every label the code uses
    /// must appear there verbatim (in quotes), so renaming one in either place fails here.
    #[test]
    fn every_label_is_written_in_protocol_md() {
        let spec = include_str!("../../PROTOCOL.md");
        let all: [&[u8]; 17] = [
            super::HELLO,
            super::HANDSHAKE_HIDING,
            super::IDENTITY,
            super::ENCAP,
            super::KEM,
            super::TRANSCRIPT,
            super::SESSION_KEYS,
            super::CONFIRM,
            super::RATCHET,
            super::MESSAGE_KEYS,
            super::HEADER_KEYS,
            super::HEADER_MAC,
            super::BODY_MAC,
            super::FINGERPRINT,
            super::SAFETY,
            super::EMOJI,
            super::IDENTITY_FILE,
        ];
        for label in all {
            let label = core::str::from_utf8(label).expect("labels are ASCII");
            assert!(
                label.starts_with("e2e-chat v1 ") || label.starts_with("e2e-chat v2 "),
                "{label}: missing the version prefix"
            );
            assert!(
                spec.contains(&format!("\"{label}\"")),
                "PROTOCOL.md never mentions \"{label}\""
            );
        }
    }
}
