//! The TLS trust of `modvault publish`: what the go command trusts.
//!
//! Roots come from the system and `SSL_CERT_FILE`/`SSL_CERT_DIR`, as for
//! the go command and curl. One difference from webpki's verifier remains
//! to bridge: Go trusts a certificate that is itself in the root pool (a
//! self-signed server certificate made with `openssl req -x509`, which
//! marks it as a CA), while webpki refuses a CA certificate as a server's
//! (`CaUsedAsEndEntity`). Such a certificate is accepted here only if it is
//! byte for byte one of the trusted roots, names the server, and is within
//! its validity period.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// A client configuration trusting the system roots and `SSL_CERT_FILE`.
pub fn client_config() -> anyhow::Result<rustls::ClientConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_, ignored) = roots.add_parsable_certificates(loaded.certs.iter().cloned());
    if ignored > 0 {
        tracing::debug!(ignored, "some trusted certificates could not be parsed");
    }
    let roots = Arc::new(roots);
    let webpki = WebPkiServerVerifier::builder(roots).build()?;
    let verifier = Arc::new(TrustedLeaves {
        webpki,
        leaves: loaded.certs,
    });
    Ok(rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

#[derive(Debug)]
struct TrustedLeaves {
    webpki: Arc<WebPkiServerVerifier>,
    leaves: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for TrustedLeaves {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        if !self
            .leaves
            .iter()
            .any(|root| root.as_ref() == end_entity.as_ref())
        {
            return Err(refused);
        }
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| refused.clone())?;
        cert.verify_is_valid_for_subject_name(server_name)
            .map_err(|_| refused.clone())?;
        match validity(end_entity.as_ref()) {
            Some((not_before, not_after)) if (not_before..=not_after).contains(&now.as_secs()) => {
                Ok(ServerCertVerified::assertion())
            }
            _ => Err(refused),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// One DER element: (tag, contents, the rest after it).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (
            rest[..n]
                .iter()
                .fold(0usize, |len, b| (len << 8) | *b as usize),
            &rest[n..],
        )
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// notBefore and notAfter of an X.509 certificate, in Unix seconds.
fn validity(der: &[u8]) -> Option<(u64, u64)> {
    let (_, certificate, _) = element(der)?;
    let (_, mut tbs, _) = element(certificate)?;
    // version [0] (optional), serialNumber, signature, issuer, validity
    let (tag, _, rest) = element(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..3 {
        tbs = element(tbs)?.2;
    }
    let (_, validity, _) = element(tbs)?;
    let (tag_before, before, rest) = element(validity)?;
    let (tag_after, after, _) = element(rest)?;
    Some((asn1_time(tag_before, before)?, asn1_time(tag_after, after)?))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn asn1_time(tag: u8, text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i32 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let number = |i: usize| rest.get(i..i + 2)?.parse::<u8>().ok();
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(number(0)?).ok()?, number(2)?)
            .ok()?;
    let time = time::Time::from_hms(number(4)?, number(6)?, number(8)?).ok()?;
    u64::try_from(
        time::PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn1_times() {
        assert_eq!(asn1_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(asn1_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(asn1_time(0x18, b"20240102030405Z"), Some(1_704_164_645));
        assert_eq!(asn1_time(0x18, b"20240102030405"), None);
        assert_eq!(asn1_time(0x17, b"2401020304Z"), None);
    }
}
