//! deja-recorder (placeholder overview, filled in below)
