/*
 * mem.c — the large buffers a training step streams through: parameters,
 * gradients, optimizer moments, activations. Each matrix product packs its
 * operands row by row, and a 1024-wide weight row is one 4 KiB page: with
 * 4 KiB pages a product walks thousands of them and misses the TLB on most.
 * Large buffers are therefore aligned to 2 MiB and offered to the kernel as
 * transparent huge pages (Linux, where it allows them on request).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nn_internal.h"

/* The huge page size, and the size from which a buffer asks for them: the
 * part of its last huge page a buffer does not fill is memory lost, less
 * than half of the buffer from 4 MiB on. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM (2 * HUGE_PAGE)

size_t nn__alloc_big_size(size_t bytes) {
  if (bytes < HUGE_FROM) return bytes > 0 ? bytes : 1;
  return (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
}

void *nn__alloc_big(size_t bytes) {
  if (bytes < HUGE_FROM) return calloc(1, nn__alloc_big_size(bytes));
  size_t size = nn__alloc_big_size(bytes);
  void *p;
  if (posix_memalign(&p, HUGE_PAGE, size) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE); /* advice only: a refusal changes nothing else */
#endif
  memset(p, 0, bytes);
  return p;
}
