//! Golden files under `vectors/`: rendering `name = value` lines, comparing a rendering with its
//! file (`UPDATE_GOLDEN=1` re-records it after an intended change), and reading the names back.

use std::fmt::Write as _;

use super::spec::KeySet;
use super::vectors_dir;

/// Collects `name = hex` lines under section comments.
#[derive(Default)]
pub struct Out(pub String);

impl Out {
    pub fn section(&mut self, title: &str) {
        let _ = write!(self.0, "\n# {title}\n");
    }
    pub fn hex(&mut self, name: &str, bytes: &[u8]) {
        let _ = writeln!(self.0, "{name} = {}", hex::encode(bytes));
    }
    pub fn text(&mut self, name: &str, value: &str) {
        let _ = writeln!(self.0, "{name} = {value}");
    }
    pub fn keys(&mut self, name: &str, k: &KeySet) {
        self.hex(&format!("{name}.aes_key"), &k.aes_key());
        self.hex(&format!("{name}.aes_iv"), &k.aes_iv());
        self.hex(&format!("{name}.mac_key"), &k.mac_key());
    }
}

/// Fails unless `got` is exactly the content of `vectors/<file>`, naming the first differing line;
/// with `UPDATE_GOLDEN` set, writes `got` there first.
pub fn check_against_file(file: &str, got: &str) {
    let path = vectors_dir().join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if got != want {
        let first = got.lines().zip(want.lines()).position(|(g, w)| g != w);
        panic!("{file} differs (first differing line: {first:?}); see the file's header");
    }
}

/// The names of the `name = value` lines of `vectors/<file>`, in order (comments and blank lines
/// skipped; every other line must have the form).
pub fn value_names(file: &str) -> Vec<String> {
    std::fs::read_to_string(vectors_dir().join(file))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(" = ").expect("name = value").0.to_string())
        .collect()
}
