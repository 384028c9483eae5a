//! Keyset pagination over time-ordered ids: stable while rows are being added.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Largest page a client may ask for; more is refused, not clamped.
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
    /// A sync read's place: the last row's (updated_at, id).
    pub after_key: Option<(DateTime<Utc>, Uuid)>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { after: None, limit: DEFAULT_LIMIT, after_key: None }
    }
}

impl PageRequest {
    /// The store query: one row more than asked, to learn whether a next page exists.
    pub fn query(self) -> crm_store::queries::PageQuery {
        crm_store::queries::PageQuery {
            after: self.after.map(Into::into),
            limit: i64::from(self.limit) + 1,
            ..Default::default()
        }
    }

    /// Whether this page of a syncable list is read in (updated_at, id)
    /// order: when `updated_since` is given, or a sync cursor continues one.
    pub fn syncs(self, updated_since: Option<DateTime<Utc>>) -> bool {
        updated_since.is_some() || self.after_key.is_some()
    }

    /// The store query of a syncable list (see [`PageRequest::syncs`]).
    pub fn sync_query(self, updated_since: Option<DateTime<Utc>>) -> crm_store::queries::PageQuery {
        crm_store::queries::PageQuery {
            by_updated: self.syncs(updated_since),
            after_key: self.after_key.map(|(at, id)| (at.naive_utc(), id.into())),
            ..self.query()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Id of the last item when more items follow.
    pub next_after: Option<Uuid>,
    /// For a sync read: the last item's (updated_at, id) when more follow.
    pub next_key: Option<(DateTime<Utc>, Uuid)>,
}

impl<T> Page<T> {
    /// A sync read's page continues from its last item's (updated_at, id).
    pub fn keyed(mut self, syncs: bool, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Self {
        if syncs && self.next_after.is_some() {
            self.next_key = self.items.last().map(key);
            self.next_after = None;
        }
        self
    }
}

impl<T> Page<T> {
    /// Cuts the extra row fetched by [`PageRequest::query`] and notes where the next page starts.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: PageRequest,
        id: impl Fn(&R) -> Uuid,
        map: impl FnMut(R) -> T,
    ) -> Self {
        let limit = request.limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(&id) } else { None };
        Self { items: rows.into_iter().map(map).collect(), next_after, next_key: None }
    }

    /// As [`Page::from_rows`], for views built from the whole page at once
    /// (related rows read in one query) or by a read that can fail.
    pub fn try_from_rows<R, E>(
        mut rows: Vec<R>,
        request: PageRequest,
        id: impl Fn(&R) -> Uuid,
        build: impl FnOnce(Vec<R>) -> Result<Vec<T>, E>,
    ) -> Result<Self, E> {
        let limit = request.limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(&id) } else { None };
        Ok(Self { items: build(rows)?, next_after, next_key: None })
    }
}
