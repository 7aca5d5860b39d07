//! What a command's failure looks like to the UI: a stable code to branch on and a sentence the
//! user can act on. Every command returns `Result<T, CommandError>`.

use serde::Serialize;
use spartex_core::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CommandError {
    /// `offline`, `signed_out`, `forbidden`, `not_found`, `conflict`, `gone`, `invalid`,
    /// `rate_limited`, `server_error`, `bad_server`, `secret_store`, `local_storage`,
    /// `account`, `local`, or `no_account` when nobody is signed in.
    pub code: String,
    pub message: String,
}

impl CommandError {
    pub fn no_account() -> Self {
        CommandError {
            code: "no_account".into(),
            message: "Nobody is signed in. Sign in to a Spartex server first.".into(),
        }
    }
}

impl From<CoreError> for CommandError {
    fn from(error: CoreError) -> Self {
        let message = match &error {
            // The core's wording points CLI users at commands; the app has buttons instead.
            CoreError::NoAccount => {
                return CommandError::no_account();
            }
            CoreError::NotCached { what, .. } => {
                format!("This {what} is not in the cache yet. It appears after the next sync.")
            }
            other => other.to_string(),
        };
        CommandError {
            code: error.code().to_owned(),
            message,
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_error_keeps_its_code_and_its_words() {
        let error = CommandError::from(CoreError::Forbidden {
            message: "Only managers and owners can resume a project.".into(),
        });
        assert_eq!(error.code, "forbidden");
        assert_eq!(
            error.message,
            "Only managers and owners can resume a project."
        );
    }

    #[test]
    fn cli_advice_is_replaced_by_words_for_the_app() {
        let error = CommandError::from(CoreError::NotCached {
            what: "approval",
            id: "ap_1".into(),
        });
        assert_eq!(error.code, "not_found");
        assert!(!error.message.contains("spartex sync"), "{}", error.message);
        assert_eq!(CommandError::from(CoreError::NoAccount).code, "no_account");
    }
}
