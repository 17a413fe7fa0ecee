//! Presentation: everything that turns model data into text for people or machines. Renderers
//! take a `&mut impl Write` (or return a `String`) so every one is tested against a buffer.

pub mod address;
pub mod detail;
pub mod diagram;
pub mod doctor;
pub mod explain;
pub mod ladder;
pub mod metrics;
pub mod page;
pub mod release;
pub mod safe;
pub mod summary;
pub mod svg;
pub mod table;
pub mod time;
pub mod top;
pub mod trace;
pub mod wrap;
