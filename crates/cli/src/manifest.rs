//! The Slack app manifest: creating or updating the Slack app becomes one paste.
//!
//! Scopes are what the functions call (and nothing more): channel creation and membership
//! (`channels:manage`, `groups:write`), reading channels and their messages
//! (`channels:read`, `groups:read`, `channels:history`, `groups:history`), posting
//! (`chat:write`), people (`users:read`, `users:read.email`, `usergroups:read`), files
//! (`files:read`, `files:write`) and the slash command (`commands`). The Home tab needs none
//! of its own: `app_home_opened` and `views.publish` are scope-free, and the person's channels
//! come from `users.conversations` (`channels:read`, `groups:read`).

use serde_json::{Value, json};

/// Bot token scopes the functions need.
pub const BOT_SCOPES: [&str; 13] = [
    "channels:manage",
    "groups:write",
    "chat:write",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",
    "files:read",
    "files:write",
    "commands",
    "usergroups:read",
];

/// Bot events the events handler subscribes to (`app_home_opened`: the Home tab).
pub const BOT_EVENTS: [&str; 6] = [
    "message.channels",
    "message.groups",
    "member_joined_channel",
    "member_left_channel",
    "file_shared",
    "app_home_opened",
];

pub const SLASH_COMMAND: &str = "/security-ir";
pub const SLASH_COMMAND_DESCRIPTION: &str = "Manage AWS Security Incident Response cases";
pub const SLASH_COMMAND_USAGE_HINT: &str =
    "[create|status|update-status|update-description|update-title|close|summarize] [args]";
/// The global shortcut that opens the declare modal (its `callback_id` is the events
/// handler's `DECLARE_SHORTCUT_CALLBACK_ID`).
pub const DECLARE_SHORTCUT_CALLBACK_ID: &str = "declare_security_incident";
/// The shortcut's name in Slack's shortcut menu.
pub const DECLARE_SHORTCUT_NAME: &str = "Declare a security incident";
/// The message shortcut that sends a message to a case (its `callback_id` is the mapper's
/// `SEND_TO_CASE_SHORTCUT_ID`).
pub const SEND_TO_CASE_SHORTCUT_CALLBACK_ID: &str = "send_to_case";
/// The message shortcut's name in a message's "More actions" menu.
pub const SEND_TO_CASE_SHORTCUT_NAME: &str = "Send to SIR case";
pub const DEFAULT_APP_NAME: &str = "AWS Security IR Integration";

/// The manifest format to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ManifestFormat {
    Yaml,
    Json,
}

/// The manifest of the Slack app. Without an endpoint (before the first deploy) it has the bot
/// user and the scopes but no request URLs: Slack refuses event subscriptions, a slash command or
/// interactivity without one.
pub fn manifest(app_name: &str, endpoint: Option<&str>) -> Value {
    let bot_display_name: String = app_name.chars().take(80).collect();
    let mut features = json!({
        "bot_user": {
            "display_name": bot_display_name,
            "always_online": true,
        },
        // The Home tab lists a person's open cases. The Messages tab only shows what the app
        // tells a person directly (a declared case's ID); people cannot write to it.
        "app_home": {
            "home_tab_enabled": true,
            "messages_tab_enabled": true,
            "messages_tab_read_only_enabled": true,
        },
    });
    let mut settings = json!({
        "org_deploy_enabled": false,
        "socket_mode_enabled": false,
        "token_rotation_enabled": false,
    });
    if let Some(url) = endpoint {
        features["slash_commands"] = json!([{
            "command": SLASH_COMMAND,
            "url": url,
            "description": SLASH_COMMAND_DESCRIPTION,
            "usage_hint": SLASH_COMMAND_USAGE_HINT,
            "should_escape": false,
        }]);
        features["shortcuts"] = json!([
            {
                "name": DECLARE_SHORTCUT_NAME,
                "type": "global",
                "callback_id": DECLARE_SHORTCUT_CALLBACK_ID,
                "description": "Open a SIR case from a form, with its own Slack channel",
            },
            {
                "name": SEND_TO_CASE_SHORTCUT_NAME,
                "type": "message",
                "callback_id": SEND_TO_CASE_SHORTCUT_CALLBACK_ID,
                "description": "Add this message, its author and link to one of your open SIR cases",
            },
        ]);
        settings["event_subscriptions"] = json!({
            "request_url": url,
            "bot_events": BOT_EVENTS,
        });
        // The options-load URL answers the "Send to SIR case" case picker (an external
        // select): the same endpoint, routed by the payload's type.
        settings["interactivity"] = json!({
            "is_enabled": true,
            "request_url": url,
            "message_menu_options_url": url,
        });
    }
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": app_name,
            "description": "Syncs AWS Security Incident Response cases with Slack channels",
            "background_color": "#232f3e",
        },
        "features": features,
        "oauth_config": {
            "scopes": { "bot": BOT_SCOPES },
        },
        "settings": settings,
    })
}

/// The manifest as text in `format`.
pub fn render(manifest: &Value, format: ManifestFormat) -> String {
    match format {
        // Serialising a `Value` cannot fail.
        ManifestFormat::Json => {
            let mut text = serde_json::to_string_pretty(manifest).unwrap_or_default();
            text.push('\n');
            text
        }
        ManifestFormat::Yaml => to_yaml(manifest),
    }
}

/// Block-style YAML for a JSON value. Strings are written as JSON strings, which are valid YAML
/// double-quoted scalars, so no value (a URL, `#232f3e`, `[status|...]`) can change meaning.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(key));
        out.push(':');
        write_nested(out, value, indent + 2);
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key goes on the dash's line, the others line up under it.
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&key_text(key));
                    out.push(':');
                    write_nested(out, value, indent + 4);
                }
            }
            other => write_nested(out, other, indent + 2),
        }
    }
}

