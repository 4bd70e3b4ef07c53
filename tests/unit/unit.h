/* unit.h - a tiny test harness: each CHECK prints nothing on success; each
 * TEST prints "PASS name" or "FAIL name: why" (read by tests/run.sh). */
#ifndef UNIT_H
#define UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_failed_now, unit_failures;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			if (!unit_failed_now) \
				printf("FAIL %s: %s:%d: %s\n", unit_name, __FILE__, __LINE__, #cond); \
			unit_failed_now = 1; \
		} \
	} while (0)

#define CHECK_STR(got, want) \
	do { \
		const char *g_ = (got), *w_ = (want); \
		if (!g_ || strcmp(g_, w_) != 0) { \
			if (!unit_failed_now) \
				printf("FAIL %s: %s:%d: got \"%s\", want \"%s\"\n", unit_name, __FILE__, __LINE__, \
				       g_ ? g_ : "(null)", w_); \
			unit_failed_now = 1; \
		} \
	} while (0)

#define TEST(name) static void name(const char *unit_name)

#define RUN(name) \
	do { \
		unit_failed_now = 0; \
		name(#name); \
		if (unit_failed_now) \
			unit_failures++; \
		else \
			printf("PASS %s\n", #name); \
	} while (0)

#define UNIT_EXIT() return unit_failures ? 1 : 0

#endif
