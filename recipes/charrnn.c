/* tensorcook charrnn: a character-level language model (the cookbook's
 * Shakespeare char-RNN) on any UTF-8 text.
 *   sequences of 25 characters taken every 3 characters, each predicting
 *   the next one; 3 x LSTM 512 with dropout 0.5 after each; dense softmax
 *   over the vocabulary; Adam 1e-3, batch 128, gradients clipped to a
 *   global norm of 5; a validation split; after each epoch, 600 characters
 *   sampled at temperatures 1.0 and 0.5 from a random seed sequence;
 *   checkpoints and resume.
 *   tensorcook charrnn --sample --checkpoint FILE generates one character at
 *   a time with the LSTM states kept (tc_sampler). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "charrnn_eval.h"
#include "common.h"

#define FORTUNES "/usr/share/games/fortunes"
#define SEQ_LEN 25
#define STEP 3

static void put_char(FILE *f, uint32_t c)
{
    char b[4];
    fwrite(b, 1, (size_t)tc_utf8_encode(c, b), f);
}

/* Feeds the seed ids, then writes `length` sampled characters to f.
 * Returns characters/s, or -1 (tc_last_error says why); *cpu_seconds (may
 * be NULL) gets the process CPU time of the loop. */
static double generate(tc_model *m, const tc_char_vocab *v, const int64_t *seed, int seed_len, int length, double temperature,
                       uint64_t rseed, tc_precision prec, FILE *f, double *cpu_seconds)
{
    tc_sampler *s = tc_sampler_new(m, &(tc_sampler_opts){.precision = prec});
    if (!s) return -1;
    tc_rng r = tc_rng_new(rseed);
    double t0 = wall_seconds(), c0 = process_cpu_seconds();
    const tc_tensor *p = NULL;
    for (int i = 0; i < seed_len; i++) p = tc_sampler_step(s, &seed[i]);
    for (int i = 0; p && i < length; i++) {
        int64_t next = tc_sample_from(p, 0, temperature, &r);
        if (next < 0) p = NULL;
        else put_char(f, v->chars[next]);
        if (p && i < length - 1) p = tc_sampler_step(s, &next);
    }
    double rate = p ? length / fmax(wall_seconds() - t0, 1e-9) : -1;
    if (cpu_seconds) *cpu_seconds = process_cpu_seconds() - c0;
    tc_sampler_free(s);
    return rate;
}

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook charrnn [--text FILE] [options]          train\n"
            "       tensorcook charrnn --sample --checkpoint FILE [--temperature T] [--length N] [--seed-text S]\n"
            "                      [--precision fp32|bf16|int8]  weights of generation [fp32]; bf16 streams half the\n"
            "                      bytes, int8 a quarter (a scale per output; each step's input vector is quantised\n"
            "                      to 8 bits too, TENSORCOOK_INT8_DOT=0 keeps it float)\n"
            "       tensorcook charrnn --eval --checkpoint FILE [--text FILE] [--max-chars N] [--val-split X] [--precision P]\n"
            "                      validation loss (nats/char) through the generation path, states kept\n"
            "  --text FILE         UTF-8 text [the English texts of Debian's fortunes]\n"
            "  --max-chars N       use the first N characters [all of --text; 150000 of the default corpus]\n"
            "  --layers N --units N  LSTM stack [3 x 512]\n"
            "  --epochs N          [1]       --iters N     stop after N steps\n"
            "  --batch N           [128]     --lr X        Adam learning rate [0.001]\n"
            "  --val-split X       fraction of the sequences for validation [0.05]\n"
            "  --threads N --seed N --out DIR [out/charrnn]  --resume FILE  --summary-json FILE\n");
    return rc;
}

