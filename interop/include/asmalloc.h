/* asmalloc.h — C interface to asmalloc, a TCMalloc-style allocator in its own wasm module.
 *
 * The standard allocation functions (malloc, free, realloc, calloc, aligned_alloc,
 * posix_memalign, malloc_usable_size, declared in <stdlib.h> and <malloc.h>) come from
 * asmalloc once interop/c/asmalloc_shim.c is compiled into the program: the shim defines them
 * (and wasi-libc's internal __libc_malloc/__libc_free/__libc_calloc), so wasm-ld never pulls
 * wasi-libc's dlmalloc.o out of libc.a. Each forwards to a function imported from the wasm
 * module "asmalloc"; the host binds that module to an asmalloc instance over the program's own
 * memory and calls its init(__heap_base) (src/interop.ts: instantiateWithHeap). See
 * interop/README.md for the compile, link and instantiate steps.
 *
 * This header adds what the standard API does not have. Include it only where those are used.
 */
#ifndef ASMALLOC_H
#define ASMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASMALLOC_IMPORT(name) __attribute__((import_module("asmalloc"), import_name(#name)))

/** Why a call was refused: the value of asmalloc_free_checked and asmalloc_last_error
 *  (assembly/config.ts, enum Status). */
enum asmalloc_status {
  ASMALLOC_OK = 0,
  ASMALLOC_FOREIGN = 1,       /* not an address the heap handed out */
  ASMALLOC_INTERIOR = 2,      /* inside a block, not at its start */
  ASMALLOC_FREE_PAGES = 3,    /* in pages the heap holds free */
  ASMALLOC_DOUBLE_FREE = 4,   /* the block is already free */
  ASMALLOC_OUT_OF_MEMORY = 5, /* memory.grow failed or the maximum is reached */
  ASMALLOC_SIZE_OVERFLOW = 6, /* calloc's n*size (or rounding up) does not fit in 32 bits */
  ASMALLOC_BAD_ALIGNMENT = 7  /* alignment not a power of two (posix_memalign: or not a multiple of 4) */
};

/** free() that says what it did: ASMALLOC_OK, or why it refused p (then nothing changed). */
ASMALLOC_IMPORT(free_checked) uint32_t asmalloc_free_checked(void *p);

/** The status of the last call that failed, cleared by reading it. */
ASMALLOC_IMPORT(last_error) uint32_t asmalloc_last_error(void);

/** Sets the heap up at heap_base (rounded up to 8 KiB). The host normally does this before the
 *  program runs; calling it again is harmless. Returns 1, or 0 if memory cannot hold the heap. */
ASMALLOC_IMPORT(init) uint32_t asmalloc_init(void *heap_base);

#ifdef __cplusplus
}
#endif

#endif /* ASMALLOC_H */
