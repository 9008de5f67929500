/* Text data: strict UTF-8 lines, a tokenizer, vocabularies, padding and
 * length buckets, readers of labelled text (aclImdb folders, "label TAB
 * text" files, Debian package lists), token-id files, gettext .mo catalogs
 * as a parallel corpus, and corpus BLEU.
 *
 * Every reader validates UTF-8 strictly (overlong forms, surrogates and
 * code points above U+10FFFF are errors) and refuses an empty file; errors
 * are one line naming the file (and the line where there is one). Strings
 * returned by these functions are malloc'd and freed by the matching
 * *_free function. */
#ifndef TENSORCOOK_TEXT_H
#define TENSORCOOK_TEXT_H

#include "core.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- UTF-8 and lines ------------------------------------------------------ */
/* Offset of the first byte that is not part of valid UTF-8, or -1. */
int64_t tc_utf8_invalid_at(const char *s, size_t n);

/* The lines of a UTF-8 text file, without their "\n" (and a "\r" before it).
 * A final line without "\n" counts; a NUL byte is an error. */
typedef struct {
    int64_t n;
    char **line;
} tc_lines;
tc_status tc_read_lines(const char *path, tc_lines *out);
void tc_lines_free(tc_lines *l);

/* ---- tokens ------------------------------------------------------------------
 * A token is a run of characters that are neither white space nor ASCII
 * punctuation; each ASCII punctuation character is a token of its own
 * ("don't." -> don ' t .). lower: ASCII letters to lower case (other
 * characters are kept as they are). */
typedef struct {
    int64_t n;
    char **tok;
} tc_tokens;
tc_status tc_tokenize(const char *text, bool lower, tc_tokens *out);
/* White-space split only (tensorflow/nmt's data are tokenised already). */
tc_status tc_split_spaces(const char *text, tc_tokens *out);
void tc_tokens_free(tc_tokens *t);

/* ---- vocabularies ---------------------------------------------------------------
 * Ids 0.. are the special tokens, then the rest. Building: count tokens with
 * tc_vocab_count, then tc_vocab_finish keeps those seen at least min_count
 * times, most frequent first (ties: in byte order), up to max_size entries
 * in all (specials included; 0: no limit). */
typedef struct tc_vocab tc_vocab;
/* specials: n_specials tokens that take ids 0..n-1 (e.g. "<pad>", "<unk>");
 * unk_id: the id of unknown tokens (-1: unknown tokens are an error). */
tc_vocab *tc_vocab_new(int n_specials, const char *const *specials, int64_t unk_id);
tc_status tc_vocab_count(tc_vocab *v, const char *token);
tc_status tc_vocab_finish(tc_vocab *v, int64_t max_size, int64_t min_count);
/* tensorflow/nmt's vocab.* files: one token a line, "<unk>", "<s>", "</s>"
 * the first three (ids 0, 1, 2; unknown tokens map to 0). A file without
 * them, an empty file, an empty line or a repeated token is an error naming
 * the file and line. */
tc_vocab *tc_vocab_load(const char *path);
/* One token a line, written atomically. */
tc_status tc_vocab_save(const tc_vocab *v, const char *path);
int64_t tc_vocab_size(const tc_vocab *v);
/* The id of token: its own, or the unknown id (-1 when there is none). */
int64_t tc_vocab_id(const tc_vocab *v, const char *token);
bool tc_vocab_contains(const tc_vocab *v, const char *token);
const char *tc_vocab_token(const tc_vocab *v, int64_t id); /* NULL when out of range */
void tc_vocab_free(tc_vocab *v);
#define TC_UNK "<unk>"
#define TC_SOS "<s>"
#define TC_EOS "</s>"

/* ---- sequences of ids ----------------------------------------------------------- */
typedef struct {
    int64_t n;
    int64_t *len;
    int32_t **ids;
} tc_id_seqs;
void tc_id_seqs_free(tc_id_seqs *s);
/* Token-id files: one sequence a line, ids as decimal integers separated by
 * white space (an empty line is an empty sequence). Ids must lie in
 * [0, vocab_size) when vocab_size > 0. */
tc_status tc_read_id_file(const char *path, int64_t vocab_size, tc_id_seqs *out);
/* Ids of tokens through v (unknown tokens take the unknown id; an error
 * when v has none). */
tc_status tc_encode_tokens(const tc_vocab *v, const tc_tokens *t, int32_t **ids, int64_t *len);

/* Padding and truncation to maxlen (Keras' pad_sequences; TFLearn's
 * default is post/post): a long-lived [n, maxlen] tensor of ids. */
typedef struct {
    bool pad_pre;        /* padding before the ids (default: after) */
    bool truncate_pre;   /* drop the first ids of long sequences (default: the last) */
    int32_t value;       /* padding id (default 0) */
} tc_pad_opts;
tc_tensor *tc_pad_sequences(const tc_id_seqs *s, int64_t maxlen, const tc_pad_opts *o);

