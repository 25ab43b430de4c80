//! Where the bot token may be sent with a file download: Slack's file hosts, over `https`.
//!
//! A file's `url_private` / `url_private_download` come from `files.info`, and a download may be
//! redirected; the bot token is a credential for the whole workspace, so every hop is checked
//! here before a request carrying it is sent. Anything else is refused (not merely sent
//! without the token): a file that is not on Slack's file hosts is not a Slack file.
//!
//! The list is the stricter reading of Slack's documentation: every `url_private` Slack
//! documents is `https://files.slack.com/files-pri/...`; `files-edu.slack.com` (Slack for
//! Education workspaces) and `files-origin.slack.com` (the origin behind the files CDN) are the
//! other hosts Slack serves private files from. Exact host names, port 443, no wildcard (not
//! `*.slack.com`, not the public `*.slack-edge.com` CDN).
//!
//! One allowance, for the local world: the origin (scheme, host and port) of the configured
//! Web API URL when it is not Slack's own (`SLACK_API_URL` pointing at the stand-in). It adds no
//! exposure: every Web API call already sends the token there. Production never sets it.

use hyper::Uri;

use crate::client::DEFAULT_SLACK_API_URL;

/// Slack's file hosts (exact names, `https` on port 443 only).
pub const SLACK_FILE_HOSTS: &[&str] = &[
    "files.slack.com",
    "files-edu.slack.com",
    "files-origin.slack.com",
];

/// A scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(uri: &Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        // `user:password@host` is never a Slack file URL.
        if authority.as_str().contains('@') {
            return None;
        }
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(port), _) => port,
            (None, "https") => 443,
            (None, "http") => 80,
            (None, _) => return None,
        };
        Some(Self {
            host: authority.host().to_ascii_lowercase(),
            scheme,
            port,
        })
    }
}

/// Why a URL may not carry the bot token. Names the scheme and host only: never the path or
/// the query (a presigned or private URL's secret part).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme}://{host} is not one of Slack's file hosts over https")]
pub struct FileHostRefused {
    /// The URL's scheme (`?` when it has none).
    pub scheme: String,
    /// The URL's host (`?` when it has none).
    pub host: String,
}

/// The hosts a file download may send the bot token to. Built by
/// [`crate::SlackApiBuilder::build`] from the Web API URL; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileHosts {
    /// The configured Web API's origin, when it is not Slack's own.
    api_origin: Option<Origin>,
}

impl FileHosts {
    /// Slack's file hosts only.
    pub fn slack() -> Self {
        Self::default()
    }

    /// Slack's file hosts, plus the origin of `api_url` when it is not Slack's Web API.
    pub fn for_api_url(api_url: &str) -> Self {
        let api_url = api_url.trim().trim_end_matches('/');
        if api_url == DEFAULT_SLACK_API_URL {
            return Self::slack();
        }
        Self {
            api_origin: api_url.parse::<Uri>().ok().as_ref().and_then(Origin::of),
        }
    }

    /// Whether `uri` may be sent the bot token.
    pub fn check(&self, uri: &Uri) -> Result<(), FileHostRefused> {
        let refused = || FileHostRefused {
            scheme: uri.scheme_str().unwrap_or("?").to_owned(),
            host: uri.host().unwrap_or("?").to_owned(),
        };
        let origin = Origin::of(uri).ok_or_else(refused)?;
        let slack_host = origin.scheme == "https"
            && origin.port == 443
            && SLACK_FILE_HOSTS.contains(&origin.host.as_str());
        if slack_host || self.api_origin.as_ref() == Some(&origin) {
            Ok(())
        } else {
            Err(refused())
        }
    }

    /// [`FileHosts::check`] of a URL given as text; one that does not parse is refused.
    pub fn check_str(&self, url: &str) -> Result<Uri, FileHostRefused> {
        let uri: Uri = url.parse().map_err(|_| FileHostRefused {
            scheme: "?".to_owned(),
            host: "?".to_owned(),
        })?;
        self.check(&uri).map(|()| uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(hosts: &FileHosts, url: &str) -> bool {
        hosts.check_str(url).is_ok()
    }

    #[test]
    fn only_slacks_file_hosts_over_https() {
        let hosts = FileHosts::slack();
        for url in [
            "https://files.slack.com/files-pri/T1-F1/download/a.pdf",
            "https://FILES.slack.com/files-pri/T1-F1/a.pdf",
            "https://files.slack.com:443/files-pri/T1-F1/a.pdf",
            "https://files-edu.slack.com/files-pri/T1-F1/a.pdf",
            "https://files-origin.slack.com/files-pri/T1-F1/a.pdf?t=x",
        ] {
            assert!(allowed(&hosts, url), "{url}");
        }
        for url in [
            "http://files.slack.com/files-pri/T1-F1/a.pdf",
            "https://files.slack.com:8443/files-pri/T1-F1/a.pdf",
            "https://files.slack.com.evil.example/files-pri/T1-F1/a.pdf",
            "https://evil.example/files.slack.com/a.pdf",
            "https://files.slack.com@evil.example/a.pdf",
            "https://user@files.slack.com/a.pdf",
            "https://slack.com/files-pri/T1-F1/a.pdf",
            "https://a.slack-edge.com/a.pdf",
            "https://example.slack.com/files-pri/T1-F1/a.pdf",
            "ftp://files.slack.com/a.pdf",
            "/files-pri/T1-F1/a.pdf",
            "not a url",
        ] {
            assert!(!allowed(&hosts, url), "{url}");
        }
        assert_eq!(FileHosts::for_api_url(DEFAULT_SLACK_API_URL), hosts);
        assert_eq!(FileHosts::for_api_url("https://slack.com/api/"), hosts);
    }

    #[test]
    fn a_stand_in_api_url_allows_its_exact_origin() {
        let hosts = FileHosts::for_api_url("http://127.0.0.1:4567/api");
        assert!(allowed(
            &hosts,
            "http://127.0.0.1:4567/files-pri/T1-F1/a.pdf"
        ));
        assert!(allowed(
            &hosts,
            "https://files.slack.com/files-pri/T1-F1/a.pdf"
        ));
        assert!(!allowed(
            &hosts,
            "http://127.0.0.1:4568/files-pri/T1-F1/a.pdf"
        ));
        assert!(!allowed(
            &hosts,
            "https://127.0.0.1:4567/files-pri/T1-F1/a.pdf"
        ));
        assert!(!allowed(
            &hosts,
            "http://localhost:4567/files-pri/T1-F1/a.pdf"
        ));
    }

    #[test]
    fn a_refusal_names_scheme_and_host_only() {
        let refused = FileHosts::slack()
            .check_str("http://evil.example/files-pri/T1-F1/a.pdf?secret=1")
            .unwrap_err();
        let text = refused.to_string();
        assert_eq!(
            text,
            "http://evil.example is not one of Slack's file hosts over https"
        );
    }
}
