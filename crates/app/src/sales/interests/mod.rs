//! Interests: creating, reading, changing, moving along the scenario, the
//! loss approval, the timeline and the board, a file each.

mod board;
mod crud;
mod events;
mod loss;
mod moves;
mod timeline;
pub(crate) mod view;

pub use board::*;
pub use crud::*;
pub use events::*;
pub use loss::*;
pub use moves::*;
pub use timeline::*;
pub use view::*;
