//! AES-256 and AES-256-IGE against published known answers (`vectors/aes`, `vectors/ige`), on
//! both back ends.

mod common;

use common::{hex_field, vector_blocks};
use sans_io_proto::crypto::aes::{Aes256, Backend};

fn backends(key: &[u8; 32]) -> Vec<Aes256> {
    let mut out = vec![Aes256::with_backend(key, Backend::Portable).unwrap()];
    out.extend(Aes256::with_backend(key, Backend::Hardware));
    out
}

#[test]
fn fips_197_and_sp_800_38a_known_answers() {
    let blocks = vector_blocks("aes/aes256_ecb.txt");
    assert_eq!(blocks.len(), 5);
    for v in blocks {
        let key: [u8; 32] = hex_field(&v, "key").try_into().unwrap();
        let pt: [u8; 16] = hex_field(&v, "pt").try_into().unwrap();
        let ct: [u8; 16] = hex_field(&v, "ct").try_into().unwrap();
        for aes in backends(&key) {
            let mut b = pt;
            aes.encrypt_block(&mut b);
            assert_eq!(b, ct, "{} encrypt on {:?}", v["source"], aes.backend());
            aes.decrypt_block(&mut b);
            assert_eq!(b, pt, "{} decrypt on {:?}", v["source"], aes.backend());
        }
    }
}

#[test]
fn hardware_backend_is_present_on_this_kind_of_machine() {
    // The development and CI machines have AES-NI; if this fails, the hardware back end was
    // silently not exercised by the other tests.
    if cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("aes") {
        assert_eq!(Aes256::new(&[0; 32]).backend(), Backend::Hardware);
    }
}

#[test]
fn ige_known_answers_both_directions() {
    for v in vector_blocks("ige/aes256_ige.txt") {
        let key: [u8; 32] = hex_field(&v, "key").try_into().unwrap();
        let iv: [u8; 32] = hex_field(&v, "iv").try_into().unwrap();
        let input = hex_field(&v, "input");
        let output = hex_field(&v, "output");
        for aes in backends(&key) {
            let mut data = input.clone();
            match v["direction"].as_str() {
                "encrypt" => {
                    aes.ige_encrypt(&iv, &mut data).unwrap();
                    assert_eq!(data, output, "{:?}", aes.backend());
                    aes.ige_decrypt(&iv, &mut data).unwrap();
                }
                _ => {
                    aes.ige_decrypt(&iv, &mut data).unwrap();
                    assert_eq!(data, output, "{:?}", aes.backend());
                    aes.ige_encrypt(&iv, &mut data).unwrap();
                }
            }
            assert_eq!(data, input);
        }
    }
}
