/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-container slots (container/container.h): each user's slot registers itself on first
 * use, keeps its own value, and its free_fn runs when the container is released.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "container/container.h"

static int freed_a, freed_b;

static void free_a(void *p)
{
	freed_a++;
	free(p);
}

static void free_b(void *p)
{
	freed_b++;
	free(p);
}

static struct container_slot slot_a = {.free_fn = free_a};
static struct container_slot slot_b = {.free_fn = free_b};

Test(container_slot, each_user_keeps_its_own_value_freed_with_the_container)
{
	struct container_registry *reg = NULL;
	struct container *ct = NULL;
	int *a1 = malloc(sizeof(int)), *a2 = malloc(sizeof(int)), *b = malloc(sizeof(int));

	cr_assert(a1 && a2 && b);
	cr_assert_eq(container_registry_new(NULL, NULL, &reg), 0);
	cr_assert_eq(container_registry_get(reg, getpid(), &ct), 0);

	cr_assert_null(container_slot_get(ct, &slot_a));
	cr_assert_eq(container_slot_set(ct, &slot_a, a1), a1);
	cr_assert_neq(atomic_load(&slot_a.index), 0u, "registered on first use");
	/* A second value for a filled slot is freed; the first stays. */
	cr_assert_eq(container_slot_set(ct, &slot_a, a2), a1);
	cr_assert_eq(freed_a, 1);
	cr_assert_null(container_slot_get(ct, &slot_b), "another user's slot is its own");
	cr_assert_eq(container_slot_set(ct, &slot_b, b), b);
	cr_assert_neq(atomic_load(&slot_b.index), atomic_load(&slot_a.index));
	cr_assert_eq(container_slot_get(ct, &slot_a), a1);
	cr_assert_eq(container_slot_get(ct, &slot_b), b);

	container_unref(ct);
	container_registry_free(reg);
	cr_assert_eq(freed_a, 2, "a1 freed with the container");
	cr_assert_eq(freed_b, 1);
}
