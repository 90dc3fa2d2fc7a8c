//! deja-replayer (placeholder overview, filled in below)
