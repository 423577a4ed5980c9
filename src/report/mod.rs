//! Reports: the summary, the output files and the figures.

pub mod figures;
pub mod output;
pub mod summary;
