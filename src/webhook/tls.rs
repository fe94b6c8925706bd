//! The serving certificate, reloaded when its files change: cert-manager renews the Secret,
//! the kubelet swaps the mounted files, and new connections get the new certificate while
//! open ones go on with the one they started with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why the certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}")]
    NoKey { path: String, reason: String },
    #[error("the key in {path} cannot sign: {reason}")]
    BadKey { path: String, reason: String },
    #[error("the key in {key} does not match the certificate in {cert}")]
    Mismatch { cert: String, key: String },
}

/// The certificate and key files, and what was last loaded from them.
pub struct Reloading {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The file contents the current certificate was made from.
    seen: RwLock<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Reloading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Reloading {
    /// Loads the certificate chain and key.
    ///
    /// # Errors
    /// A file cannot be read, or holds no usable certificate or key.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let (cert_pem, key_pem) = read_both(cert, key)?;
        let certified = certified(cert, &cert_pem, key, &key_pem)?;
        Ok(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(Arc::new(certified)),
            seen: RwLock::new((cert_pem, key_pem)),
        })
    }

    /// Reads the files again. `Ok(true)`: they changed and the new certificate is in use;
    /// `Ok(false)`: unchanged. On an error the previous certificate stays in use.
    ///
    /// # Errors
    /// The files changed but cannot be used (yet: the kubelet may be half-way through).
    pub fn reload(&self) -> Result<bool, TlsError> {
        let (cert_pem, key_pem) = read_both(&self.cert, &self.key)?;
        {
            let seen = self
                .seen
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if seen.0 == cert_pem && seen.1 == key_pem {
                return Ok(false);
            }
        }
        let certified = certified(&self.cert, &cert_pem, &self.key, &key_pem)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(certified);
        *self
            .seen
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (cert_pem, key_pem);
        Ok(true)
    }

    /// A rustls server config that asks this for its certificate on every handshake.
    #[must_use]
    pub fn server_config(self: &Arc<Self>) -> rustls::ServerConfig {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // No session resumption: every new connection is authenticated by the certificate in
        // use now, so a rotation reaches every client that connects after it.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        config
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

fn read_both(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| TlsError::Read {
            path: p.display().to_string(),
            source: e,
        })
    };
    Ok((read(cert)?, read(key)?))
}

fn certified(
    cert: &Path,
    cert_pem: &[u8],
    key: &Path,
    key_pem: &[u8],
) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.display().to_string(),
        });
    }
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::NoKey {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let signing = any_supported_type(&private).map_err(|e| TlsError::BadKey {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(_) => Err(TlsError::Mismatch {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
        }),
    }
}
