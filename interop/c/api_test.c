/* api_test.c — drives the whole C allocation API through the asmalloc shim and checks it.
 * Build and run: node interop/build.mjs api_test && node interop/run.mjs build/interop/api_test.wasm
 * Compiled with -fno-builtin so that clang does not fold malloc(SIZE_MAX) == NULL to false.
 * Prints one line per group and "api_test: N checks, 0 failures"; exits 1 on any failure. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "asmalloc.h"

static unsigned checks, failures;
#define CHECK(cond) do { checks++; if (!(cond)) { failures++; \
  printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)

extern unsigned char __heap_base;

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 31);
}
static int holds(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) if (p[i] != (unsigned char)(seed + i * 31)) return 0;
  return 1;
}

static void test_malloc(void) {
  static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 100, 1000, 4096, 8192, 65535, 65536,
                                 65537, 100000, 1 << 20, 3 << 20};
  void *ps[sizeof sizes / sizeof *sizes];
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    unsigned char *p = malloc(n);
    ps[i] = p;
    CHECK(p != NULL);
    CHECK((uintptr_t)p >= (uintptr_t)&__heap_base);   /* the heap starts above static data */
    if (n >= 16) CHECK(((uintptr_t)p & 15) == 0);
    CHECK(malloc_usable_size(p) >= n);
    fill(p, malloc_usable_size(p), i);
  }
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    CHECK(holds(ps[i], malloc_usable_size(ps[i]), i));   /* no block overlaps another */
    free(ps[i]);
  }
  free(NULL);
  CHECK(malloc_usable_size(NULL) == 0);
  errno = 0;
  CHECK(malloc(SIZE_MAX) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(malloc(SIZE_MAX - 4096) == NULL);
  CHECK(errno == ENOMEM);
  printf("malloc/free/malloc_usable_size: ok so far (%u failures)\n", failures);
}

static void test_realloc(void) {
  unsigned char *p = realloc(NULL, 40);          /* realloc(NULL, n) is malloc(n) */
  CHECK(p != NULL);
  fill(p, 40, 7);
  size_t sizes[] = {41, 64, 200, 5000, 70000, 300000, 2 << 20, 100000, 1000, 33, 40};
  size_t have = 40;
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    unsigned char *q = realloc(p, n);
    CHECK(q != NULL);
    size_t keep = have < n ? have : n;
    CHECK(holds(q, keep, 7));                    /* contents kept across realloc */
    fill(q, n, 7);
    have = n;
    p = q;
  }
  /* shrinking a large block in place and growing it back */
  unsigned char *big = malloc(1 << 20);
  fill(big, 1 << 20, 3);
  unsigned char *small = realloc(big, 200000);
  CHECK(small != NULL && holds(small, 200000, 3));
  unsigned char *again = realloc(small, 1 << 20);
  CHECK(again != NULL && holds(again, 200000, 3));
  free(again);
  /* realloc(p, 0) frees p and returns NULL */
  errno = 0;
  CHECK(realloc(p, 0) == NULL);
  CHECK(errno == 0);
  /* a failed realloc leaves the block alone */
  unsigned char *r = malloc(100);
  fill(r, 100, 9);
  errno = 0;
  CHECK(realloc(r, SIZE_MAX - 100) == NULL);
  CHECK(errno == ENOMEM);
  CHECK(holds(r, 100, 9));
  free(r);
  printf("realloc: ok so far (%u failures)\n", failures);
}

static void test_calloc(void) {
  /* memory handed back dirty must come out of calloc zeroed */
  for (size_t n = 8; n <= (1 << 20); n *= 4) {
    unsigned char *d = malloc(n);
    memset(d, 0xA5, n);
    free(d);
    unsigned char *z = calloc(1, n);
    CHECK(z != NULL);
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += z[i] != 0;
    CHECK(nz == 0);
    free(z);
  }
  unsigned *a = calloc(1000, sizeof(unsigned));
  CHECK(a != NULL);
  for (int i = 0; i < 1000; i++) CHECK(a[i] == 0);
  free(a);
  void *z0 = calloc(0, 16);
  CHECK(z0 != NULL);                              /* like malloc(0): a unique pointer */
  free(z0);
  errno = 0;
  CHECK(calloc(SIZE_MAX / 2 + 2, 2) == NULL);     /* n * size overflows 32 bits */
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(calloc(65536, 65536) == NULL);
  CHECK(errno == ENOMEM);
  printf("calloc: ok so far (%u failures)\n", failures);
}

