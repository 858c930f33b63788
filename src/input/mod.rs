//! Input plumbing shared by the evidence readers: record-aligned chunking with bounded
//! record size and a hash taken in the same pass ([`chunk`]), the parallel ingest of storage
//! logs with a deterministic merge ([`ingest`]), evidence given as a directory or glob
//! ([`tree`]) and the progress bar ([`progress`]).

pub mod chunk;
pub mod csv_index;
pub mod hash;
pub mod ingest;
pub mod json_scan;
pub mod mapped;
pub mod progress;
pub mod simd;
pub mod table;
pub mod tree;
