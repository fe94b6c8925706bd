//! A small HTTPS/1.1 client for the webhook tests: rustls trusting one certificate, hyper
//! over one keep-alive connection, and the certificate the server presented.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// A self-signed serving certificate for `localhost` and 127.0.0.1, written as PEM files.
pub struct Cert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Cert {
    pub fn new(common_name: &str) -> Self {
        let key = rcgen::KeyPair::generate().expect("a key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let cert = params.self_signed(&key).expect("self-signed");
        Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn write(&self, cert: &Path, key: &Path) {
        // Written next to the target and renamed, as the kubelet swaps a Secret's files.
        let next = |p: &Path| {
            let mut name = p.as_os_str().to_owned();
            name.push(".next");
            std::path::PathBuf::from(name)
        };
        let (tmp_cert, tmp_key) = (next(cert), next(key));
        std::fs::write(&tmp_cert, &self.cert_pem).expect("write cert");
        std::fs::write(&tmp_key, &self.key_pem).expect("write key");
        std::fs::rename(&tmp_key, key).expect("rename key");
        std::fs::rename(&tmp_cert, cert).expect("rename cert");
    }

    pub fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("pem")
    }
}

/// One keep-alive HTTPS connection.
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    /// The leaf certificate the server presented.
    pub peer: CertificateDer<'static>,
}

/// A client config that trusts each of `certs`.
pub fn trusting(certs: &[&Cert]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c.der()).expect("trust anchor");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

impl Conn {
    pub async fn open(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Self {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("TLS handshake");
        let peer = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first().cloned())
            .expect("a peer certificate")
            .into_owned();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
        tokio::spawn(conn);
        Self { sender, peer }
    }

    /// Sends one request; the status and body.
    pub async fn send(&mut self, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        self.sender.ready().await.expect("connection ready");
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let resp = self.sender.send_request(req).await.expect("response");
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, body)
    }
}

/// GET over plain HTTP (the metrics port).
pub async fn get_plain(addr: SocketAddr, path: &str) -> (u16, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