static void test_aligned(void) {
  for (size_t align = 1; align <= 65536; align *= 2) {
    static const size_t sizes[] = {1, 16, 100, 4096, 70000};
    for (unsigned i = 0; i < 5; i++) {
      unsigned char *p = aligned_alloc(align, sizes[i]);
      CHECK(p != NULL);
      CHECK(((uintptr_t)p & (align - 1)) == 0);
      if ((uintptr_t)p & (align - 1)) printf("  aligned_alloc(%zu, %zu) = %p\n", align, sizes[i], (void *)p);
      CHECK(malloc_usable_size(p) >= sizes[i]);
      fill(p, sizes[i], (unsigned)align);
      void *q = NULL;
      CHECK(posix_memalign(&q, align < sizeof(void *) ? sizeof(void *) : align, sizes[i]) == 0);
      CHECK(q != NULL && ((uintptr_t)q & (align - 1)) == 0);
      if ((uintptr_t)q & (align - 1)) printf("  posix_memalign(%zu, %zu) = %p\n", align, sizes[i], q);
      CHECK(holds(p, sizes[i], (unsigned)align));
      free(q);
      free(p);
    }
  }
  volatile size_t bad3 = 3, bad0 = 0;               /* volatile: clang 14 crashes folding these */
  CHECK(aligned_alloc(bad3, 16) == NULL);           /* not a power of two */
  CHECK(aligned_alloc(bad0, 16) == NULL);
  void *q = (void *)1;
  CHECK(posix_memalign(&q, 2, 16) == EINVAL);       /* below sizeof(void *) */
  CHECK(posix_memalign(&q, 24, 16) == EINVAL);      /* not a power of two */
  CHECK(q == (void *)1);                            /* untouched on failure */
  CHECK(posix_memalign(&q, 64, SIZE_MAX - 64) == ENOMEM);
  CHECK(q == (void *)1);
  printf("aligned_alloc/posix_memalign: ok so far (%u failures)\n", failures);
}

static void test_checked(void) {
  unsigned char *p = malloc(64);
  CHECK(asmalloc_free_checked(p + 16) == ASMALLOC_INTERIOR);
  CHECK(asmalloc_free_checked(p) == ASMALLOC_OK);
  CHECK(asmalloc_free_checked(p) == ASMALLOC_DOUBLE_FREE);
  CHECK(asmalloc_last_error() == ASMALLOC_DOUBLE_FREE);
  CHECK(asmalloc_last_error() == ASMALLOC_OK);       /* cleared by reading */
  static char not_heap[32];
  CHECK(asmalloc_free_checked(not_heap) == ASMALLOC_FOREIGN);
  CHECK(asmalloc_init(&__heap_base) == 1);           /* already set up: harmless */
  printf("free_checked/last_error/init: ok so far (%u failures)\n", failures);
}

/* A seeded churn against a shadow record of every live block's size and fill. */
static void test_churn(void) {
  enum { SLOTS = 4096, OPS = 200000 };
  static unsigned char *blk[SLOTS];
  static size_t len[SLOTS];
  uint32_t x = 12345;
  for (unsigned op = 0; op < OPS; op++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    unsigned s = x % SLOTS;
    if (blk[s]) {
      CHECK(holds(blk[s], len[s], s));
      if (x & 0x100000) {
        size_t n = (x >> 21) % 3000 + 1;
        unsigned char *q = realloc(blk[s], n);
        CHECK(q && holds(q, n < len[s] ? n : len[s], s));
        blk[s] = q; len[s] = n; fill(q, n, s);
      } else {
        free(blk[s]); blk[s] = NULL;
      }
    } else {
      size_t n = (x >> 8) & 1 ? (x >> 9) % 256 + 1 : (x >> 9) % 20000 + 1;
      blk[s] = (x >> 30) ? malloc(n) : calloc(n, 1);
      CHECK(blk[s] != NULL);
      len[s] = n;
      fill(blk[s], n, s);
    }
  }
  for (unsigned s = 0; s < SLOTS; s++) if (blk[s]) { CHECK(holds(blk[s], len[s], s)); free(blk[s]); }
  /* libc's own callers of malloc: strdup, open_memstream */
  char *d = strdup("asmalloc");
  CHECK(d && strcmp(d, "asmalloc") == 0);
  free(d);
  printf("churn (%u ops): ok so far (%u failures)\n", (unsigned)OPS, failures);
}

int main(void) {
  test_malloc();
  test_realloc();
  test_calloc();
  test_aligned();
  test_checked();
  test_churn();
  printf("api_test: %u checks, %u failures\n", checks, failures);
  return failures ? 1 : 0;
}
