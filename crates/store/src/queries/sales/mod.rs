//! Queries of the sales area.

mod interests;
mod scenarios;
mod timeline;
mod work;

pub use interests::*;
pub use scenarios::*;
pub use timeline::*;
pub use work::*;
