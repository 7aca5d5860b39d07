//! The SQL that finds documents by a [`DocFilter`], one text for SQLite and PostgreSQL (the
//! builder spells each database's placeholders).

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::DocFilter;

/// `SELECT data …` in the listing's order, or `SELECT COUNT(*) …` (see [`Select`]).
pub fn doc_query<'a, DB>(
    select: Select,
    tenant_id: &'a str,
    filter: DocFilter<'a>,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut query = QueryBuilder::<DB>::new(match select {
        Select::Data => "SELECT data FROM resources WHERE tenant_id = ",
        Select::Count => "SELECT COUNT(*) FROM resources WHERE tenant_id = ",
    });
    query
        .push_bind(tenant_id)
        .push(" AND kind = ")
        .push_bind(filter.kind.as_str());
    if let Some(project_id) = filter.project_id {
        query.push(" AND project_id = ").push_bind(project_id);
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status);
    }
    if !filter.any_status.is_empty() {
        query.push(" AND status IN (");
        let mut statuses = query.separated(", ");
        for status in filter.any_status {
            statuses.push_bind(*status);
        }
        query.push(")");
    }
    if let Some(key) = filter.lookup_key {
        query.push(" AND lookup_key = ").push_bind(key);
    }
    if let Some(before) = filter.before {
        query.push(" AND sort_key < ").push_bind(before);
    }
    if select == Select::Count {
        return query;
    }
    query.push(if filter.newest_first {
        " ORDER BY sort_key DESC, id DESC"
    } else {
        " ORDER BY sort_key, id"
    });
    if let Some(limit) = filter.limit {
        query.push(" LIMIT ").push_bind(limit);
    }
    query
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Each document's stored JSON.
    Data,
    /// How many there are, read from the indexes where they cover the filter.
    Count,
}
