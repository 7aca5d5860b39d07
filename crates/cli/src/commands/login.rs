//! `spartex login`: the sign-in, then the first sync, which also sends what waited for it.

use serde::Serialize;
use spartex_core::{Account, Core, CoreError, OutcomeResult, Secret};

use super::{close_cache, print};
use crate::out::outln;
use crate::{CliError, CliResult, Ended};

pub(super) async fn login(core: &Core, server: &str, email: &str, json: bool) -> CliResult<Ended> {
    let password = match std::env::var("SPARTEX_PASSWORD") {
        // A script's unset variable, expanded: no server has an empty password.
        Ok(password) if password.is_empty() => {
            return Err(CliError::Usage(
                "SPARTEX_PASSWORD is set but empty: set it to the password, or unset it to be \
                 asked for it."
                    .into(),
            ))
        }
        Ok(password) => Secret::new(password),
        Err(_) => Secret::new(
            rpassword::prompt_password(format!("Password for {email}: ")).map_err(|e| {
                CoreError::Local(format!(
                    "could not read the password: {e}. Without a terminal to ask on, give it \
                     in the SPARTEX_PASSWORD environment variable."
                ))
            })?,
        ),
    };
    let account = match core.login(server, email, &password).await {
        Ok(account) => account,
        // The sign-in itself was refused: its message says why; no advice to sign in again.
        Err(CoreError::SignedOut { message }) => return Err(CliError::SignInRefused(message)),
        Err(other) => return Err(other.into()),
    };
    let ended = sync_after_login(&account, json).await;
    close_cache(&account).await;
    ended
}

async fn sync_after_login(account: &Account, json: bool) -> CliResult<Ended> {
    let info = account.info().clone();
    if !json {
        outln!(
            "Signed in to {} as {} ({}). Account: {}",
            info.tenant.name,
            info.user.name,
            info.user.role,
            info.id
        );
        eprintln!("Syncing…");
    }
    // What waited for this sign-in (taken while the session had ended) goes now, not at the
    // next `sync` or `watch`.
    let (report, sent) = account.sync_now().await?;
    let signed_in = SignedIn {
        account: &info,
        cached_events: report.last_seq,
        sent: &sent,
    };
    print(json, &signed_in, || {
        outln!("Cached {} events; ready to work offline.", report.last_seq);
        if sent.delivered > 0 {
            outln!(
                "Delivered {} action(s) that waited for this sign-in.",
                sent.delivered
            );
        }
        for refused in sent
            .outcomes
            .iter()
            .filter(|o| o.result != OutcomeResult::Delivered)
        {
            outln!("Refused: {} ({})", refused.action, refused.message);
        }
    });
    Ok(Ended::Done)
}

/// What `spartex login --json` prints: the account, and what waited for this sign-in (taken
/// while the session had ended), delivered or refused now.
#[derive(Serialize)]
struct SignedIn<'a> {
    #[serde(flatten)]
    account: &'a spartex_core::AccountInfo,
    cached_events: i64,
    sent: &'a spartex_core::delivery::FlushReport,
}
