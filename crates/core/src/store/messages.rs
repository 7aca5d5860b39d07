//! The `messages` table: a message is kept as its columns (no JSON copy, see
//! `migrations/20261206000002_messages_as_columns.sql`), written in multi-row statements and
//! read back into the wire type.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use spartex_api::Message;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::overlapped::execute_overlapped;
use super::{sortable_time, StoreResult, ROWS_PER_STATEMENT};

/// The columns of a message, as `insert` writes them and a `MessageRow` reads them.
pub(super) const MESSAGE_COLUMNS: &str =
    "id, project_id, agent_id, author_kind, author_id, title, body, created_at, client_msg_id, pending";

/// Adds the messages the server sent, in order, that the cache does not hold yet (a message
/// never changes, so a second copy of an id is skipped), each replacing its local copy if it
/// was written here. They are taken from `received` a hundred at a time, as each statement is
/// built: a hundred is read while SQLite writes the hundred before, and `meanwhile` is called
/// while it still writes (see [`execute_overlapped`]). Returns every message taken from
/// `received`, those the cache held already included.
pub(super) async fn insert_received(
    conn: &mut SqliteConnection,
    mut received: impl Iterator<Item = Message>,
    meanwhile: impl FnMut() -> bool,
) -> StoreResult<Vec<Message>> {
    let mut inserted = Vec::new();
    let mut ready = VecDeque::with_capacity(2);
    execute_overlapped(
        conn,
        || {
            if ready.is_empty() {
                let chunk: Vec<Message> = received.by_ref().take(ROWS_PER_STATEMENT).collect();
                if chunk.is_empty() {
                    return Ok(None);
                }
                ready.extend(delete_local_copies(&chunk));
                ready.push_back(insert(&chunk, Delivery::Received));
                inserted.extend(chunk);
            }
            Ok(ready.pop_front())
        },
        meanwhile,
    )
    .await?;
    Ok(inserted)
}

/// Adds a message written here, shown as sending until the server's copy replaces it.
pub(super) async fn insert_pending(
    conn: &mut SqliteConnection,
    message: &Message,
) -> StoreResult<()> {
    insert(std::slice::from_ref(message), Delivery::Pending)
        .build()
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Delivery {
    Received,
    Pending,
}

/// The messages' rows, as owned values: the statement is built while the one before runs.
/// Times are kept to the microsecond (`sortable_time`), as the server's stores keep them; a
/// finer time on the wire reads back cut to the microsecond.
fn insert(messages: &[Message], delivery: Delivery) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "INSERT OR IGNORE INTO messages ({MESSAGE_COLUMNS}) "
    ));
    query.push_values(messages, |mut row, m| {
        row.push_bind(m.id.clone())
            .push_bind(m.project_id.clone())
            .push_bind(m.agent_id.clone())
            .push_bind(m.author_kind.as_str())
            .push_bind(m.author_id.clone())
            .push_bind(m.author_name.clone())
            .push_bind(m.body.clone())
            .push_bind(sortable_time(&m.created_at))
            .push_bind(m.client_msg_id.clone())
            .push_bind(delivery == Delivery::Pending);
    });
    query
}

/// Deletes the local copies (still sending) of those of `received` that were written here.
fn delete_local_copies(received: &[Message]) -> Option<QueryBuilder<'static, Sqlite>> {
    let mut confirmed = received
        .iter()
        .filter_map(|m| m.client_msg_id.clone())
        .peekable();
    confirmed.peek()?;
    let mut query =
        QueryBuilder::new("DELETE FROM messages WHERE pending = 1 AND client_msg_id IN (");
    let mut separated = query.separated(", ");
    for id in confirmed {
        separated.push_bind(id);
    }
    query.push(")");
    Some(query)
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
            author_kind: spartex_api::open::or_unknown(&row.author_kind),
            author_id: row.author_id,
            author_name: row.title,
            body: row.body,
            created_at: row.created_at,
            client_msg_id: row.client_msg_id,
        })
    }
}
