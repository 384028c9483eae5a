//! Queries of the sales area: scenarios, interests, their work and timeline, sales plans.

mod calendar;
mod interests;
mod plans;
mod scenarios;
mod timeline;
mod work;

pub use calendar::*;
pub use interests::*;
pub use plans::*;
pub use scenarios::*;
pub use timeline::*;
pub use work::*;