/// Writes what follows `key:` or `-`: a scalar on the same line, a collection on the next lines.
fn write_nested(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn key_text(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        // Null, booleans, numbers and strings print as JSON, which YAML reads the same.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://abc.execute-api.eu-west-1.amazonaws.com/prod/slack/events";

    #[test]
    fn the_endpoint_fills_events_the_command_and_interactivity() {
        let manifest = manifest(DEFAULT_APP_NAME, Some(URL));
        assert_eq!(
            manifest["settings"]["event_subscriptions"]["request_url"],
            URL
        );
        assert_eq!(manifest["settings"]["interactivity"]["request_url"], URL);
        assert_eq!(manifest["settings"]["interactivity"]["is_enabled"], true);
        let command = &manifest["features"]["slash_commands"][0];
        assert_eq!(command["command"], "/security-ir");
        assert_eq!(command["url"], URL);
        assert_eq!(
            manifest["settings"]["event_subscriptions"]["bot_events"],
            json!(BOT_EVENTS)
        );
        assert_eq!(manifest["oauth_config"]["scopes"]["bot"], json!(BOT_SCOPES));
    }

    #[test]
    fn scopes_include_reading_messages_and_exclude_what_the_code_never_calls() {
        for needed in [
            "channels:history",
            "groups:history",
            "users:read.email",
            "commands",
        ] {
            assert!(BOT_SCOPES.contains(&needed), "{needed}");
        }
        for unneeded in ["im:read", "mpim:read", "channels:join", "admin"] {
            assert!(!BOT_SCOPES.contains(&unneeded), "{unneeded}");
        }
    }

    /// The local world's Slack stand-in gives its bot token exactly these scopes, so a method
    /// the functions call without its scope in the manifest fails in every test.
    #[test]
    fn the_slack_standin_token_has_exactly_the_manifest_scopes() {
        let mut manifest: Vec<&str> = BOT_SCOPES.to_vec();
        let mut standin: Vec<&str> = slack_standin::DEFAULT_BOT_SCOPES.to_vec();
        manifest.sort_unstable();
        standin.sort_unstable();
        assert_eq!(manifest, standin);
    }

    #[test]
    fn the_shortcuts_are_a_global_and_a_message_one_needing_only_existing_scopes() {
        let deployed = manifest(DEFAULT_APP_NAME, Some(URL));
        assert_eq!(
            deployed["features"]["shortcuts"],
            json!([
                {
                    "name": "Declare a security incident",
                    "type": "global",
                    "callback_id": "declare_security_incident",
                    "description": "Open a SIR case from a form, with its own Slack channel",
                },
                {
                    "name": "Send to SIR case",
                    "type": "message",
                    "callback_id": "send_to_case",
                    "description": "Add this message, its author and link to one of your open SIR cases",
                },
            ])
        );
        // The case picker's options load on the same endpoint.
        assert_eq!(
            deployed["settings"]["interactivity"]["message_menu_options_url"],
            URL
        );
        // users.conversations (the picker) needs channels:read and groups:read, which
        // conversations.members needed already; chat.getPermalink needs no scope.
        for scope in ["channels:read", "groups:read"] {
            assert!(BOT_SCOPES.contains(&scope), "{scope}");
        }
        assert!(BOT_SCOPES.contains(&"commands"));
        assert!(
            manifest(DEFAULT_APP_NAME, None)["features"]
                .get("shortcuts")
                .is_none(),
            "no shortcut without a request URL"
        );
    }

    #[test]
    fn the_home_tab_is_enabled_and_its_event_subscribed() {
        let manifest = manifest(DEFAULT_APP_NAME, Some(URL));
        assert_eq!(manifest["features"]["app_home"]["home_tab_enabled"], true);
        // Read-only: people see what the app tells them directly, and cannot write to it.
        assert_eq!(
            manifest["features"]["app_home"]["messages_tab_read_only_enabled"],
            true
        );
        let events = manifest["settings"]["event_subscriptions"]["bot_events"]
            .as_array()
            .expect("bot events");
        assert!(events.contains(&json!("app_home_opened")));
    }

    #[test]
    fn without_an_endpoint_there_are_no_request_urls() {
        let manifest = manifest(DEFAULT_APP_NAME, None);
        assert!(manifest["settings"].get("event_subscriptions").is_none());
        assert!(manifest["settings"].get("interactivity").is_none());
        assert!(manifest["features"].get("slash_commands").is_none());
        assert_eq!(manifest["oauth_config"]["scopes"]["bot"], json!(BOT_SCOPES));
    }

    #[test]
    fn yaml_has_block_style_and_quoted_strings() {
        let yaml = to_yaml(&manifest(DEFAULT_APP_NAME, Some(URL)));
        assert!(yaml.contains("\n  slash_commands:\n    - "), "{yaml}");
        assert!(yaml.contains("command: \"/security-ir\"\n"), "{yaml}");
        assert!(
            yaml.contains(&format!("\n      url: \"{URL}\"\n")),
            "{yaml}"
        );
        assert!(yaml.contains("\n      - \"channels:history\"\n"), "{yaml}");
        assert!(
            yaml.contains("\n  background_color: \"#232f3e\"\n"),
            "{yaml}"
        );
        assert!(yaml.contains("\n    is_enabled: true\n"), "{yaml}");
    }

    #[test]
    fn json_is_pretty_and_ends_with_a_newline() {
        let text = render(&manifest(DEFAULT_APP_NAME, Some(URL)), ManifestFormat::Json);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, manifest(DEFAULT_APP_NAME, Some(URL)));
        assert!(text.ends_with("}\n"));
    }
}
