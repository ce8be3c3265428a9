/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/reqclock.h"

__thread struct reqclock *reqclock_current;
