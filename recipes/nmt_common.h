/* Shared by the nmt recipes (nmt, attention, nmt-infer, nmt-data). */
#ifndef TC_RECIPES_NMT_COMMON_H
#define TC_RECIPES_NMT_COMMON_H

#include <stdint.h>

/* The gettext corpus of LANG in tensorflow/nmt's layout under out; prints
 * one line of counts. counts: pairs, train, dev, test; vocab: en, LANG.
 * Returns 0, or 1 after printing the error. */
int nmt_data_build(const char *cmd, const char *root, const char *lang, double dev, double test, long long min_count,
                   const char *out, int64_t counts[4], int64_t vocab[2]);

#endif
