/* Word vectors in text form: GloVe ("word v1 ... vD" per line) and
 * word2vec's text format (the same lines after a "count dim" header line).
 * Every line must carry the same number of values (the first vector's, or
 * the header's dim); a line that does not is an error naming file:line.
 * Errors are one line naming the file; nothing is allocated on failure. */
#ifndef TENSORCOOK_WORD_VECTORS_H
#define TENSORCOOK_WORD_VECTORS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t n;    /* words */
    int dim;      /* values per word */
    char **word;  /* n malloc'd strings */
    float *vec;   /* n x dim, row-major */
} tc_word_vectors;

/* max_words > 0 keeps only the first max_words words (GloVe files are large). */
tc_status tc_word_vectors_read(const char *path, int64_t max_words, tc_word_vectors *out);
/* Index of word, or -1 (linear search; build a hash outside for many looks-ups). */
int64_t tc_word_vectors_find(const tc_word_vectors *wv, const char *word);
void tc_word_vectors_free(tc_word_vectors *wv);

#ifdef __cplusplus
}
#endif
#endif