/* Length buckets as tensorflow/nmt's iterator_utils: width = ceil(max_len /
 * n_buckets) (max_len 0: width 10), bucket = min(n_buckets,
 * max(src_len / width, tgt_len / width)), so ids lie in [0, n_buckets]
 * (n_buckets + 1 buckets, as there). */
int tc_length_bucket(int64_t src_len, int64_t tgt_len, int n_buckets, int64_t max_len);
/* Batches of example indices that share a bucket: each bucket's examples
 * in a seeded random order (or in order when !shuffle), cut into batches
 * of at most `batch` (the last of a bucket may be smaller), the batch order
 * shuffled too. *starts has n_batches + 1 offsets into *order. */
tc_status tc_bucket_batches(int64_t n, const int *bucket, int n_buckets, /* ids in [0, n_buckets] */
                            int64_t batch, bool shuffle,
                            tc_rng *rng, int64_t **order, int64_t **starts, int64_t *n_batches);

/* ---- labelled text ------------------------------------------------------------- */
typedef struct {
    int64_t n;
    char **text;
    int32_t *label;
    int classes;
    char **class_names;
} tc_text_corpus;
void tc_text_corpus_free(tc_text_corpus *c);
/* "label TAB text" lines; class names sorted in byte order; a line without
 * a tab, an empty label or text is an error with the line number. */
tc_status tc_read_labelled_tsv(const char *path, tc_text_corpus *out);
/* The aclImdb layout: DIR/SPLIT/neg/ *.txt (label 0) and DIR/SPLIT/pos/ *.txt
 * (label 1), files in name order; "<br />" becomes a space. An empty or
 * missing folder is an error naming it. */
tc_status tc_read_aclimdb(const char *dir, const char *split, tc_text_corpus *out);
/* Debian package lists (deb822 stanzas as in a Packages file or the output
 * of apt-cache dumpavail) from an open stream: the Description (its first
 * line and any continuation lines) labelled by Section, for the packages
 * whose Section is one of sections[0..n-1] (label = index). Repeated
 * descriptions are kept once (so no text is both trained and validated
 * on). name is used in messages. */
tc_status tc_read_package_descriptions(FILE *f, const char *name, int n_sections, const char *const *sections,
                                       tc_text_corpus *out);
/* Tokenise (lower-cased) and encode a corpus through v, padded/truncated to
 * maxlen: x [n, maxlen] ids, y [n] labels. */
tc_dataset *tc_text_dataset(const tc_text_corpus *c, const tc_vocab *v, int64_t maxlen, const tc_pad_opts *o);
/* Counts every token of c (tokenised, lower-cased) into v. */
tc_status tc_vocab_count_corpus(tc_vocab *v, const tc_text_corpus *c);

/* ---- gettext catalogs: a parallel corpus ------------------------------------------
 * A .mo file (either byte order) gives (msgid, msgstr) pairs; a plural entry
 * gives its singular and plural forms with the first and second
 * translations. Dropped: the header (empty msgid), entries with an empty
 * translation, entries whose text is only format directives, numbers and
 * punctuation (nothing to translate), and repeats of a pair already seen.
 * Context prefixes ("ctx\x04") are removed. Lines are joined by spaces. */
typedef struct {
    int64_t n;
    char **src;   /* English (the msgid) */
    char **tgt;   /* the translation */
} tc_parallel;
void tc_parallel_free(tc_parallel *p);
/* Appends the pairs of one .mo file to out (repeats of pairs already in out
 * are dropped); *added gets how many were added (may be NULL). */
tc_status tc_read_mo(const char *path, tc_parallel *out, int64_t *added);
/* Every *.mo in dir (name order) split by file: files go to train, dev and
 * test so that dev and test each get about dev_fraction / test_fraction of
 * the pairs; a pair already in an earlier split is dropped from a later one
 * (no sentence leaks). */
tc_status tc_read_mo_dir(const char *dir, double dev_fraction, double test_fraction, tc_parallel *train,
                         tc_parallel *dev, tc_parallel *test);

/* ---- BLEU ---------------------------------------------------------------------------
 * Corpus BLEU as tensorflow/nmt's scripts/bleu.py (clipped n-gram counts,
 * geometric mean of the precisions, brevity penalty, no smoothing) on
 * tokenised sentences. precisions[i] for n-gram order i+1. */
typedef struct {
    double bleu;            /* in [0, 1] */
    double precisions[4];
    double bp, ratio;
    int64_t hyp_len, ref_len;
} tc_bleu_result;
tc_status tc_corpus_bleu(int64_t n, const tc_tokens *refs, const tc_tokens *hyps, int max_order, tc_bleu_result *r);
/* Two files of one sentence a line (white-space tokens); different line
 * counts are an error naming both files. */
tc_status tc_bleu_files(const char *ref_path, const char *hyp_path, tc_bleu_result *r);

#ifdef __cplusplus
}
#endif
#endif
