/* libFuzzer target: the text readers (lines + tokenizer, tensorflow/nmt
 * vocab files, "label TAB text" files, token-id files, package lists, BLEU
 * of two files) must reject any byte string cleanly. The first byte picks
 * the reader; the rest is the file. Build: see tests/fuzz/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensorcook/tensorcook.h"

static const char *tmp_file(int k, const uint8_t *data, size_t size)
{
    static char path[2][64];
    snprintf(path[k], sizeof path[k], "/tmp/fuzz_text_%d_%d", (int)getpid(), k);
    FILE *f = fopen(path[k], "wb");
    if (!f) return NULL;
    fwrite(data, 1, size, f);
    fclose(f);
    return path[k];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int which = data[0] % 6;
    data++, size--;
    const char *p = tmp_file(0, data, size);
    if (!p) return 0;
    if (which == 0) {
        tc_lines l;
        if (tc_read_lines(p, &l) == TC_OK) {
            for (int64_t i = 0; i < l.n; i++) {
                tc_tokens t;
                if (tc_tokenize(l.line[i], true, &t) == TC_OK) tc_tokens_free(&t);
            }
            tc_lines_free(&l);
        }
    } else if (which == 1) {
        tc_vocab *v = tc_vocab_load(p);
        if (v) {
            for (int64_t i = 0; i < tc_vocab_size(v); i++) tc_vocab_id(v, tc_vocab_token(v, i));
            tc_vocab_free(v);
        }
    } else if (which == 2) {
        tc_text_corpus c;
        if (tc_read_labelled_tsv(p, &c) == TC_OK) {
            tc_vocab *v = tc_vocab_new(2, (const char *[]){"<pad>", "<unk>"}, 1);
            if (v && tc_vocab_count_corpus(v, &c) == TC_OK && tc_vocab_finish(v, 50, 1) == TC_OK) {
                tc_dataset *d = tc_text_dataset(&c, v, 7, NULL);
                tc_dataset_free(d);
            }
            tc_vocab_free(v);
            tc_text_corpus_free(&c);
        }
    } else if (which == 3) {
        tc_id_seqs s;
        if (tc_read_id_file(p, 1000, &s) == TC_OK) {
            tc_tensor *x = tc_pad_sequences(&s, 5, NULL);
            tc_tensor_free(x);
            tc_id_seqs_free(&s);
        }
    } else if (which == 4) {
        FILE *f = fmemopen((void *)data, size ? size : 1, "r");
        if (f && size) {
            tc_text_corpus c;
            const char *sec[] = {"utils", "net"};
            if (tc_read_package_descriptions(f, "fuzz", 2, sec, &c) == TC_OK) tc_text_corpus_free(&c);
        }
        if (f) fclose(f);
    } else {
        size_t half = size / 2;
        const char *a = tmp_file(0, data, half), *b = tmp_file(1, data + half, size - half);
        tc_bleu_result r;
        if (a && b) tc_bleu_files(a, b, &r);
        if (b) unlink(b);
    }
    unlink(p);
    tc_step_reset();
    return 0;
}