/* --sample: the checkpoint's model continues --seed-text */
static int sample_command(const char *checkpoint, const char *seed_text, long long length, double temperature, uint64_t seed,
                          tc_precision prec)
{
    int V;
    uint32_t *chars = NULL, *cp = NULL;
    size_t ncp = 0;
    const char *st = seed_text ? seed_text : "";
    tc_model *m = tc_charrnn_load(checkpoint, SEQ_LEN, NULL, &V, &chars, NULL);
    tc_char_vocab *v = m ? tc_char_vocab_new(V, chars) : NULL;
    int64_t *ids = NULL;
    int k = 0, rc = 1;
    if (!v || tc_utf8_decode("--seed-text", (const unsigned char *)st, strlen(st), &cp, &ncp) != TC_OK ||
        !(ids = malloc(sizeof(int64_t) * (ncp + 1)))) {
        fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
        goto done;
    }
    for (size_t i = 0; i < ncp; i++)
        if (tc_char_vocab_id(v, cp[i]) >= 0) ids[k++] = tc_char_vocab_id(v, cp[i]); /* characters the model never saw are skipped */
    tc_rng r = tc_rng_new(seed);
    if (k == 0) ids[k++] = tc_rng_u32(&r) % (uint32_t)V;
    fputs(st, stdout);
    double cpu = 0, rate = generate(m, v, ids, k, (int)length, temperature, seed, prec, stdout, &cpu);
    printf("\n");
    if (rate < 0) {
        fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
        goto done;
    }
    fprintf(stderr, "%lld characters at %.0f characters/s (%.3f CPU seconds, all threads: %.0f characters per CPU second)\n",
            length, rate, cpu, length / fmax(cpu, 1e-9));
    rc = 0;
done:
    free(ids), free(cp), free(chars);
    tc_char_vocab_free(v);
    tc_model_free(m);
    return rc;
}

typedef struct {
    tc_model *m;
    tc_tensor *x, *y;
} batch_loss;

static tc_tensor *sequence_loss(void *ctx)
{
    batch_loss *b = ctx;
    return tc_sparse_softmax_cross_entropy(tc_model_forward(b->m, b->x, true), b->y, NULL, TC_REDUCE_MEAN);
}

