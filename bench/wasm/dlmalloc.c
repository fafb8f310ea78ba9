/* dlmalloc from Debian's wasi-libc (libc.a), exported as the bench's allocator ABI.
 * This file adds nothing: it only makes sure the five functions are linked and exported
 * (bench/build.ts passes -Wl,--export=... for each). */
#include <stdlib.h>
void *const asmalloc_bench_keep[] = {
  (void *)malloc, (void *)free, (void *)realloc, (void *)calloc, (void *)aligned_alloc,
};
