//! The push flags: which push services the server sends through, and with what credentials.

use std::path::PathBuf;
use std::time::Duration;

use spartex_server::config::{ApnsSettings, FcmSettings, PushSettings};

#[derive(Debug, clap::Args)]
pub struct PushFlags {
    /// Allow Web Push endpoints on plain http:// and on loopback or private addresses. For
    /// local tests only: in production it lets a client make the server call its own network.
    #[arg(long, env = "SPARTEX_INSECURE_PUSH_ENDPOINTS", value_parser = clap::builder::BoolishValueParser::new())]
    insecure_push_endpoints: bool,
    /// Who Web Push services may contact about this server (VAPID `sub`).
    #[arg(
        long,
        env = "SPARTEX_PUSH_CONTACT",
        default_value = "mailto:push@spartex.invalid"
    )]
    push_contact: String,
    /// Seconds one push attempt may take before it is retried.
    #[arg(long, env = "SPARTEX_PUSH_TIMEOUT_S", default_value_t = 10)]
    push_timeout_s: u64,
    /// APNs token key (`AuthKey_XXXXXXXXXX.p8`) from Apple's developer account.
    #[arg(long, env = "SPARTEX_APNS_KEY_FILE", requires_all = ["apns_key_id", "apns_team_id", "apns_topic"])]
    apns_key_file: Option<PathBuf>,
    /// The key's id (the ten characters in its file name).
    #[arg(long, env = "SPARTEX_APNS_KEY_ID")]
    apns_key_id: Option<String>,
    /// The Apple developer team id.
    #[arg(long, env = "SPARTEX_APNS_TEAM_ID")]
    apns_team_id: Option<String>,
    /// The app's bundle id (`apns-topic`).
    #[arg(long, env = "SPARTEX_APNS_TOPIC")]
    apns_topic: Option<String>,
    /// Replaces APNs' hosts, for a test double of the APNs API.
    #[arg(long, env = "SPARTEX_APNS_ENDPOINT")]
    apns_endpoint: Option<String>,
    /// FCM: the Google service account's JSON key file (Firebase console → Project settings →
    /// Service accounts).
    #[arg(long, env = "SPARTEX_FCM_SERVICE_ACCOUNT")]
    fcm_service_account: Option<PathBuf>,
    /// Replaces `https://fcm.googleapis.com`, for a test double of the FCM API.
    #[arg(long, env = "SPARTEX_FCM_ENDPOINT")]
    fcm_endpoint: Option<String>,
}

impl PushFlags {
    pub fn settings(self) -> PushSettings {
        let apns = match (
            self.apns_key_file,
            self.apns_key_id,
            self.apns_team_id,
            self.apns_topic,
        ) {
            (Some(key_file), Some(key_id), Some(team_id), Some(topic)) => Some(ApnsSettings {
                key_file,
                key_id,
                team_id,
                topic,
                endpoint: self.apns_endpoint,
            }),
            _ => None,
        };
        PushSettings {
            insecure_endpoints: self.insecure_push_endpoints,
            contact: self.push_contact,
            apns,
            fcm: self
                .fcm_service_account
                .map(|service_account_file| FcmSettings {
                    service_account_file,
                    endpoint: self.fcm_endpoint,
                }),
            send_timeout: Duration::from_secs(self.push_timeout_s.clamp(1, 120)),
        }
    }
}
