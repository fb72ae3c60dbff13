/*
 * Wycheproof vector files (tests/fixtures/wycheproof, README there) for the
 * unit tests: loaded with daemon/json.c's reader, walked test by test, and
 * tallied so every vector of a file is counted and reported.
 */
#ifndef XIKED_TESTS_WYCHEPROOF_H
#define XIKED_TESTS_WYCHEPROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/json.h"

struct wp_tally {
	const char *file;
	unsigned total, passed;
	unsigned valid, invalid, acceptable;
	unsigned refused_acceptable; /* acceptable vectors we refused */
};

/*
 * Called for one test object t of group g; returns true when our code
 * behaved as the vector says (logging the tcId and why otherwise).
 */
typedef bool (*wp_check_fn)(const struct json_value *g, const struct json_value *t,
			    struct wp_tally *tally, void *ctx);

/*
 * Loads $XIKED_FIXTURES/wycheproof/file, runs check on every test, prints
 * "file: N vectors, P passed (...)" and fails the cmocka test unless every
 * vector passed and their number equals the file's numberOfTests.
 */
void wp_run(const char *file, wp_check_fn check, void *ctx);

/* Member key of t as hex-decoded octets (malloc'd, caller frees; non-NULL even when empty). */
uint8_t *wp_hex(const struct json_value *t, const char *key, size_t *len);
/* True when t's "flags" array holds flag. */
bool wp_flag(const struct json_value *t, const char *flag);
/* t's "result": "valid", "invalid" or "acceptable". */
const char *wp_result(const struct json_value *t);
/* t's tcId (0 if absent). */
int64_t wp_tcid(const struct json_value *t);

#endif
