/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/array.h"

int array_grow(void **array, size_t *cap, size_t n, size_t size, size_t min)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : (min ? min : 1);
	if (want <= *cap || want > SIZE_MAX / 2 / size)
		return -ENOMEM;
	p = reallocarray(*array, want, size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = want;
	return 0;
}
