//! TLS on the client-to-edge hop: a throwaway certificate authority and a certificate for
//! the zone's names, made at start with rcgen, served with rustls (ring provider). The CA's
//! PEM file is written so that `curl --cacert` can check the edge like any HTTPS site, and
//! the simulated clients trust the same CA: every handshake is real and timed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot make the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot configure TLS: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot write the CA certificate to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything both sides of the TLS hop need.
#[derive(Clone)]
pub struct TlsMaterial {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
    /// The CA certificate as PEM, written to `ca_path`.
    pub ca_pem: String,
    pub ca_path: PathBuf,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_path", &self.ca_path)
            .finish()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes a CA and a server certificate for `zone`, `*.zone`, `localhost` and 127.0.0.1, and
/// writes the CA's PEM into `dir`.
pub fn generate(zone: &str, dir: &Path) -> Result<TlsMaterial, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "hopscope local CA");
    dn.push(DnType::OrganizationName, "hopscope");
    ca_params.distinguished_name = dn;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate()?;
    let names = vec![
        zone.to_string(),
        format!("*.{zone}"),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let mut leaf_params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("*.{zone}"));
    leaf_params.distinguished_name = dn;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    let chain = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;

    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca_cert.der().to_vec()))?;
    let client = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();

    let ca_pem = ca_cert.pem();
    let ca_path = dir.join("hopscope-ca.pem");
    std::fs::write(&ca_path, &ca_pem).map_err(|source| TlsError::Write {
        path: ca_path.clone(),
        source,
    })?;
    Ok(TlsMaterial {
        acceptor: TlsAcceptor::from(Arc::new(server)),
        connector: TlsConnector::from(Arc::new(client)),
        ca_pem,
        ca_path,
    })
}

/// The name a client checks the certificate against.
pub fn server_name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::try_from("localhost").expect("a valid DNS name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_client_trusting_the_ca_completes_a_real_handshake() {
        let dir = std::env::temp_dir().join(format!("hopscope-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let tls = generate("example.test", &dir).expect("material");
        assert!(
            std::fs::read_to_string(&tls.ca_path)
                .expect("pem written")
                .contains("BEGIN CERTIFICATE")
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let acceptor = tls.acceptor.clone();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            let mut s = acceptor.accept(s).await.expect("server handshake");
            s.write_all(b"hello").await.expect("write");
            s.shutdown().await.ok();
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut s = tls
            .connector
            .connect(server_name("api.example.test"), tcp)
            .await
            .expect("client handshake");
        let mut got = String::new();
        s.read_to_string(&mut got).await.ok();
        assert_eq!(got, "hello");
        std::fs::remove_dir_all(&dir).ok();
    }
}
