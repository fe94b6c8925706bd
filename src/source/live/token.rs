//! The EKS bearer token, made the way `aws eks get-token` makes it: an STS
//! `GetCallerIdentity` URL presigned with SigV4 (query-string signature, 60 s expiry) over the
//! headers `host` and `x-k8s-aws-id: <cluster>`, encoded as `k8s-aws-v1.` + unpadded
//! base64url. The API server's authenticator replays the URL to STS to learn who is calling.
//!
//! Nothing is shelled out; the token is kept in memory only and never printed.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine;

/// The prefix of every EKS token.
pub const PREFIX: &str = "k8s-aws-v1.";

/// The header that binds the token to one cluster.
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";

/// The regional STS endpoint the token's URL names.
#[must_use]
pub fn sts_url(region: &str) -> String {
    format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15")
}

/// Makes the token for `cluster` with `creds` in `region` at `time`.
///
/// # Errors
/// When the request cannot be signed (an invalid region or URL).
pub fn eks_token(
    creds: &Credentials,
    region: &str,
    cluster: &str,
    time: SystemTime,
) -> Result<String, String> {
    let identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(std::time::Duration::from_secs(60));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let url = sts_url(region);
    let signable = SignableRequest::new(
        "GET",
        &url,
        std::iter::once((CLUSTER_HEADER, cluster)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut req = http::Request::get(&url)
        .body(())
        .map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut req);
    let signed = req.uri().to_string();
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_a_presigned_get_caller_identity_url_bound_to_the_cluster() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_767_000_000);
        let token = eks_token(&creds, "eu-west-1", "prod", time).unwrap();
        let encoded = token.strip_prefix(PREFIX).unwrap();
        assert!(!encoded.contains('='), "unpadded base64url");
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert!(url.starts_with(
            "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
        ));
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20251229%2Feu-west-1%2Fsts%2Faws4_request",
            "X-Amz-Date=20251229T092000Z",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} missing from {url}");
        }
        // The secret never appears, in the token or in its URL.
        assert!(!url.contains("secret") && !token.contains("secret"));
        // Another cluster, another signature.
        let other = eks_token(&creds, "eu-west-1", "staging", time).unwrap();
        assert_ne!(token, other);
    }
}
