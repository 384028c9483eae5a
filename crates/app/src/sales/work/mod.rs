//! The work around an interest: interactions with the client, tasks for
//! people, notifications, and the interest's e-mails both ways.

mod emails;
mod interactions;
mod notifications;
mod tasks;

pub use emails::*;
pub use interactions::*;
pub use notifications::*;
pub use tasks::*;
