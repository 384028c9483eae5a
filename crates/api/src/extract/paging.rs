//! The one list shape: every list answers `{items, next_cursor}` and takes
//! `limit` and `cursor`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::context::{encode_cursor, page_request};

/// Which page of a list: `limit` items after `cursor`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page asked for; a limit out of range or a cursor this server did
    /// not issue is a 400 naming the parameter.
    pub fn request(&self) -> Result<crm_app::PageRequest, ApiError> {
        page_request(self.limit, self.cursor.as_deref())
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(example = "djE6MDE5YTdjM2UtNWYxMC03YzJhLTlkMGUtM2IxZjJhNGM1ZDZl")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, next_after: Option<Uuid>) -> Self {
        Self { items, next_cursor: next_after.map(encode_cursor) }
    }

    /// A use case's page with each item shaped for the API.
    pub fn of<V>(page: crm_app::Page<V>) -> Self
    where
        T: From<V>,
    {
        let next_cursor = Self::cursor_of(&page);
        Self { items: page.items.into_iter().map(T::from).collect(), next_cursor }
    }

    /// Where the page after `page` starts: an id cursor, or a sync read's
    /// (updated_at, id) cursor.
    pub fn cursor_of<V>(page: &crm_app::Page<V>) -> Option<String> {
        match page.next_key {
            Some((at, id)) => Some(crate::extract::context::encode_sync_cursor(at, id)),
            None => page.next_after.map(encode_cursor),
        }
    }
}
