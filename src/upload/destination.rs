//! Where an upload goes: the API, the repository, the Git ref, the commit and the token, each
//! from its flag or else from the variable GitHub Actions sets, and each checked before
//! anything is sent.

use std::fmt;

use super::UploadArgs;

/// The public GitHub API; GitHub Enterprise Server uses `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The variable the token is read from; there is deliberately no flag for it.
const TOKEN_VARIABLE: &str = "GITHUB_TOKEN";

/// A setting that a flag gives, or else a GitHub Actions variable.
#[derive(Debug, Clone, Copy)]
struct Setting {
    /// The flag's name without `--`.
    flag: &'static str,
    /// The environment variable GitHub Actions sets.
    variable: &'static str,
}

impl Setting {
    const fn new(flag: &'static str, variable: &'static str) -> Self {
        Self { flag, variable }
    }
}

const REPOSITORY: Setting = Setting::new("repo", "GITHUB_REPOSITORY");
const GIT_REF: Setting = Setting::new("ref", "GITHUB_REF");
const COMMIT: Setting = Setting::new("sha", "GITHUB_SHA");
const API_URL: Setting = Setting::new("api-url", "GITHUB_API_URL");

/// Where a value came from, so that a message names what to fix: `--repo` or
/// `$GITHUB_REPOSITORY`.
#[derive(Debug, Clone, Copy)]
pub(super) enum SetBy {
    /// A command-line flag (its name without `--`).
    Flag(&'static str),
    /// An environment variable.
    Variable(&'static str),
}

impl fmt::Display for SetBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(name) => write!(f, "--{name}"),
            Self::Variable(name) => write!(f, "${name}"),
        }
    }
}

/// A destination or token that cannot be used; every value quoted is already masked.
#[derive(Debug, thiserror::Error)]
pub(super) enum DestinationError {
    #[error("no repository: pass --repo OWNER/NAME (GitHub Actions sets GITHUB_REPOSITORY)")]
    NoRepository,
    #[error("{set_by} `{value}` is not a repository: expected OWNER/NAME, e.g. octo-org/blog")]
    NotARepository { set_by: SetBy, value: String },
    #[error(
        "no Git ref: pass --ref, e.g. refs/heads/main or refs/pull/42/merge \
         (GitHub Actions sets GITHUB_REF)"
    )]
    NoGitRef,
    #[error(
        "{set_by} `{value}` is not a full Git ref: it must start with refs/, e.g. \
         refs/heads/main, refs/tags/v1.0 or refs/pull/42/merge{}",
        branch_hint(.value)
    )]
    NotAFullGitRef { set_by: SetBy, value: String },
    #[error(
        "no commit: pass --sha with the full 40-hex commit SHA (GitHub Actions sets \
         GITHUB_SHA; elsewhere `git rev-parse HEAD`)"
    )]
    NoCommit,
    #[error(
        "{set_by} `{value}` is not a commit SHA: expected 40 hexadecimal digits \
         (`git rev-parse HEAD`), not a short SHA or a branch name"
    )]
    NotACommit { set_by: SetBy, value: String },
    #[error("{set_by} `{value}` {problem}")]
    BadApiUrl {
        set_by: SetBy,
        value: String,
        problem: ApiUrlError,
    },
    #[error(
        "no token: set the GITHUB_TOKEN environment variable to a token with the \
         `security-events: write` permission (in a workflow: `env: GITHUB_TOKEN: \
         ${{{{ github.token }}}}` and `permissions: security-events: write`)"
    )]
    NoToken,
    #[error("GITHUB_TOKEN contains whitespace or control characters; set it to the token alone")]
    TokenNotClean,
}

/// Why an API base URL is refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum ApiUrlError {
    #[error("is not a URL: expected e.g. https://api.github.com")]
    NotAUrl,
    #[error("is not a plain API base URL: expected e.g. https://HOST/api/v3")]
    NotABaseUrl,
    #[error("contains whitespace")]
    Whitespace,
    #[error("uses plain http: the token would cross the network unencrypted; use https")]
    PlainHttp,
    #[error("must start with https://")]
    NotHttps,
}

/// A guess for a branch name given where a full ref is expected.
fn branch_hint(value: &str) -> String {
    if value.is_empty() || value.contains(char::is_whitespace) {
        String::new()
    } else {
        format!(" (did you mean refs/heads/{value}?)")
    }
}

/// Where and what to upload, after flags, environment and checks. (No `Debug`: it holds the
/// token.)
pub(super) struct Destination {
    /// The API base URL, without a trailing `/`.
    api: String,
    owner: String,
    repo: String,
    /// The full Git ref analysed, `refs/...`.
    pub(super) git_ref: String,
    /// The commit analysed: 40 lower-case hex digits.
    pub(super) sha: String,
    token: String,
}

