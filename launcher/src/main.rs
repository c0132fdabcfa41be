static INIT: &[u8] = include_bytes!(env!("LAUNCHER_INIT_PATH"));
fn main() { println!("{}", INIT.len()); }
