/* asmalloc_shim.c — makes a wasm32-wasi C/C++ program allocate from asmalloc.
 *
 * Compile this file into the program (clang --target=wasm32-wasi -O2 -c). It defines every
 * allocation entry point of wasi-libc's dlmalloc.o — malloc, free, calloc, realloc,
 * aligned_alloc, posix_memalign, malloc_usable_size and the internal __libc_malloc,
 * __libc_free, __libc_calloc (used by locale code and atexit) — so the linker finds them here
 * and never pulls dlmalloc.o (nor sbrk.o) from libc.a. interop/build.mjs checks the linked
 * module: no sbrk, no dlmalloc-sized code, the imports from "asmalloc" present.
 *
 * Each function forwards to the same-named function imported from module "asmalloc"; the host
 * binds it to an asmalloc instance over this program's memory (src/interop.ts). The one thing
 * added is errno = ENOMEM on failure, which C requires and the allocator module cannot set.
 * The export __asmalloc_heap_base tells the host where the program's static data and stack end,
 * so it can start the heap there (asmalloc.init(__heap_base)).
 */
#include <stddef.h>
#include <errno.h>

#define IMPORT(name) __attribute__((import_module("asmalloc"), import_name(#name)))

IMPORT(malloc) void *asmalloc_malloc_(size_t size);
IMPORT(free) void asmalloc_free_(void *p);
IMPORT(calloc) void *asmalloc_calloc_(size_t n, size_t size);
IMPORT(realloc) void *asmalloc_realloc_(void *p, size_t size);
IMPORT(aligned_alloc) void *asmalloc_aligned_alloc_(size_t align, size_t size);
IMPORT(posix_memalign) int asmalloc_posix_memalign_(void **memptr, size_t align, size_t size);
IMPORT(malloc_usable_size) size_t asmalloc_malloc_usable_size_(void *p);

extern unsigned char __heap_base;

/** Where the heap may start: the end of static data and the stack (wasm-ld's __heap_base). */
__attribute__((export_name("__asmalloc_heap_base")))
size_t asmalloc_heap_base(void) { return (size_t)&__heap_base; }

void *malloc(size_t size) {
  void *p = asmalloc_malloc_(size);
  if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
  return p;
}

void free(void *p) { asmalloc_free_(p); }

void *calloc(size_t n, size_t size) {
  void *p = asmalloc_calloc_(n, size);
  if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
  return p;
}

/** realloc(p, 0) frees p and returns NULL (as glibc does; C17 leaves it to the implementation). */
void *realloc(void *p, size_t size) {
  void *q = asmalloc_realloc_(p, size);
  if (__builtin_expect(q == NULL, 0) && size) errno = ENOMEM;
  return q;
}

void *aligned_alloc(size_t align, size_t size) {
  void *p = asmalloc_aligned_alloc_(align, size);
  if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;  /* bad alignment too: C11 says NULL only */
  return p;
}

/** Returns 0, EINVAL (alignment not a power of two multiple of sizeof(void *)) or ENOMEM;
 *  asmalloc uses WASI's errno numbers, the same as wasi-libc's. */
int posix_memalign(void **memptr, size_t align, size_t size) {
  return asmalloc_posix_memalign_(memptr, align, size);
}

size_t malloc_usable_size(void *p) { return asmalloc_malloc_usable_size_(p); }

/* wasi-libc's internal names (musl's locale code, atexit) for the same functions. */
void *__libc_malloc(size_t size) { return malloc(size); }
void __libc_free(void *p) { asmalloc_free_(p); }
void *__libc_calloc(size_t n, size_t size) { return calloc(n, size); }
