//! The fixed test identities of `vectors/identities/test-identities.txt` (RSA key generation is
//! far too slow to repeat per simulated session).

use std::sync::OnceLock;

use sans_io_proto::IdentityKeyPair;

/// All fixed identities, loaded once.
pub fn identities() -> &'static [IdentityKeyPair] {
    static IDS: OnceLock<Vec<IdentityKeyPair>> = OnceLock::new();
    IDS.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vectors/identities/test-identities.txt");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let bytes = hex::decode(l).unwrap_or_else(|e| panic!("bad identity line: {e}"));
                IdentityKeyPair::from_private_bytes(&bytes)
                    .unwrap_or_else(|e| panic!("bad identity: {e}"))
            })
            .collect()
    })
}