impl Destination {
    /// Resolves and checks the destination and the token from the flags and the process
    /// environment; every problem found is returned.
    pub(super) fn resolve(args: &UploadArgs) -> Result<Self, Vec<DestinationError>> {
        Self::resolve_with(args, |name| std::env::var(name).ok())
    }

    /// [`Self::resolve`] with `variable` in place of the process environment.
    fn resolve_with(
        args: &UploadArgs,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<DestinationError>> {
        let token = variable(TOKEN_VARIABLE)
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        let masked = |value: &str| mask(value, &token);
        // A flag, else the variable (an empty one counts as unset), and which of the two it was.
        let given = |flag: Option<&str>, setting: Setting| {
            if let Some(value) = flag {
                return Some((value.trim().to_string(), SetBy::Flag(setting.flag)));
            }
            variable(setting.variable)
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
                .map(|value| (value, SetBy::Variable(setting.variable)))
        };

        let repository = given(args.repo.as_deref(), REPOSITORY)
            .ok_or(DestinationError::NoRepository)
            .and_then(|(value, set_by)| {
                split_repo(&value)
                    .map(|(owner, repo)| (owner.to_string(), repo.to_string()))
                    .ok_or_else(|| DestinationError::NotARepository {
                        set_by,
                        value: masked(&value),
                    })
            });
        let git_ref = given(args.git_ref.as_deref(), GIT_REF)
            .ok_or(DestinationError::NoGitRef)
            .and_then(|(value, set_by)| {
                if is_full_ref(&value) {
                    Ok(value)
                } else {
                    Err(DestinationError::NotAFullGitRef {
                        set_by,
                        value: masked(&value),
                    })
                }
            });
        let sha = given(args.sha.as_deref(), COMMIT)
            .ok_or(DestinationError::NoCommit)
            .and_then(|(value, set_by)| {
                if value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(value.to_ascii_lowercase())
                } else {
                    Err(DestinationError::NotACommit {
                        set_by,
                        value: masked(&value),
                    })
                }
            });
        let api = match given(args.api_url.as_deref(), API_URL) {
            None => Ok(DEFAULT_API_URL.to_string()),
            Some((value, set_by)) => {
                check_api_url(&value).map_err(|problem| DestinationError::BadApiUrl {
                    set_by,
                    value: masked(&value),
                    problem,
                })
            }
        };
        let token_check = if token.is_empty() {
            Err(DestinationError::NoToken)
        } else if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
            Err(DestinationError::TokenNotClean)
        } else {
            Ok(())
        };

