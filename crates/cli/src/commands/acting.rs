//! The account a command acts on, and how a command that queues an action reports what
//! became of it: delivered, refused, or waiting (for the server, or for a new sign-in).

use std::sync::Arc;

use spartex_core::actions::OutboxKind;
use spartex_core::session::{blocking_secret, tokens_key};
use spartex_core::{Account, CoreError, Outcome, OutcomeResult, Queued, SecretStore};

use super::print;
use crate::out::outln;
use crate::{CliResult, Ended};

/// The account a command acts on, and the secret store its sign-in is kept in.
pub(super) struct Acting<'a> {
    pub(super) account: &'a Account,
    pub(super) secrets: &'a Arc<dyn SecretStore>,
}

/// What became of an action the core queued and tried to deliver at once.
pub(super) enum Fate<'q> {
    /// The server took it.
    Delivered,
    /// The server refused it: the outcome says why; it has left the outbox and its local
    /// effect is undone.
    Refused(&'q Outcome),
    /// It waits in the outbox, and only a new sign-in sends it: the session has ended.
    SignedOut,
    /// It waits in the outbox for the server (unreachable, busy, or failing it).
    Waiting,
}

impl Acting<'_> {
    /// Whether this account's sign-in has ended. The core forgets the tokens of a session the
    /// server refused, and without them sends nothing until `spartex login`. Only whether they
    /// are there leaves the secret store's call; a store that cannot be read says nothing.
    async fn signed_out(&self) -> bool {
        let key = tokens_key(&self.account.info().id);
        blocking_secret(self.secrets, move |store| Ok(store.get(&key)?.is_none()))
            .await
            .unwrap_or(false)
    }

    pub(super) async fn fate<'q>(&self, queued: &'q Queued) -> Fate<'q> {
        match &queued.outcome {
            Some(outcome) if outcome.result != OutcomeResult::Delivered => Fate::Refused(outcome),
            _ if queued.delivered => Fate::Delivered,
            _ if self.signed_out().await => Fate::SignedOut,
            _ => Fate::Waiting,
        }
    }

    /// Says what became of a queued action, and ends the command by it: 0 delivered,
    /// 4 refused, 3 signed out (it waits for `spartex login`), 5 waiting for the server.
    /// Every command that queues an action reports through here.
    pub(super) async fn report(&self, queued: &Queued, json: bool) -> CliResult<Ended> {
        let fate = self.fate(queued).await;
        report_queued(queued, &fate, json)
    }
}

pub(super) fn report_queued(queued: &Queued, fate: &Fate<'_>, json: bool) -> CliResult<Ended> {
    let label = &queued.entry.label;
    let stop = queued.entry.kind == OutboxKind::Stop;
    let because = || {
        queued
            .waiting_because
            .as_deref()
            .map(|r| format!("\n  ({r})"))
            .unwrap_or_default()
    };
    print(json, queued, || match fate {
        Fate::Delivered => match &queued.outcome {
            Some(outcome) => outln!("{}", outcome.message),
            None => outln!("{label} — delivered."),
        },
        Fate::Refused(outcome) => {
            outln!("{} — not applied: {}", outcome.action, outcome.message)
        }
        Fate::SignedOut if stop => outln!(
            "!! {label} is NOT DELIVERED: this sign-in has ended. It waits at the front of the \
             outbox and is sent once you sign in again (`spartex login`, then `spartex sync`)."
        ),
        Fate::SignedOut => outln!(
            "{label} — not delivered: this sign-in has ended. It waits in the outbox and is sent \
             once you sign in again (`spartex login`, then `spartex sync`)."
        ),
        Fate::Waiting if stop => outln!(
            "!! {label} is NOT YET DELIVERED. It waits at the front of the outbox and is sent \
             the moment the server takes it (`spartex watch` or `spartex sync`).{}",
            because()
        ),
        Fate::Waiting => outln!(
            "{label} — queued offline; it will be delivered once when the link returns \
             (`spartex sync` or `spartex watch`).{}",
            because()
        ),
    });
    match fate {
        Fate::Delivered => Ok(Ended::Done),
        Fate::Refused(_) => Ok(Ended::Refused),
        Fate::SignedOut => Err(CoreError::SignedOut {
            message: queued
                .waiting_because
                .clone()
                .unwrap_or_else(|| "This sign-in has ended.".to_owned()),
        }
        .into()),
        Fate::Waiting => Ok(Ended::QueuedOffline),
    }
}
