/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * Makes room for one more element in an array of n used elements out of *cap, each size
 * bytes: doubles *cap (first to min) when the array is full. 0, or -ENOMEM with the array
 * and *cap untouched.
 */
int array_grow(void **array, size_t *cap, size_t n, size_t size, size_t min);

/* array_grow() for a typed array: ARRAY_GROW(d->e, d->cap, d->n, 32). */
#define ARRAY_GROW(array, cap, n, min)                                                             \
	array_grow((void **)&(array), &(cap), (n), sizeof(*(array)), (min))
