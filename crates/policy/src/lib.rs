//! `spartex-policy`: the rules that must read the same wherever they run, as pure functions of
//! wire types, a person's preferences and the time. No I/O, no async.
//!
//! - [`rules`]: what may be decided ([`approval_blocker`]), which the core enforces before it
//!   queues a decision and every face consults before it offers a button.
//! - [`notifications`]: which changes deserve a notification and what it says. The desktop
//!   core runs it on the changes its cache applies; the server runs it to decide pushes.
//! - `oncall` (feature `rota`, the server's): who is on call at an instant, from a schedule in
//!   its own time zones.
//! - [`ladder`]: what an approval on an escalation ladder shows one person's own screen.
//! - [`burst`]: how many alerts one screen shows one by one before it holds the rest back and
//!   tells them as one summary.

pub mod burst;
pub mod ladder;
pub mod notifications;
#[cfg(feature = "rota")]
pub mod oncall;
pub mod rules;

pub use burst::{AlertBudget, HeldBack, Lane};
pub use ladder::{ladder_verdict, LadderVerdict};
pub use notifications::{
    approval_resolved, plain_text, select, select_named, Notification, NotificationAction,
    NotificationKind, NotificationPrefs, QuietHours, Transition,
};
#[cfg(feature = "rota")]
pub use oncall::Rota;
pub use rules::{approval_blocker, ApprovalBlocker, DecisionContext};
