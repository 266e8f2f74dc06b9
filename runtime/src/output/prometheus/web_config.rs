//! `--web.config.file FILE`: TLS and basic auth for `/metrics`, configured like every
//! Prometheus exporter (the exporter-toolkit's web configuration file):
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt        # relative paths are relative to this file
//!   key_file: server.key
//!   client_ca_file: ca.crt       # optional: client certificates
//!   client_auth_type: RequireAndVerifyClientCert
//! basic_auth_users:
//!   prometheus: $2y$10$...       # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! Everything is checked when gprobe starts (files read, certificates and key parsed, hashes
//! well formed), so a bad file is an error before anything is attached. Unknown keys are errors
//! too, as in the toolkit, so a misspelled key does not silently leave the endpoint open.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// The file's contents, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    tls_server_config: Option<TlsFileConfig>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFileConfig {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    client_auth_type: Option<String>,
}

/// What the server does with the file: TLS, basic auth, both or neither.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub tls: Option<Arc<ServerConfig>>,
    pub auth: Option<Arc<BasicAuth>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.is_some())
            .finish()
    }
}

impl WebConfig {
    /// Reads and checks `path`. Errors name the file and what is wrong in it.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--web.config.file {}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, dir)
            .map_err(|e| format!("--web.config.file {}: {e}", path.display()))
    }

    /// `text` is the file, `dir` where its relative paths start.
    fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
        // An empty file (or only comments) is valid and means plain HTTP, as in the toolkit.
        let file: FileConfig = if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#')
        }) {
            FileConfig::default()
        } else {
            serde_norway::from_str(text).map_err(|e| e.to_string())?
        };
        let tls = match file.tls_server_config {
            Some(tls) => Some(Arc::new(tls_config(&tls, dir)?)),
            None => None,
        };
        let auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            Some(Arc::new(BasicAuth::new(file.basic_auth_users)?))
        };
        Ok(WebConfig { tls, auth })
    }
}

fn resolve(dir: &Path, file: &Path) -> PathBuf {
    if file.is_absolute() {
        file.to_path_buf()
    } else {
        dir.join(file)
    }
}

