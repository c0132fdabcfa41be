//! The launcher's allocator: a bump arena first, the system allocator after.
//!
//! musl's malloc hands freed memory back to the kernel at once and maps new
//! groups for each size class it meets, so the start path made about fifteen
//! mmap/munmap calls and took their page faults: ~80 µs of a 2.3 ms run
//! (measured side by side). Starting a container allocates ~17 KiB (~60 KiB
//! with limits), so allocations are carved from a static arena and never
//! freed; when it runs out (a long interactive session, say), the system
//! allocator serves the rest. The arena is .bss: pages never touched cost
//! nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

const SIZE: usize = 128 << 10;

#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; SIZE]>);

// SAFETY: bytes of the arena are handed out at most once (NEXT only grows,
// by compare-exchange), so no two users ever share one.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; SIZE]));
/// Offset of the first free byte.
static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct BumpThenSystem;

impl BumpThenSystem {
    fn owns(ptr: *mut u8) -> bool {
        let base = ARENA.0.get() as usize;
        (base..base + SIZE).contains(&(ptr as usize))
    }
}

// SAFETY: `alloc` returns either a block of the arena that is within it,
// aligned as asked and given out once, or the system allocator's block;
// `dealloc` passes only the latter back to the system allocator.
unsafe impl GlobalAlloc for BumpThenSystem {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = ARENA.0.get() as usize;
        // At least malloc's alignment: code written for malloc relies on it,
        // even where the Layout says less (the unwinder's exception object
        // is one: an 8-aligned Rust struct that libunwind writes with 16-byte
        // aligned SSE stores).
        let align = layout.align().max(16);
        let mut next = NEXT.load(Relaxed);
        loop {
            // Alignments are powers of two.
            let start = (base + next + align - 1) & !(align - 1);
            let end = start - base + layout.size();
            if end > SIZE {
                // SAFETY: the caller's layout, passed on unchanged.
                return unsafe { System.alloc(layout) };
            }
            match NEXT.compare_exchange_weak(next, end, Relaxed, Relaxed) {
                Ok(_) => return start as *mut u8,
                Err(now) => next = now,
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !Self::owns(ptr) {
            // SAFETY: not the arena's, so the system allocator's, with this layout.
            unsafe { System.dealloc(ptr, layout) }
            return;
        }
        // The newest block (a temporary) goes back to the arena: its pages,
        // already faulted in, serve the next allocation instead of fresh ones.
        let start = ptr as usize - ARENA.0.get() as usize;
        let _ = NEXT.compare_exchange(start + layout.size(), start, Relaxed, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::owns(ptr) {
            // The newest block grows (or shrinks) where it is: a growing Vec or
            // String does not leave a copy behind at every doubling.
            let start = ptr as usize - ARENA.0.get() as usize;
            let new_end = start + new_size;
            if new_end <= SIZE
                && NEXT.compare_exchange(start + layout.size(), new_end, Relaxed, Relaxed).is_ok()
            {
                return ptr;
            }
        }
        // SAFETY: GlobalAlloc's contract for realloc: `new_size`, rounded up to
        // `layout.align()`, does not overflow, so the layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout of non-zero size (realloc's contract).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct, each at least this long;
            // the old one is freed with the layout it was allocated with.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: BumpThenSystem = BumpThenSystem;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_one_larger_than_the_arena_comes_from_the_system() {
        let a = Box::new([1u8; 3]);
        let b = Box::new(7u64);
        assert!((&*b as *const u64 as usize).is_multiple_of(16), "malloc's alignment, whatever the layout");
        assert_eq!(*a, [1, 1, 1]);
        assert_eq!(*b, 7);
        // Larger than the whole arena: the system allocator's, and freed there.
        let big = vec![9u8; SIZE + 1];
        assert!(!BumpThenSystem::owns(big.as_ptr() as *mut u8));
        assert_eq!(big[SIZE], 9);
        // A growing Vec keeps its place while it is the newest block. Other
        // tests allocate from the same arena on other threads meanwhile, so
        // one try may find its block no longer the newest: one of many must
        // grow in place (the launcher itself has one thread).
        let mut in_place = 0;
        for _ in 0..100 {
            let mut v: Vec<u8> = Vec::with_capacity(16);
            v.push(1);
            let at = v.as_ptr();
            v.extend_from_slice(&[2; 100]);
            if BumpThenSystem::owns(at as *mut u8) && v.as_ptr() == at {
                in_place += 1;
            }
            assert_eq!(v[0], 1);
            assert_eq!(v[100], 2);
        }
        let arena_left = BumpThenSystem::owns(Box::into_raw(Box::new(0u8)));
        assert!(in_place > 0 || !arena_left, "a growing Vec never kept its place in the arena");
        let page = Layout::from_size_align(16, 4096).unwrap();
        // SAFETY: a valid layout; the block is freed with the same one.
        unsafe {
            let p = ALLOCATOR.alloc(page);
            assert!(!p.is_null() && (p as usize).is_multiple_of(4096));
            ALLOCATOR.dealloc(p, page);
        }
    }
}
