//! Hands memory the allocator holds but no longer uses back to the operating system.
//!
//! A large write allocates and frees many temporaries: the batch copied from JS, the plan, the search
//! heaps of the graph build on every rayon thread (each thread allocating from its own glibc arena). glibc
//! returns freed memory to the OS only from the top of each heap, so the free space left between
//! long-lived allocations stays resident. `malloc_trim(0)` releases every free page of every arena.
//! Other allocators (musl, macOS, Windows) return memory on their own; there this does nothing.

/// Writes with at least this many bytes of embeddings are followed by a trim (a trim costs about a
/// millisecond; small writes leave too little behind to be worth it).
pub const TRIM_AFTER_BYTES: usize = 1 << 20;

/// Releases the allocator's free pages to the OS (glibc only).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: `malloc_trim` takes no pointers and touches only the allocator's own free lists, under
    // the allocator's locks; glibc documents it as thread-safe (MT-Safe), callable at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Releases the allocator's free pages to the OS (glibc only).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
