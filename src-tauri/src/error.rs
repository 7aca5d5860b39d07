//! What a command's failure looks like to the UI: a stable code to branch on and a sentence the
//! user can act on. Every command returns `Result<T, CommandError>`.

use serde::Serialize;
use spartex_core::{CoreError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CommandError {
    /// What kind of failure, a closed set the UI branches on.
    pub code: ErrorKind,
    pub message: String,
}

impl CommandError {
    pub fn no_account() -> Self {
        CommandError {
            code: ErrorKind::NoAccount,
            message: "Nobody is signed in. Sign in to a Spartex server first.".into(),
        }
    }
}

impl From<CoreError> for CommandError {
    fn from(error: CoreError) -> Self {
        let message = match &error {
            // The app says what happens next in its own terms: it has buttons, not commands.
            CoreError::NoAccount => {
                return CommandError::no_account();
            }
            CoreError::NotCached { what, .. } => {
                format!("This {what} is not in the cache yet. It appears after the next sync.")
            }
            other => other.to_string(),
        };
        CommandError {
            code: error.kind(),
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
        assert_eq!(error.code, ErrorKind::Forbidden);
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
        assert_eq!(error.code, ErrorKind::NotFound);
        assert!(!error.message.contains("spartex sync"), "{}", error.message);
        assert_eq!(
            CommandError::from(CoreError::NoAccount).code,
            ErrorKind::NoAccount
        );
    }
}
