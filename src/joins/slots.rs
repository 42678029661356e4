//! Writes to distinct positions of one slice from several threads: how the customer index
//! and the joins place rows that each thread owns without locks.

/// Writes to distinct positions of one slice from several threads.
pub(super) struct DisjointSlots<'a, T> {
    ptr: *mut T,
    pub(super) len: usize,
    _slice: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: the slots only hand out writes, and callers promise distinct positions.
unsafe impl<T: Send> Sync for DisjointSlots<'_, T> {}

impl<'a, T> DisjointSlots<'a, T> {
    pub(super) fn new(slice: &'a mut [T]) -> Self {
        DisjointSlots {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _slice: std::marker::PhantomData,
        }
    }

    /// Writes `value` at `i` (bounds-checked).
    ///
    /// # Safety
    /// No other write to `i` may happen concurrently, and `T` must not need dropping
    /// (the old value is overwritten, not dropped).
    pub(super) unsafe fn write(&self, i: usize, value: T) {
        assert!(i < self.len, "slot {i} out of {}", self.len);
        // SAFETY: in bounds (checked above); exclusive per the caller's promise.
        unsafe { self.ptr.add(i).write(value) }
    }
}
