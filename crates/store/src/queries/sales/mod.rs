//! Queries of the sales area: scenarios, interests, their work and timeline, sales plans, e-mails.

mod calendar;
mod emails;
mod interests;
mod plans;
mod scenarios;
mod timeline;
mod work;

pub use calendar::*;
pub use emails::*;
pub use interests::*;
pub use plans::*;
pub use scenarios::*;
pub use timeline::*;
pub use work::*;
