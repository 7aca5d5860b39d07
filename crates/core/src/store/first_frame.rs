//! The app's first frame: the markup of the screen a person saw last, kept in the (encrypted)
//! cache so that the next launch can paint it before its scripts run. It is kept with the build
//! of the UI that drew it, and given back only to that build: another build's markup may name
//! styles that no longer exist.

use serde::{Deserialize, Serialize};

use super::{Store, StoreResult};

const KEY: &str = "first_frame";

#[derive(Serialize, Deserialize)]
struct Kept {
    ui_build: String,
    html: String,
}

impl Store {
    /// The first frame kept by `ui_build`, if that build kept one.
    pub async fn first_frame(&self, ui_build: &str) -> StoreResult<Option<String>> {
        let Some(value) = self.meta(KEY).await? else {
            return Ok(None);
        };
        // A value this code cannot read is no first frame: the launch paints without one.
        Ok(serde_json::from_str::<Kept>(&value)
            .ok()
            .filter(|kept| kept.ui_build == ui_build)
            .map(|kept| kept.html))
    }

    pub async fn keep_first_frame(&self, ui_build: &str, html: &str) -> StoreResult<()> {
        let kept = Kept {
            ui_build: ui_build.to_owned(),
            html: html.to_owned(),
        };
        self.set_meta(KEY, &serde_json::to_string(&kept)?).await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::store;

    #[tokio::test]
    async fn a_first_frame_is_given_back_only_to_the_build_that_kept_it() {
        let (store, _dir) = store().await;
        assert_eq!(store.first_frame("b1").await.expect("reads"), None);

        store
            .keep_first_frame("b1", "<div>Dashboard</div>")
            .await
            .expect("kept");
        assert_eq!(
            store.first_frame("b1").await.expect("reads").as_deref(),
            Some("<div>Dashboard</div>")
        );
        assert_eq!(store.first_frame("b2").await.expect("reads"), None);

        store
            .keep_first_frame("b2", "<div>Newer</div>")
            .await
            .expect("kept");
        assert_eq!(store.first_frame("b1").await.expect("reads"), None);
        assert_eq!(
            store.first_frame("b2").await.expect("reads").as_deref(),
            Some("<div>Newer</div>")
        );
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
