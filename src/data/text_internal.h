/* Helpers shared by the text readers (not installed). */
#ifndef TC_TEXT_INTERNAL_H
#define TC_TEXT_INTERNAL_H

#include "../core/internal.h"
#include "tensorcook/text.h"
#include "tensorcook/train.h" /* tc_write_file_atomic */

/* The whole file, NUL-terminated (the NUL not counted in size). */
tc_status tc_text_read_file(const char *path, char **data, size_t *size);
/* Empty file, NUL byte or invalid UTF-8: an error naming path and line. */
tc_status tc_text_check(const char *path, const char *s, size_t n);
/* Appends item (taking ownership; NULL: out of memory) to a growing array. */
tc_status tc_text_push(char ***items, int64_t *n, int64_t *cap, char *item);
char *tc_text_dup(const char *s, size_t n);

/* A string set/map: open addressing on FNV-1a; values are int64. */
typedef struct {
    char **keys;
    int64_t *vals;
    int64_t cap, n;
} tc_strmap;
uint64_t tc_str_hash(const char *s);
/* Pointer to the value slot of key, inserting (a copy of) key with value
 * init when absent (*inserted says which); NULL when out of memory. */
int64_t *tc_strmap_put(tc_strmap *m, const char *key, int64_t init, bool *inserted);
/* NULL when absent. */
const int64_t *tc_strmap_get(const tc_strmap *m, const char *key);
void tc_strmap_free(tc_strmap *m);

#endif
