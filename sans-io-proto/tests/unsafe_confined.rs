//! The crate denies `unsafe` at its root (`#![deny(unsafe_code)]`), and exactly one module, the
//! AES-NI intrinsics, is allowed it. `deny` (unlike `forbid`) can be lifted by any module's own
//! `#[allow]`, so this test reads the sources and fails if a second module ever does so.

use std::path::{Path, PathBuf};

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
fn only_the_intrinsics_module_may_use_unsafe() {
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
            if rel != "crypto/aes/intrinsics.rs" && code.contains("unsafe ") {
                panic!("{rel}:{}: unsafe code outside the intrinsics module", n + 1);
            }
        }
    }
    assert_eq!(
        allows,
        ["crypto/aes/mod.rs"],
        "unexpected unsafe allowances"
    );
    let aes = std::fs::read_to_string(src.join("crypto/aes/mod.rs")).expect("aes/mod.rs");
    assert!(
        aes.contains("#[allow(unsafe_code)]\nmod intrinsics;"),
        "the allowance must sit on `mod intrinsics`"
    );
}
