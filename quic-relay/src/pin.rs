//! Certificate pinning for clients: the relay's self-signed certificate is accepted exactly when
//! its SHA-256 equals the pin, and the TLS handshake signature is still verified with the
//! certificate's key. Verification is narrowed to one certificate, never switched off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use sans_io_proto::crypto::ct::ct_eq;

use crate::cert::fingerprint;

/// A verifier that trusts one certificate, by its SHA-256 fingerprint.
#[derive(Debug)]
pub struct PinnedVerifier {
    pin: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
    mismatch: Arc<AtomicBool>,
}

impl PinnedVerifier {
    /// A verifier for `pin`; `mismatch` is set when a certificate with another fingerprint is
    /// presented (so a UI can say "wrong pin" instead of a generic TLS error).
    pub fn new(pin: [u8; 32], provider: &CryptoProvider, mismatch: Arc<AtomicBool>) -> Self {
        PinnedVerifier {
            pin,
            algorithms: provider.signature_verification_algorithms,
            mismatch,
        }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        // The pin replaces chain building, name and validity checks: it names the one
        // certificate that is trusted. Compared in constant time.
        if ct_eq(&fingerprint(end_entity.as_ref()), &self.pin) {
            Ok(ServerCertVerified::assertion())
        } else {
            self.mismatch.store(true, Ordering::SeqCst);
            Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The crypto provider used by relay and clients (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A quinn client configuration pinned to `pin`, and the flag that records a pin mismatch.
pub fn client_config(pin: [u8; 32]) -> Result<(quinn::ClientConfig, Arc<AtomicBool>), Error> {
    let provider = provider();
    let mismatch = Arc::new(AtomicBool::new(false));
    let verifier = Arc::new(PinnedVerifier::new(pin, &provider, mismatch.clone()));
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![crate::ALPN.to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| Error::General(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(crate::transport::client_transport());
    Ok((config, mismatch))
}
