//! The crate denies `unsafe` at its root (`#![deny(unsafe_code)]`), and exactly two modules are
//! allowed it: the AES-NI intrinsics and the MULX/ADX Montgomery assembly. `deny` (unlike
//! `forbid`) can be lifted by any module's own `#[allow]`, so this test reads the sources and
//! fails if a third module ever does so.

use std::path::{Path, PathBuf};

/// The only files whose code may contain `unsafe`.
const UNSAFE_MODULES: [&str; 2] = ["crypto/aes/intrinsics.rs", "crypto/bignum/x86_64.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_allowed_modules_may_use_unsafe() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 20,
        "found only {} source files under {}",
        files.len(),
        src.display()
    );
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    assert!(
        lib.contains("#![deny(unsafe_code)]"),
        "lib.rs no longer denies unsafe code"
    );
    let mut allows = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        for (n, line) in text.lines().enumerate() {
            if line.contains("allow(unsafe_code)") {
                allows.push(rel.clone());
            }
            let code = line.split("//").next().unwrap_or_default();
            if !UNSAFE_MODULES.contains(&rel.as_str()) && code.contains("unsafe ") {
                panic!("{rel}:{}: unsafe code outside the allowed modules", n + 1);
            }
        }
    }
    allows.sort();
    assert_eq!(
        allows,
        ["crypto/aes/mod.rs", "crypto/bignum/mod.rs"],
        "unexpected unsafe allowances"
    );
    let aes = std::fs::read_to_string(src.join("crypto/aes/mod.rs")).expect("aes/mod.rs");
    assert!(
        aes.contains("#[allow(unsafe_code)]\nmod intrinsics;"),
        "the allowance must sit on `mod intrinsics`"
    );
    let bignum = std::fs::read_to_string(src.join("crypto/bignum/mod.rs")).expect("bignum/mod.rs");
    assert!(
        bignum.contains("#[allow(unsafe_code)]\nmod x86_64;"),
        "the allowance must sit on `mod x86_64`"
    );
}
