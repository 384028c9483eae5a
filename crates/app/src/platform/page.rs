//! Keyset pagination over time-ordered ids: stable while rows are being added.

use uuid::Uuid;

/// Largest page a client may ask for; more is refused, not clamped.
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { after: None, limit: DEFAULT_LIMIT }
    }
}

impl PageRequest {
    /// The store query: one row more than asked, to learn whether a next page exists.
    pub fn query(self) -> crm_store::queries::PageQuery {
        crm_store::queries::PageQuery { after: self.after.map(Into::into), limit: i64::from(self.limit) + 1 }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Id of the last item when more items follow.
    pub next_after: Option<Uuid>,
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
        Self { items: rows.into_iter().map(map).collect(), next_after }
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
        Ok(Self { items: build(rows)?, next_after })
    }
}
