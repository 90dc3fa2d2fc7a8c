//! deja-tui (placeholder overview, filled in below)
