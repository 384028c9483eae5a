//! The work around an interest: interactions with the client, tasks for
//! people, and notifications.

mod interactions;
mod notifications;
mod tasks;

pub use interactions::*;
pub use notifications::*;
pub use tasks::*;
