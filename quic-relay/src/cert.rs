//! The relay's identity: a self-signed certificate (rcgen) created on first start and kept on
//! disk, so restarts keep the same SHA-256 fingerprint that clients pin.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Certificate file name inside the certificate directory.
pub const CERT_FILE: &str = "cert.der";
/// Private key file name (PKCS#8 DER, mode 0600 on unix).
pub const KEY_FILE: &str = "key.der";

/// Why the certificate could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Reading or writing the files failed.
    #[error("certificate files in {dir}: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The files exist but do not hold a usable certificate and key.
    #[error("the certificate or key in {0} is damaged; delete both files to create new ones")]
    Corrupt(PathBuf),
    /// rcgen could not create a certificate.
    #[error("could not create a certificate: {0}")]
    Generate(String),
}

/// A certificate and its private key, both DER.
#[derive(Clone)]
pub struct RelayCert {
    /// The certificate (what clients pin).
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key.
    pub key_der: zeroize::Zeroizing<Vec<u8>>,
}

impl RelayCert {
    /// A fresh self-signed certificate for `localhost` and `127.0.0.1` (not stored).
    pub fn generate() -> Result<Self, CertError> {
        let ck = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .map_err(|e| CertError::Generate(e.to_string()))?;
        Ok(RelayCert {
            cert_der: ck.cert.der().to_vec(),
            key_der: zeroize::Zeroizing::new(ck.signing_key.serialize_der()),
        })
    }

    /// The SHA-256 fingerprint clients pin.
    pub fn fingerprint(&self) -> [u8; 32] {
        fingerprint(&self.cert_der)
    }
}

impl std::fmt::Debug for RelayCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelayCert(pin {})", fingerprint_hex(&self.fingerprint()))
    }
}

/// `SHA-256(certificate DER)`.
pub fn fingerprint(cert_der: &[u8]) -> [u8; 32] {
    Sha256::digest(cert_der).into()
}

/// A fingerprint as 64 lower-case hex digits.
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    fp.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a pin string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a certificate pin is 64 hex digits (colons and spaces allowed)")]
pub struct PinParseError;

/// Parses a pin: 64 hex digits, either case, optionally separated by `:` or spaces.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], PinParseError> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b':' | b' ' | b'\t' | b'\n' | b'\r'))
        .collect();
    if digits.len() != 64 {
        return Err(PinParseError);
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let hex = std::str::from_utf8(pair).map_err(|_| PinParseError)?;
        out[i] = u8::from_str_radix(hex, 16).map_err(|_| PinParseError)?;
    }
    Ok(out)
}

/// `~/.local/share/e2e-chat/relay` (or the platform's data directory).
pub fn default_cert_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "e2e-chat").map(|d| d.data_dir().join("relay"))
}

/// The pin of the relay whose certificate lives in `dir` (default: [`default_cert_dir`]), if
/// there is one: lets a client on the same machine fill in the pin by itself.
pub fn local_relay_pin(dir: Option<&Path>) -> Option<[u8; 32]> {
    let dir = dir.map(Path::to_path_buf).or_else(default_cert_dir)?;
    let der = std::fs::read(dir.join(CERT_FILE)).ok()?;
    Some(fingerprint(&der))
}

/// Loads the certificate from `dir`, or creates and stores one there.
pub fn load_or_create(dir: &Path) -> Result<RelayCert, CertError> {
    let io = |source| CertError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if cert_path.exists() || key_path.exists() {
        let cert_der = std::fs::read(&cert_path).map_err(io)?;
        let key_der = zeroize::Zeroizing::new(std::fs::read(&key_path).map_err(io)?);
        let cert = RelayCert { cert_der, key_der };
        crate::server::check_cert(&cert).map_err(|_| CertError::Corrupt(dir.to_path_buf()))?;
        return Ok(cert);
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    let cert = RelayCert::generate()?;
    write_private(&key_path, &cert.key_der).map_err(io)?;
    std::fs::write(&cert_path, &cert.cert_der).map_err(io)?;
    Ok(cert)
}

/// Writes a file readable only by its owner (created with mode 0600 on unix, never widened).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_separators() {
        let fp = [0xabu8; 32];
        let hex = fingerprint_hex(&fp);
        assert_eq!(parse_fingerprint(&hex), Ok(fp));
        assert_eq!(parse_fingerprint(&hex.to_uppercase()), Ok(fp));
        let colons: Vec<String> = fp.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(parse_fingerprint(&colons.join(":")), Ok(fp));
        assert_eq!(parse_fingerprint("abc"), Err(PinParseError));
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), Err(PinParseError));
        assert_eq!(parse_fingerprint(&"é".repeat(32)), Err(PinParseError));
    }
}
