//! What every handler shares: the app state, running a use case on the
//! blocking pool, authentication, versions and ETags, paging cursors, and the
//! JSON, paging and proxy rules in the files beside this one.

mod context;
mod json;
mod paging;
mod proxies;

pub use context::*;
pub use json::*;
pub use paging::*;
pub use proxies::*;
