//! Queries, a folder per area (as crm-app's), a file per resource. Each takes a connection (usually inside a
//! transaction opened by `app`) and returns rows.

pub mod analytics;
pub mod documents;
pub mod identity;
pub mod intake;
pub mod parties;
pub mod platform;
pub mod sales;

// Resource modules by their short names, as the use cases call them.
pub use documents::{catalog, orders};
pub use identity::{auth, departments, users};
pub use intake::leads;
pub use parties::clients;
pub use platform::{idempotency, outbox, webhooks};

use crate::types::DbUuid;

/// Keyset page request: rows after `after` in id order, at most `limit`;
/// or, for a sync read (`by_updated`), rows after `after_key` in
/// (updated_at, id) order, so a client that resumes from its last row's
/// place misses none that changed while it paged.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageQuery {
    pub after: Option<DbUuid>,
    pub limit: i64,
    pub by_updated: bool,
    pub after_key: Option<(chrono::NaiveDateTime, DbUuid)>,
}

impl PageQuery {
    /// The first `limit` rows in id order.
    pub fn first(limit: i64) -> Self {
        PageQuery { limit, ..Default::default() }
    }
}

/// Applies a page's keyset to a boxed list query of table `$t` and orders
/// it: by id, or for a sync read by (updated_at, id).
macro_rules! keyset {
    ($q:expr, $t:ident, $page:expr) => {{
        let page: $crate::queries::PageQuery = $page;
        let mut q = $q;
        if page.by_updated {
            if let Some((at, id)) = page.after_key {
                q = q.filter($t::updated_at.gt(at).or($t::updated_at.eq(at).and($t::id.gt(id))));
            }
            q.order(($t::updated_at.asc(), $t::id.asc())).limit(page.limit)
        } else {
            if let Some(after) = page.after {
                q = q.filter($t::id.gt(after));
            }
            q.order($t::id.asc()).limit(page.limit)
        }
    }};
}
pub(crate) use keyset;
