/* Visual question answering data: a folder of images with questions and
 * answers, a generator of such folders (coloured shapes), and questions
 * turned into padded sequences of word vectors.
 *
 * The folder layout (what the generator writes, and what users' data
 * follows):
 *   DIR/answers.txt     the candidate answers, one a line (class i = line i)
 *   DIR/questions.tsv   IMAGE<TAB>QUESTION<TAB>ANSWER a line, IMAGE relative
 *                       to DIR, ANSWER one of answers.txt
 *   DIR/images/...      the images (JPEG or PNG)
 * Errors name the file (and line) in one line. */
#ifndef TENSORCOOK_QA_H
#define TENSORCOOK_QA_H

#include "core.h"
#include "word_vectors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int n_answers;
    char **answers;        /* n_answers */
    int64_t n_images;
    char **images;         /* n_images distinct paths (DIR/...), in order of first use */
    int64_t n;             /* questions */
    char **questions;      /* n */
    int64_t *image;        /* n: index into images */
    int *answer;           /* n: index into answers */
} tc_qa_set;

tc_qa_set *tc_qa_set_load(const char *dir);
void tc_qa_set_free(tc_qa_set *s);
/* One answer a line (blank lines are errors: a class without a name); the
 * caller frees with tc_qa_answers_free. */
tc_status tc_qa_answers_load(const char *path, int *n, char ***answers);
void tc_qa_answers_free(int n, char **answers);

/* Generated scenes: 1 to 3 shapes (circle, square, triangle) in red, green,
 * blue or yellow, each in its own quadrant of a size x size picture on a
 * noisy grey background; questions about colour ("what color is the
 * circle?"), shape ("what shape is the red object?"), count ("how many
 * shapes are there?"), position ("is the square on the left or on the
 * right?") and presence ("is there a blue triangle?"), asked only where
 * the answer is unique. Writes the folder layout above (PNG images). */
typedef struct {
    int64_t images;            /* [400] */
    int questions_per_image;   /* [3] */
    int size;                  /* [224] */
    uint64_t seed;
} tc_shapes_qa_opts;
tc_status tc_shapes_qa_generate(const char *dir, const tc_shapes_qa_opts *o);

/* A question's words: lower-cased runs of letters, digits and apostrophes
 * (punctuation and spaces separate them). At most max tokens are kept (the
 * rest is cut, as the seed does); returns the count, tokens malloc'd. */
int tc_question_tokens(const char *text, int max, char **tokens);
/* The question as max_words x wv->dim values: the n words in rows 0..n-1
 * and zero rows after them (post padding, as the seed's
 * get_question_features), or (pre_pad) zero rows first and the words in
 * the last n rows (Keras' pad_sequences default, padding='pre'); a word not
 * in wv is a zero row (spaCy's vector of an unknown word). *unknown (may be
 * NULL) counts those. */
tc_status tc_question_vectors(const tc_word_vectors *wv, const char *text, int max_words, bool pre_pad, tc_scalar *out,
                              int *unknown);
/* Random vectors (normal, std 0.4, about GloVe's spread) for the given
 * words, seeded: the offline stand-in for a GloVe file. */
tc_status tc_word_vectors_random(int64_t n, const char *const *words, int dim, uint64_t seed, tc_word_vectors *out);
/* The vectors of `words` taken from wv (rows of unknown words are zeros;
 * *unknown counts them): a small table for many look-ups. */
tc_status tc_word_vectors_subset(const tc_word_vectors *wv, int64_t n, const char *const *words, tc_word_vectors *out,
                                 int64_t *unknown);

#ifdef __cplusplus
}
#endif
#endif
