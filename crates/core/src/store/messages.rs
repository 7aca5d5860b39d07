//! The `messages` table: a message is kept as its columns (no JSON copy, see
//! `migrations/20261206000002_messages_as_columns.sql`), written in multi-row statements and
//! read back into the wire type.

use chrono::{DateTime, Utc};
use spartex_api::Message;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{sortable_time, StoreResult, ROWS_PER_STATEMENT};

/// The columns of a message, as `insert` writes them and a `MessageRow` reads them.
pub(super) const MESSAGE_COLUMNS: &str =
    "id, project_id, agent_id, author_kind, author_id, title, body, created_at, client_msg_id, pending";

/// Adds messages the server sent that the cache does not hold yet (a message never changes, so
/// a second copy of an id is skipped).
pub(super) async fn insert_received(
    conn: &mut SqliteConnection,
    messages: &[Message],
) -> StoreResult<()> {
    insert(conn, messages, Delivery::Received).await
}

/// Adds a message written here, shown as sending until the server's copy replaces it.
pub(super) async fn insert_pending(
    conn: &mut SqliteConnection,
    message: &Message,
) -> StoreResult<()> {
    insert(conn, std::slice::from_ref(message), Delivery::Pending).await
}

#[derive(Clone, Copy, PartialEq)]
enum Delivery {
    Received,
    Pending,
}

/// Times are kept to the microsecond (`sortable_time`), as the server's stores keep them; a
/// finer time on the wire reads back cut to the microsecond.
async fn insert(
    conn: &mut SqliteConnection,
    messages: &[Message],
    delivery: Delivery,
) -> StoreResult<()> {
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "INSERT OR IGNORE INTO messages ({MESSAGE_COLUMNS}) "
        ));
        query.push_values(chunk, |mut row, m| {
            row.push_bind(&m.id)
                .push_bind(&m.project_id)
                .push_bind(&m.agent_id)
                .push_bind(m.author_kind.as_str())
                .push_bind(&m.author_id)
                .push_bind(&m.author_name)
                .push_bind(&m.body)
                .push_bind(sortable_time(&m.created_at))
                .push_bind(&m.client_msg_id)
                .push_bind(delivery == Delivery::Pending);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One row of `messages`, as `MESSAGE_COLUMNS` selects it.
#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: String,
    project_id: String,
    agent_id: Option<String>,
    author_kind: String,
    author_id: Option<String>,
    /// The author's name: the search index reads it as `title`.
    title: String,
    body: String,
    created_at: DateTime<Utc>,
    client_msg_id: Option<String>,
    pub(super) pending: bool,
}

impl TryFrom<MessageRow> for Message {
    type Error = sqlx::Error;

    fn try_from(row: MessageRow) -> Result<Self, Self::Error> {
        Ok(Message {
            id: row.id,
            project_id: row.project_id,
            agent_id: row.agent_id,
            author_kind: row
                .author_kind
                .parse()
                .map_err(|e| sqlx::Error::ColumnDecode {
                    index: "author_kind".into(),
                    source: Box::new(e),
                })?,
            author_id: row.author_id,
            author_name: row.title,
            body: row.body,
            created_at: row.created_at,
            client_msg_id: row.client_msg_id,
        })
    }
}