fn tls_config(tls: &TlsFileConfig, dir: &Path) -> Result<ServerConfig, String> {
    let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
        return Err("tls_server_config needs both cert_file and key_file".into());
    };
    let cert_path = resolve(dir, cert_file);
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cert_file {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "cert_file {}: no PEM certificate in it",
            cert_path.display()
        ));
    }
    let key_path = resolve(dir, key_file);
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("key_file {}: {e}", key_path.display()))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let auth_type = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let verify = match auth_type {
        "NoClientCert" => None,
        "VerifyClientCertIfGiven" => Some(false),
        "RequireAndVerifyClientCert" => Some(true),
        "RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert" => {
            return Err(format!(
                "client_auth_type {auth_type} (client certificates taken unverified) is not \
                 supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with \
                 client_ca_file"
            ));
        }
        other => {
            return Err(format!(
                "client_auth_type {other:?} is not one of NoClientCert, \
                 VerifyClientCertIfGiven, RequireAndVerifyClientCert"
            ));
        }
    };
    let builder = match (verify, &tls.client_ca_file) {
        (None, None) => builder.with_no_client_auth(),
        (None, Some(_)) => {
            return Err(
                "client_ca_file is set but client_auth_type is NoClientCert: set \
                        client_auth_type to VerifyClientCertIfGiven or \
                        RequireAndVerifyClientCert"
                    .into(),
            );
        }
        (Some(_), None) => {
            return Err(format!("client_auth_type {auth_type} needs client_ca_file"));
        }
        (Some(required), Some(ca_file)) => {
            let ca_path = resolve(dir, ca_file);
            let mut roots = RootCertStore::empty();
            let cas = CertificateDer::pem_file_iter(&ca_path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("client_ca_file {}: {e}", ca_path.display()))?;
            for ca in cas {
                roots
                    .add(ca)
                    .map_err(|e| format!("client_ca_file {}: {e}", ca_path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "client_ca_file {}: no PEM certificate in it",
                    ca_path.display()
                ));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| format!("client_ca_file {}: {e}", ca_path.display()))?,
            )
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        format!(
            "cert_file {} / key_file {}: {e}",
            cert_path.display(),
            key_path.display()
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Most remembered good credentials; past it the memory starts over (a bound, not a policy).
const VERIFIED_MAX: usize = 64;

/// `basic_auth_users`: user → bcrypt hash. bcrypt is slow on purpose (tens of ms), so
/// credentials that checked out are remembered as a SHA-256 digest (never the password) and
/// later scrapes with them skip bcrypt, as the exporter-toolkit does with its cache.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    verified: Mutex<HashSet<Vec<u8>>>,
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> Result<BasicAuth, String> {
        for (user, hash) in &users {
            hash.parse::<bcrypt::HashParts>().map_err(|e| {
                format!("basic_auth_users: the hash of {user:?} is not a bcrypt hash ({e})")
            })?;
        }
        Ok(BasicAuth {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    fn digest(user: &str, password: &str) -> Vec<u8> {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(user.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        ctx.finish().as_ref().to_vec()
    }

    /// The answer when it needs no bcrypt: `Some(false)` for a missing or malformed header,
    /// `Some(true)` for remembered credentials; `None` means call [`BasicAuth::check`].
    pub fn quick_check(&self, authorization: Option<&str>) -> Option<bool> {
        let Some((user, password)) = BasicAuth::credentials(authorization) else {
            return Some(false);
        };
        let digest = BasicAuth::digest(&user, &password);
        self.verified
            .lock()
            .is_ok_and(|v| v.contains(&digest))
            .then_some(true)
    }

    /// `Basic BASE64(user:password)` → user and password.
    fn credentials(authorization: Option<&str>) -> Option<(String, String)> {
        use base64::Engine as _;
        authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
            })
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| {
                let (u, p) = s.split_once(':')?;
                Some((u.to_string(), p.to_string()))
            })
    }

    /// Whether the `Authorization` header's value holds a user's credentials. Runs bcrypt when
    /// they are not remembered: call it off the async threads.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = BasicAuth::credentials(authorization) else {
            return false;
        };
        let digest = BasicAuth::digest(&user, &password);
        if self.verified.lock().is_ok_and(|v| v.contains(&digest)) {
            return true;
        }
        // An unknown user still costs one bcrypt, so timing does not tell which users exist.
        let (known, hash) = match self.users.get(&user) {
            Some(hash) => (true, hash),
            None => match self.users.values().next() {
                Some(hash) => (false, hash),
                None => return false,
            },
        };
        let ok = bcrypt::verify(&password, hash).unwrap_or(false) && known;
        if ok && let Ok(mut v) = self.verified.lock() {
            if v.len() >= VERIFIED_MAX {
                v.clear();
            }
            v.insert(digest);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn empty_file_is_plain_http() {
        let c = WebConfig::parse("# nothing\n\n", Path::new(".")).unwrap();
        assert!(c.tls.is_none() && c.auth.is_none());
    }

    #[test]
    fn basic_auth_checks_bcrypt_hashes() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let c = WebConfig::parse(
            &format!("basic_auth_users:\n  prom: '{hash}'\n"),
            Path::new("."),
        )
        .unwrap();
        let auth = c.auth.unwrap();
        assert_eq!(auth.quick_check(Some(&basic("prom", "secret"))), None);
        assert!(auth.check(Some(&basic("prom", "secret"))));
        // Remembered now, and still right.
        assert_eq!(auth.quick_check(Some(&basic("prom", "secret"))), Some(true));
        assert!(auth.check(Some(&basic("prom", "secret"))));
        assert_eq!(auth.quick_check(Some(&basic("prom", "wrong"))), None);
        assert_eq!(auth.quick_check(None), Some(false));
        assert!(!auth.check(Some(&basic("prom", "wrong"))));
        assert!(!auth.check(Some(&basic("other", "secret"))));
        assert!(!auth.check(None));
        assert!(!auth.check(Some("Bearer x")));
        assert!(!auth.check(Some("Basic !!!")));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = Path::new("/nonexistent");
        let err = |text: &str| WebConfig::parse(text, dir).unwrap_err();
        assert!(err("basic_auth_users:\n  prom: plain\n").contains("not a bcrypt hash"));
        assert!(err("tls_server_config:\n  cert_file: a.crt\n").contains("key_file"));
        assert!(err("tls_srever_config: {}\n").contains("unknown field"));
        let missing = err("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
        assert!(missing.contains("/nonexistent/a.crt"), "{missing}");
        assert!(err("basic_auth_users: [1, 2]\n").contains("basic_auth_users"));
        assert!(err("tls_server_config: [\n").contains("line"));
    }

    #[test]
    fn a_missing_file_names_it() {
        let e = WebConfig::load(Path::new("/nonexistent/web.yml")).unwrap_err();
        assert!(e.contains("--web.config.file /nonexistent/web.yml"), "{e}");
    }
}
