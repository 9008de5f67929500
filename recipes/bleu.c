/* tensorcook bleu REFERENCE HYPOTHESIS: corpus BLEU of two tokenised files
 * (one sentence a line), as tensorflow/nmt's scripts/bleu.py computes it,
 * printed the way multi-bleu.perl prints it. */
#include <string.h>

#include "common.h"
#include "tensorcook/text.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tensorcook bleu REFERENCE HYPOTHESIS [--summary-json FILE]\n"
               "  corpus BLEU (n-grams up to 4, clipped counts, brevity penalty, no smoothing) of\n"
               "  two files of white-space tokenised sentences, one a line, as multi-bleu.perl prints it\n"
               "  --summary-json FILE  bleu, bp, ratio, hyp_len, ref_len, precision_1..4\n");
    return rc;
}

int tc_cmd_bleu(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL}, *summary = NULL;
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_str(argc, argv, &i, "--summary-json", &summary)) {
            if (!summary) return usage(stderr, 2);
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tensorcook bleu: unknown option '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
        if (nf == 2) {
            fprintf(stderr, "tensorcook bleu: more than two files\n");
            return usage(stderr, 2);
        }
        files[nf++] = argv[i];
    }
    if (nf != 2) return usage(stderr, 2);
    tc_bleu_result r;
    if (tc_bleu_files(files[0], files[1], &r) != TC_OK) {
        fprintf(stderr, "tensorcook bleu: %s\n", tc_last_error());
        return 1;
    }
    printf("BLEU = %.2f, %.1f/%.1f/%.1f/%.1f (BP=%.3f, ratio=%.3f, hyp_len=%lld, ref_len=%lld)\n", 100 * r.bleu,
           100 * r.precisions[0], 100 * r.precisions[1], 100 * r.precisions[2], 100 * r.precisions[3], r.bp, r.ratio,
           (long long)r.hyp_len, (long long)r.ref_len);
    if (summary) {
        const char *keys[] = {"bleu", "bp", "ratio", "hyp_len", "ref_len", "precision_1", "precision_2", "precision_3", "precision_4"};
        double vals[] = {100 * r.bleu, r.bp, r.ratio, (double)r.hyp_len, (double)r.ref_len, r.precisions[0],
                         r.precisions[1], r.precisions[2], r.precisions[3]};
        if (!write_summary_json("bleu", summary, 9, keys, vals)) return 1;
    }
    return 0;
}
