//! Where leads come from and how they become interests: the lead inbox and
//! wizard, channels, and the providers (e-mail, Telegram, VK, calls, forms).
//! Uses `sales`, `parties`, `identity` and `platform`.

pub mod channels;
pub mod leads;
pub mod providers;
