//! Reports: the summary, its provenance, the output folder, the figures and the HTML
//! report.

pub mod compare;
pub mod figures;
pub mod html;
pub mod network;
pub mod output;
pub mod provenance;
pub mod summary;
