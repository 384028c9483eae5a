//! The one custom SQL type: UUIDs, native `uuid` on PostgreSQL and `TEXT` on SQLite.

use std::fmt;

use crm_domain::status::Word;
use diesel::backend::Backend as DieselBackend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, SqlType};
use diesel::sqlite::Sqlite;
use uuid::Uuid;

use crate::db::MultiBackend;

/// SQL type of every id column.
#[derive(Debug, Clone, Copy, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct SqlUuid;

/// A UUID as stored; convert with `From`/`Into` at the edge of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = SqlUuid)]
pub struct DbUuid(pub Uuid);

impl From<Uuid> for DbUuid {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl From<DbUuid> for Uuid {
    fn from(value: DbUuid) -> Self {
        value.0
    }
}

impl fmt::Display for DbUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ToSql<SqlUuid, Pg> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        use std::io::Write;
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<SqlUuid, Pg> for DbUuid {
    fn from_sql(bytes: <Pg as DieselBackend>::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(Uuid::from_slice(bytes.as_bytes())?))
    }
}

impl ToSql<SqlUuid, Sqlite> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        // Hyphenated lower-case text, so ids read the same in `sqlite3` as in the API.
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<SqlUuid, Sqlite> for DbUuid {
    fn from_sql(bytes: <Sqlite as DieselBackend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<diesel::sql_types::Text, Sqlite>>::from_sql(bytes)?;
        Ok(Self(Uuid::parse_str(&text)?))
    }
}

impl HasSqlType<SqlUuid> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<SqlUuid>(lookup)
    }
}

impl FromSql<SqlUuid, MultiBackend> for DbUuid {
    fn from_sql(bytes: <MultiBackend as DieselBackend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<DbUuid, SqlUuid>()
    }
}

impl ToSql<SqlUuid, MultiBackend> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((SqlUuid, self));
        Ok(IsNull::No)
    }
}

/// A closed set of words (a status, a state) as stored: TEXT on both
/// backends. Reading a word the set does not know is an error naming the set
/// and the word, never a silent fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct DbWord<T: Word>(pub T);

impl<T: Word> From<T> for DbWord<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Word> std::ops::Deref for DbWord<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// `row.status == OrderStatus::Confirmed` reads as it says.
impl<T: Word> PartialEq<T> for DbWord<T> {
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

fn word_of<T: Word>(text: &str) -> deserialize::Result<DbWord<T>> {
    T::parse(text).map(DbWord).ok_or_else(|| format!("unknown {} {text:?} in the database", T::WHAT).into())
}

impl<T: Word> ToSql<diesel::sql_types::Text, Pg> for DbWord<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<diesel::sql_types::Text, Pg>>::to_sql(self.0.as_str(), out)
    }
}

impl<T: Word> FromSql<diesel::sql_types::Text, Pg> for DbWord<T> {
    fn from_sql(bytes: <Pg as DieselBackend>::RawValue<'_>) -> deserialize::Result<Self> {
        word_of(std::str::from_utf8(bytes.as_bytes())?)
    }
}

impl<T: Word> ToSql<diesel::sql_types::Text, Sqlite> for DbWord<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl<T: Word> FromSql<diesel::sql_types::Text, Sqlite> for DbWord<T> {
    fn from_sql(bytes: <Sqlite as DieselBackend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<diesel::sql_types::Text, Sqlite>>::from_sql(bytes)?;
        word_of(&text)
    }
}

impl<T: Word> FromSql<diesel::sql_types::Text, MultiBackend> for DbWord<T> {
    fn from_sql(bytes: <MultiBackend as DieselBackend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<DbWord<T>, diesel::sql_types::Text>()
    }
}

impl<T: Word> ToSql<diesel::sql_types::Text, MultiBackend> for DbWord<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((diesel::sql_types::Text, self));
        Ok(IsNull::No)
    }
}

impl<T: Word> fmt::Display for DbWord<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_domain::status::OrderStatus;

    #[test]
    fn a_stored_word_reads_back_and_an_unknown_one_is_an_error_naming_its_set() {
        assert_eq!(word_of::<OrderStatus>("confirmed").unwrap(), DbWord(OrderStatus::Confirmed));
        let err = word_of::<OrderStatus>("posted").unwrap_err().to_string();
        assert_eq!(err, "unknown order status \"posted\" in the database");
        assert!(DbWord(OrderStatus::Draft) == OrderStatus::Draft);
        assert_eq!(DbWord(OrderStatus::Cancelled).to_string(), "cancelled");
    }
}