        match (repository, git_ref, sha, api, token_check) {
            (Ok((owner, repo)), Ok(git_ref), Ok(sha), Ok(api), Ok(())) => Ok(Self {
                api,
                owner,
                repo,
                git_ref,
                sha,
                token,
            }),
            (repository, git_ref, sha, api, token_check) => Err([
                repository.err(),
                git_ref.err(),
                sha.err(),
                api.err(),
                token_check.err(),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }

    /// `OWNER/NAME`, as messages name the repository.
    pub(super) fn owner_repo(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// The endpoint SARIF is posted to; an upload's status is below it.
    pub(super) fn sarifs_url(&self) -> String {
        format!(
            "{}/repos/{}/{}/code-scanning/sarifs",
            self.api, self.owner, self.repo
        )
    }

    /// The commit shortened to 12 digits, for progress messages.
    pub(super) fn short_sha(&self) -> &str {
        self.sha.get(..12).unwrap_or(&self.sha)
    }

    /// The `Authorization` header's value. The one place the token leaves this type.
    pub(super) fn authorization(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Replaces every occurrence of the token in `text` (a server could echo it back).
    pub(super) fn mask(&self, text: &str) -> String {
        mask(text, &self.token)
    }
}

fn mask(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "***")
    }
}

/// `owner/name` with GitHub's characters for each part.
fn split_repo(s: &str) -> Option<(&str, &str)> {
    let (owner, name) = s.split_once('/')?;
    let ok = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (ok(owner) && ok(name)).then_some((owner, name))
}

/// `refs/...`, as GitHub's `ref` field requires (a bare branch name is refused).
fn is_full_ref(s: &str) -> bool {
    s.len() > "refs/".len()
        && s.starts_with("refs/")
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Normalises the API base URL, refusing to send the token in clear text off this machine.
fn check_api_url(s: &str) -> Result<String, ApiUrlError> {
    let url = s.trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or(ApiUrlError::NotAUrl)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || url.contains(['?', '#']) {
        return Err(ApiUrlError::NotABaseUrl);
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiUrlError::Whitespace);
    }
    match scheme {
        "https" => Ok(url.to_string()),
        "http" if is_loopback(host) => Ok(url.to_string()),
        "http" => Err(ApiUrlError::PlainHttp),
        _ => Err(ApiUrlError::NotHttps),
    }
}

fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    const TOKEN: &str = "ghs_UnitTestToken42";
    const SHA: &str = "0123456789ABCDEF0123456789abcdef01234567";

    fn args(repo: Option<&str>, git_ref: Option<&str>, sha: Option<&str>) -> UploadArgs {
        UploadArgs {
            sarif: PathBuf::from("x.sarif"),
            repo: repo.map(str::to_string),
            git_ref: git_ref.map(str::to_string),
            sha: sha.map(str::to_string),
            api_url: None,
            category: None,
            checkout_uri: None,
            started_at: None,
            wait_timeout: Duration::ZERO,
            poll_interval: Duration::ZERO,
            no_wait: true,
        }
    }

    fn messages(result: Result<Destination, Vec<DestinationError>>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn flags_win_over_variables_and_the_sha_is_lower_cased() {
        let env = |name: &str| match name {
            "GITHUB_TOKEN" => Some(format!(" {TOKEN}\n")),
            "GITHUB_REPOSITORY" => Some("env-org/env-repo".to_string()),
            "GITHUB_REF" => Some("refs/heads/from-env".to_string()),
            _ => None,
        };
        let Ok(d) = Destination::resolve_with(&args(Some(" octo-org/blog "), None, Some(SHA)), env)
        else {
            panic!("the destination should resolve");
        };
        assert_eq!(d.owner_repo(), "octo-org/blog");
        assert_eq!(d.git_ref, "refs/heads/from-env");
        assert_eq!(d.sha, SHA.to_ascii_lowercase());
        assert_eq!(d.short_sha(), "0123456789ab");
        assert_eq!(
            d.sarifs_url(),
            "https://api.github.com/repos/octo-org/blog/code-scanning/sarifs"
        );
        assert_eq!(d.authorization(), format!("Bearer {TOKEN}"));
        assert_eq!(d.mask(&format!("a {TOKEN} b {TOKEN}")), "a *** b ***");
    }

    #[test]
    fn every_problem_is_reported_in_order_and_the_token_never_appears() {
        let env = |name: &str| match name {
            "GITHUB_TOKEN" => Some(TOKEN.to_string()),
            "GITHUB_API_URL" => Some(format!("http://example.com/{TOKEN}")),
            _ => None,
        };
        let problems = messages(Destination::resolve_with(
            &args(Some(TOKEN), Some(TOKEN), Some(TOKEN)),
            env,
        ));
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("--repo `***` is not a repository"));
        // The branch-name hint quotes the masked value too.
        assert!(problems[1].starts_with("--ref `***` is not a full Git ref"));
        assert!(problems[1].ends_with("(did you mean refs/heads/***?)"));
        assert!(problems[2].starts_with("--sha `***` is not a commit SHA"));
        assert!(problems[3].starts_with("$GITHUB_API_URL `http://example.com/***` uses plain http"));
        assert!(problems.iter().all(|p| !p.contains(TOKEN)), "{problems:#?}");
    }

    #[test]
    fn nothing_given_names_each_flag_and_variable() {
        let problems = messages(Destination::resolve_with(&args(None, None, None), |_| None));
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("no repository: pass --repo"));
        assert!(problems[1].starts_with("no Git ref: pass --ref"));
        assert!(problems[2].starts_with("no commit: pass --sha"));
        assert!(problems[3].contains("`env: GITHUB_TOKEN: ${{ github.token }}`"));
    }

    #[test]
    fn api_urls_keep_the_token_off_the_network() {
        assert_eq!(
            check_api_url("https://ghe.example.com/api/v3/")
                .ok()
                .as_deref(),
            Some("https://ghe.example.com/api/v3")
        );
        assert!(check_api_url("http://127.0.0.1:8080").is_ok());
        assert!(check_api_url("http://[::1]:8080").is_ok());
        assert!(check_api_url("http://localhost").is_ok());
        for (url, expected) in [
            ("api.github.com", "is not a URL"),
            (
                "https://user@ghe.example.com",
                "is not a plain API base URL",
            ),
            (
                "https://ghe.example.com/?x=1",
                "is not a plain API base URL",
            ),
            ("https://ghe.example.com/a b", "contains whitespace"),
            ("http://ghe.example.com", "uses plain http"),
            ("ftp://ghe.example.com", "must start with https://"),
        ] {
            let problem = check_api_url(url).err().map(|e| e.to_string());
            assert!(
                problem.as_deref().is_some_and(|p| p.starts_with(expected)),
                "{url}: {problem:?}"
            );
        }
    }
}
