//! Reports: the summary, its provenance, the output folder and the figures.

pub mod figures;
pub mod network;
pub mod output;
pub mod provenance;
pub mod summary;
