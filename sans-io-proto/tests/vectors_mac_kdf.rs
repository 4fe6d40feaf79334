//! HMAC-SHA256, HKDF-SHA256 and PBKDF2-HMAC-SHA256 against their RFCs' test vectors.

mod common;

use common::{hex_field, vector_blocks};
use sans_io_proto::crypto::hkdf;
use sans_io_proto::crypto::hmac::{HmacSha256, hmac_sha256};
use sans_io_proto::crypto::pbkdf2::pbkdf2_hmac_sha256;

#[test]
fn rfc_4231_hmac_sha256() {
    let blocks = vector_blocks("hmac/rfc4231.txt");
    assert_eq!(blocks.len(), 7);
    for v in blocks {
        let (key, data, tag) = (
            hex_field(&v, "key"),
            hex_field(&v, "data"),
            hex_field(&v, "tag"),
        );
        let full = hmac_sha256(&key, &data);
        assert_eq!(&full[..tag.len()], tag.as_slice(), "case {}", v["case"]);
        // Streaming in uneven pieces gives the same tag, and verification accepts it.
        let mut mac = HmacSha256::new(&key);
        for piece in data.chunks(7) {
            mac.update(piece);
        }
        assert_eq!(mac.clone().finalize(), full);
        assert!(
            mac.clone().verify_truncated(&tag).is_ok(),
            "case {}",
            v["case"]
        );
        let mut wrong = tag.clone();
        wrong[0] ^= 1;
        assert!(mac.verify_truncated(&wrong).is_err());
    }
}

#[test]
fn rfc_5869_hkdf_sha256() {
    let blocks = vector_blocks("hkdf/rfc5869.txt");
    assert_eq!(blocks.len(), 3);
    for v in blocks {
        let (ikm, salt, info) = (
            hex_field(&v, "ikm"),
            hex_field(&v, "salt"),
            hex_field(&v, "info"),
        );
        let prk = hkdf::extract(&salt, &ikm);
        assert_eq!(
            prk.as_bytes().as_slice(),
            hex_field(&v, "prk").as_slice(),
            "case {}",
            v["case"]
        );
        let mut okm = vec![0u8; v["length"].parse().unwrap()];
        hkdf::expand(&prk, &info, &mut okm).unwrap();
        assert_eq!(okm, hex_field(&v, "okm"), "case {}", v["case"]);
    }
}

#[test]
fn rfc_7914_pbkdf2_hmac_sha256() {
    for v in vector_blocks("pbkdf2/rfc7914.txt") {
        let dk = hex_field(&v, "dk");
        let mut out = vec![0u8; dk.len()];
        pbkdf2_hmac_sha256(
            &hex_field(&v, "password"),
            &hex_field(&v, "salt"),
            v["iterations"].parse().unwrap(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, dk);
    }
}
