//! The app's first frame: the markup of the screen a person saw last, kept in the (encrypted)
//! cache so that the next launch can paint it before its scripts run. It is kept with the build
//! of the UI that drew it, and given back only to that build: another build's markup may name
//! styles that no longer exist.

use serde::{Deserialize, Serialize};

use super::{Store, StoreResult};

const KEY: &str = "first_frame";

/// A screen's markup as it was painted, and whether in the dark theme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptFrame {
    pub html: String,
    pub dark: bool,
}

#[derive(Serialize, Deserialize)]
struct Kept {
    ui_build: String,
    #[serde(flatten)]
    frame: KeptFrame,
}

impl Store {
    /// The first frame kept by `ui_build`, if that build kept one.
    pub async fn first_frame(&self, ui_build: &str) -> StoreResult<Option<KeptFrame>> {
        let Some(value) = self.meta(KEY).await? else {
            return Ok(None);
        };
        // A value this code cannot read is no first frame: the launch paints without one.
        Ok(serde_json::from_str::<Kept>(&value)
            .ok()
            .filter(|kept| kept.ui_build == ui_build)
            .map(|kept| kept.frame))
    }

    pub async fn keep_first_frame(&self, ui_build: &str, frame: &KeptFrame) -> StoreResult<()> {
        let kept = Kept {
            ui_build: ui_build.to_owned(),
            frame: frame.clone(),
        };
        self.set_meta(KEY, &serde_json::to_string(&kept)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::KeptFrame;
    use crate::store::tests::store;

    #[tokio::test]
    async fn a_first_frame_is_given_back_only_to_the_build_that_kept_it() {
        let (store, _dir) = store().await;
        assert_eq!(store.first_frame("b1").await.expect("reads"), None);
        let dashboard = KeptFrame {
            html: "<div>Dashboard</div>".into(),
            dark: true,
        };
        store
            .keep_first_frame("b1", &dashboard)
            .await
            .expect("kept");
        assert_eq!(
            store.first_frame("b1").await.expect("reads"),
            Some(dashboard)
        );
        assert_eq!(store.first_frame("b2").await.expect("reads"), None);

        let newer = KeptFrame {
            html: "<div>Newer</div>".into(),
            dark: false,
        };
        store.keep_first_frame("b2", &newer).await.expect("kept");
        assert_eq!(store.first_frame("b1").await.expect("reads"), None);
        assert_eq!(store.first_frame("b2").await.expect("reads"), Some(newer));
    }

    #[tokio::test]
    async fn an_unreadable_first_frame_is_none_not_an_error() {
        let (store, _dir) = store().await;
        store
            .set_meta(super::KEY, "not json")
            .await
            .expect("written");
        assert_eq!(store.first_frame("b1").await.expect("reads"), None);
    }
}
