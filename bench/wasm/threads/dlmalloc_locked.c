/* The threads bench's naive peer: wasi-libc's dlmalloc (Debian's libc.a, not thread-safe) with
 * one global lock around every call. The lock is the same futex-style mutex as asmalloc's
 * (assembly/lock.ts: 0 free, 1 held, 2 held with waiters; spin 128 times, then
 * memory.atomic.wait32), so the comparison is about the allocator's design, not the lock.
 *
 * Linked with --shared-memory --import-memory: the statics (the lock word, dlmalloc's state)
 * are initialised once by wasm-ld's __wasm_init_memory. Every instance starts with the same
 * __stack_pointer, so the host sets each worker's own with set_stack_pointer() before any call. */
#include <stdlib.h>
#include <stdint.h>

static uint32_t lock_word;

static void lock_slow(void) {
  for (int i = 0; i < 128; i++) {
    uint32_t z = 0;
    if (__atomic_load_n(&lock_word, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_compare_exchange_n(&lock_word, &z, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return;
  }
  while (__atomic_exchange_n(&lock_word, 2, __ATOMIC_SEQ_CST) != 0)
    __builtin_wasm_memory_atomic_wait32((int *)&lock_word, 2, -1);
}
static inline void lock(void) {
  uint32_t z = 0;
  if (!__atomic_compare_exchange_n(&lock_word, &z, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) lock_slow();
}
static inline void unlock(void) {
  if (__atomic_fetch_sub(&lock_word, 1, __ATOMIC_SEQ_CST) != 1) {
    __atomic_store_n(&lock_word, 0, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify((int *)&lock_word, 1);
  }
}

__attribute__((export_name("locked_malloc"))) void *locked_malloc(size_t n) {
  lock(); void *p = malloc(n); unlock(); return p;
}
__attribute__((export_name("locked_free"))) void locked_free(void *p) {
  lock(); free(p); unlock();
}
/* every instance starts with the linker's __stack_pointer: give each worker its own stack */
__attribute__((export_name("set_stack_pointer"))) void set_stack_pointer(uintptr_t sp) {
  __asm__ volatile(".globaltype __stack_pointer, i32\n\tlocal.get %0\n\tglobal.set __stack_pointer" :: "r"(sp));
}
/* for the bench's lock sampler (diagnostics): where the lock word is */
__attribute__((export_name("lock_address"))) uintptr_t lock_address(void) { return (uintptr_t)&lock_word; }
