//! Declares `cfg(fuzzing)`, which cargo-fuzz sets, so the compiler checks its spelling.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
}
