//! Embeds the control catalog (`controls/*.toml`) and the report templates
//! (`report-templates/*`) into the binary, so `casefile` works from any directory and renders
//! exactly what was reviewed. Users can still point at their own directories at run time.

use std::fmt::Write as _;
use std::path::Path;

fn list(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut code = String::new();
    for (name, dir) in [("CONTROLS", "controls"), ("TEMPLATES", "report-templates")] {
        println!("cargo:rerun-if-changed={dir}");
        writeln!(code, "pub static {name}: &[(&str, &[u8])] = &[").expect("writing to a String cannot fail");
        for file in list(&Path::new(&root).join(dir).to_string_lossy()) {
            println!("cargo:rerun-if-changed={dir}/{file}");
            let abs = Path::new(&root).join(dir).join(&file);
            writeln!(code, "    ({file:?}, include_bytes!({:?})),", abs.to_string_lossy()).expect("writing to a String cannot fail");
        }
        writeln!(code, "];").expect("writing to a String cannot fail");
    }
    std::fs::write(Path::new(&out).join("embedded.rs"), code).expect("OUT_DIR is writable");
}
