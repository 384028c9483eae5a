//! Orders (Заказ клиента): their views, creation and changes, posting and
//! cancelling. Lines, schedules, payments and shipments are their own files
//! beside this folder.

mod crud;
mod status;
mod view;

pub use crud::*;
pub use status::*;
pub use view::*;