int tc_cmd_charrnn(int argc, char **argv)
{
    const char *text = NULL, *out = "out/charrnn", *resume = NULL, *summary = NULL, *checkpoint = NULL, *seed_text = NULL,
               *precision = NULL;
    long long layers = 3, units = 512, epochs = 1, iters = 0, batch = 128, threads = 0, seed = 42, max_chars = -1,
              length = 600;
    double lr = 1e-3, val_split = 0.05, temperature = 1.0;
    bool bad = false, do_sample = false, do_eval = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--sample") || !strcmp(argv[i], "--eval")) {
            *(argv[i][2] == 's' ? &do_sample : &do_eval) = true;
            continue;
        }
        if (opt_str(argc, argv, &i, "--text", &text) || opt_str(argc, argv, &i, "--out", &out) ||
            opt_str(argc, argv, &i, "--resume", &resume) || opt_str(argc, argv, &i, "--summary-json", &summary) ||
            opt_str(argc, argv, &i, "--checkpoint", &checkpoint) || opt_str(argc, argv, &i, "--precision", &precision) || opt_str(argc, argv, &i, "--seed-text", &seed_text))
            continue;
        if (opt_int(argc, argv, &i, "--layers", &layers, &bad) || opt_int(argc, argv, &i, "--units", &units, &bad) ||
            opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_int(argc, argv, &i, "--max-chars", &max_chars, &bad) ||
            opt_int(argc, argv, &i, "--length", &length, &bad) || opt_double(argc, argv, &i, "--lr", &lr, &bad) ||
            opt_double(argc, argv, &i, "--val-split", &val_split, &bad) ||
            opt_double(argc, argv, &i, "--temperature", &temperature, &bad))
            continue;
        fprintf(stderr, "tensorcook charrnn: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || layers < 1 || layers > 8 || units < 1 || epochs < 1 || batch < 1 || lr <= 0 || length < 0 || !(temperature > 0) ||
        !(val_split >= 0 && val_split < 1)) {
        fprintf(stderr, "tensorcook charrnn: invalid option values (see --help)\n");
        return 2;
    }
    set_threads("charrnn", threads);
    if ((do_sample || do_eval) && !checkpoint) {
        fprintf(stderr, "tensorcook charrnn: --%s needs --checkpoint FILE\n", do_eval ? "eval" : "sample");
        return 2;
    }
    tc_precision prec = TC_PRECISION_FP32;
    if (precision && !tc_precision_parse(precision, &prec)) {
        fprintf(stderr, "tensorcook charrnn: --precision %s: expected fp32, bf16 or int8\n", precision);
        return 2;
    }
    if (precision && !do_sample && !do_eval) {
        fprintf(stderr, "tensorcook charrnn: --precision applies to --sample and --eval (training is float32)\n");
        return 2;
    }
    if (do_eval) return charrnn_eval_command(checkpoint, text, max_chars, val_split, SEQ_LEN, STEP, prec);
    if (do_sample) return sample_command(checkpoint, seed_text, length, temperature, (uint64_t)seed, prec);

    /* ---- the text, its vocabulary and sequences ---- */
    const char *name = text ? text : FORTUNES;
    uint32_t *cp = NULL, *chars = NULL;
    size_t ncp = 0;
    if ((text ? tc_load_utf8_text(text, &cp, &ncp) : tc_load_utf8_folder(FORTUNES, &cp, &ncp)) != TC_OK) {
        fprintf(stderr, "tensorcook charrnn: %s%s\n", tc_last_error(), text ? "" : " (install fortunes)");
        return 1;
    }
    if (max_chars < 0) max_chars = text ? 0 : 150000;
    if (max_chars > 0 && (size_t)max_chars < ncp) ncp = (size_t)max_chars;
    int rc = 1, V = 0;
    tc_char_vocab *vocab = tc_char_vocab_of_text(cp, ncp);
    tc_dataset *train = NULL, *val = NULL;
    tc_model *m = NULL;
    tc_optimizer *opt = tc_optimizer_new(TC_OPT_ADAM, &(tc_optim_opts){.lr = lr, .clip_norm = 5});
    tc_batcher *b = NULL;
    if (!vocab || !opt || tc_char_sequences(cp, ncp, vocab, SEQ_LEN, STEP, val_split, &train, &val) != TC_OK) {
        fprintf(stderr, "tensorcook charrnn: %s: %s\n", name, tc_last_error());
        goto done;
    }
    /* ---- the model: new, or the checkpoint's ---- */
    double start_epoch = 0;
    if (resume) {
        if (!(m = tc_charrnn_load(resume, SEQ_LEN, opt, &V, &chars, &start_epoch))) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            goto done;
        }
        if (V != vocab->size || memcmp(chars, vocab->chars, sizeof(uint32_t) * (size_t)V)) {
            fprintf(stderr, "tensorcook charrnn: %s was trained on another vocabulary (%d characters, this text has %d)\n", resume,
                    V, vocab->size);
            goto done;
        }
    } else {
        tc_nn_seed((uint64_t)seed);
        m = tc_charrnn_model(&(tc_charrnn_opts){.vocab = vocab->size, .seq_len = SEQ_LEN, .layers = (int)layers, .units = (int)units});
        if (!m) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            goto done;
        }
    }
    if (!prepare_out_dir("charrnn", out)) goto done;
    int64_t ntrain = tc_dataset_size(train), nval = tc_dataset_size(val), nseq = ntrain + nval;
    int n_lstm = 0;
    for (int i = 0; i < tc_model_layer_count(m); i++) n_lstm += !strcmp(tc_layer_type(tc_model_layer_at(m, i)), "LSTM");
    printf("%zu characters, vocabulary %d, %lld training and %lld validation sequences; %d x LSTM %lld; %d threads\n", ncp,
           vocab->size, (long long)ntrain, (long long)nval, n_lstm,
           (long long)tc_layer_weight(tc_model_layer(m, "lstm_0"), 1)->shape[0], tc_num_threads());

    /* ---- training ---- */
    tc_rng pick = tc_rng_new((uint64_t)seed ^ 0x5151); /* seed sequences of the samples */
    b = tc_batcher_new(train, batch, true, false, (uint64_t)seed + (uint64_t)start_epoch, NULL);
    int64_t step = 0, samples = 0, per_epoch = tc_batcher_batches_per_epoch(b);
    double t0 = wall_seconds(), train_time = 0, train_loss = NAN, val_loss = NAN;
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.tcck", out);
    for (int epoch = (int)start_epoch + 1; epoch <= (int)start_epoch + epochs; epoch++) {
        batch_loss bl = {m};
        double loss_sum = 0, ts = wall_seconds(), loss;
        int64_t loss_n = 0;
        while ((!iters || step < iters) && tc_batcher_next(b, &bl.x, &bl.y)) {
            if (tc_model_train_step(m, opt, sequence_loss, &bl, &loss) != TC_OK) {
                fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
                goto done;
            }
            loss_sum += loss * (double)bl.y->shape[0];
            loss_n += bl.y->shape[0];
            samples += bl.y->shape[0];
            step++;
            if (step % 20 == 0) { /* progress, with what is left of this epoch (or of --iters) */
                double el = train_time + wall_seconds() - ts, rate = samples / el;
                int64_t in_epoch = step - (int64_t)(epoch - start_epoch - 1) * per_epoch;
                int64_t total = iters && iters - step + in_epoch < per_epoch ? iters - step + in_epoch : per_epoch;
                double left = (double)(total - in_epoch) * (double)batch / fmax(rate, 1e-9);
                fprintf(stderr, "epoch %d/%lld step %lld/%lld loss %.4f nats/char %.0f samples/s, %dm%02ds left\n", epoch,
                        (long long)(start_epoch + epochs), (long long)in_epoch, (long long)total, loss_sum / (double)loss_n,
                        rate, (int)(left / 60), (int)fmod(left, 60));
            }
        }
        train_time += wall_seconds() - ts; /* training steps only: not validation or sampling */
        train_loss = loss_n ? loss_sum / (double)loss_n : NAN;
        if (val && tc_evaluate(m, val, TC_LOSS_SPARSE_CE, batch, 0, &val_loss, NULL) != TC_OK) { /* nats per character */
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            goto done;
        }
        printf("epoch %d: train loss %.4f, validation loss %.4f nats/char; %.1f samples/s\n", epoch, train_loss, val_loss,
               samples / fmax(train_time, 1e-9));
        /* samples from a random seed sequence of the text */
        int64_t at = (int64_t)tc_rng_below(&pick, (uint64_t)nseq), seed_ids[SEQ_LEN];
        for (int t = 0; t < SEQ_LEN; t++) seed_ids[t] = tc_char_vocab_id(vocab, cp[at * STEP + t]);
        for (int k = 0; k < 2; k++) {
            double temp = k ? 0.5 : 1.0;
            printf("----- temperature %.1f, seed: \"", temp);
            for (int t = 0; t < SEQ_LEN; t++) put_char(stdout, vocab->chars[seed_ids[t]]);
            printf("\"\n");
            if (generate(m, vocab, seed_ids, SEQ_LEN, 600, temp, (uint64_t)seed + (uint64_t)epoch * 2 + (uint64_t)k, TC_PRECISION_FP32, stdout, NULL) < 0)
                fprintf(stderr, "tensorcook charrnn: sampling: %s\n", tc_last_error());
            printf("\n");
        }
        fflush(stdout);
        if (tc_charrnn_save(ckpt, m, opt, vocab->size, vocab->chars, epoch) != TC_OK) {
            fprintf(stderr, "tensorcook charrnn: %s\n", tc_last_error());
            goto done;
        }
        if (iters && step >= iters) break;
    }
    printf("checkpoint: %s (sample with: tensorcook charrnn --sample --checkpoint %s)\n", ckpt, ckpt);
    if (summary) {
        const char *keys[] = {"train_loss", "val_loss", "train_seconds", "samples_per_second", "steps"};
        double vals[] = {train_loss, val_loss, wall_seconds() - t0, samples / fmax(train_time, 1e-9), (double)step};
        if (!write_summary_json("charrnn", summary, 5, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_batcher_free(b);
    tc_dataset_free(train);
    tc_dataset_free(val);
    tc_char_vocab_free(vocab);
    free(chars);
    free(cp);
    tc_optimizer_free(opt);
    tc_model_free(m);
    return rc;
}
