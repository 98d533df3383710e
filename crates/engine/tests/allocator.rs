//! A process with an engine gives freed large blocks back to the system (glibc): a bulk load's
//! transient batch copies must not stay resident after the load. Its own test binary, so no other test
//! allocates while the resident size is read.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use engine::Engine;

/// Resident bytes of this process (`/proc/self/statm`, second field, in pages of 4 KiB).
fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 4096
}

/// A block of `bytes`, every page written (so resident), handed back.
fn touched(bytes: usize) -> Vec<u8> {
    let mut block = vec![0u8; bytes];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    block
}

#[test]
fn freed_large_blocks_leave_the_resident_set() {
    // An engine keeps a threshold the user set through the environment; this test is about its own. (The
    // only thread of this binary's only test: nothing else reads the environment meanwhile.)
    std::env::remove_var("GLIBC_TUNABLES");
    let _engine = Engine::in_memory();
    const MB: usize = 1 << 20;
    // By default glibc would serve the second block from its heap once the first was freed, and keep it.
    drop(touched(24 * MB));
    let before = resident();
    let block = touched(16 * MB);
    assert!(resident() >= before + 15 * MB, "the block is resident while it lives");
    drop(block);
    let after = resident();
    assert!(after < before + 2 * MB, "16 MiB freed, yet resident grew from {before} to {after}");
}
