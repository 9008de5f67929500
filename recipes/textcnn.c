/* tensorcook textcnn: the cookbook's TFLearn sentiment CNN.
 *   ids [100] (vocabulary 10,000, padded/truncated after) -> Embedding 128
 *   -> three Conv1D branches (widths 3, 4, 5; 128 filters; VALID; ReLU;
 *      L2 regularisation 0.001 of the kernels, TFLearn's weight_decay)
 *   -> merge: along TIME (TFLearn's merge(..., axis=1), the default: the
 *      global max then leaves 128 features) or, with --merge channels, Kim's
 *      variant (a global max per branch, 384 features concatenated)
 *   -> global max pooling -> Dropout 0.5 -> Dense 2 softmax
 *   cross-entropy + L2 terms, Adam 1e-3, batch 32, 5 epochs, validation
 *   accuracy per epoch.
 * Data: an aclImdb-layout folder (--data: train/{neg,pos}, test/{neg,pos},
 * the test split validates) or, by default, the short descriptions of
 * Debian's package lists (apt-cache dumpavail) labelled by their Section. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "recipe_models.h"
#include "tensorcook/text.h"

#define DEFAULT_SECTIONS "utils,net"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook textcnn [options]\n"
            "  --data DIR          aclImdb-layout folder (train/neg, train/pos, test/neg, test/pos; *.txt)\n"
            "  --packages FILE     a Debian package list (deb822) instead of `apt-cache dumpavail` (the default data)\n"
            "  --sections A,B      Sections of the package data used as the two classes [" DEFAULT_SECTIONS "]\n"
            "  --merge MODE        time (TFLearn's axis=1, 128 features) or channels (Kim's, 384) [time]\n"
            "  --epochs N          training epochs [5]\n"
            "  --batch N           batch size [32]\n"
            "  --lr X              Adam learning rate [0.001]\n"
            "  --vocab N           vocabulary size, padding and unknown included [10000]\n"
            "  --maxlen N          sequence length [100]\n"
            "  --max-examples N    use at most N training examples (0: all) [0]\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of weights, shuffling and dropout [42]\n"
            "  --out DIR           metrics.csv, curves, TensorBoard events, checkpoint, vocab, ids [out/textcnn]\n"
            "  --summary-json FILE val_accuracy, val_loss, train_seconds, cpu_seconds, samples, samples_per_second\n");
    return rc;
}

/* The network through the functional layer API. */
tc_model *textcnn_model(int64_t vocab, int64_t maxlen, bool merge_channels)
{
    tc_graph *g = tc_graph_new();
    tc_value in = tc_graph_input(g, TC_SHAPE(maxlen), "input");
    tc_value e = tc_graph_call(g, tc_embedding(&(tc_embedding_opts){.input_dim = (int)vocab, .output_dim = 128}), 1, &in);
    tc_value br[3];
    for (int k = 0; k < 3; k++) {
        char name[16];
        snprintf(name, sizeof name, "conv_%d", k + 3);
        br[k] = tc_graph_call(g, tc_conv1d(&(tc_conv_opts){.filters = 128, .kernel = k + 3, .padding = TC_VALID,
                                                             .act = TC_RELU, .name = name}), 1, &e);
        if (merge_channels) br[k] = tc_graph_call(g, tc_global_maxpool(NULL), 1, &br[k]);
    }
    /* [B, 98 + 97 + 96, 128] along time, or [B, 384] along the features */
    tc_value h = tc_graph_call(g, tc_concatenate(merge_channels ? -1 : 1, "merge"), 3, br);
    if (!merge_channels) h = tc_graph_call(g, tc_global_maxpool(NULL), 1, &h);
    h = tc_graph_call(g, tc_dropout_layer(0.5, NULL), 1, &h);
    tc_value out = tc_graph_call(g, tc_dense(&(tc_dense_opts){.units = 2}), 1, &h); /* softmax is in the loss */
    return tc_graph_model(g, "textcnn", 1, &in, 1, &out);
}

/* Token-id and label files of a data set, for the PyTorch comparison
 * (bench/torch_textcnn.py trains the same network on exactly these ids). */
static bool export_ids(const char *out, const char *name, const tc_dataset *d)
{
    int64_t n = tc_dataset_size(d), t = d->x->shape[1];
    size_t cap = (size_t)(n * t * 6 + n * 4 + 16), used = 0;
    char *buf = malloc(cap), *lab = malloc((size_t)n * 4 + 16);
    if (!buf || !lab) {
        free(buf);
        free(lab);
        fprintf(stderr, "tensorcook textcnn: out of memory\n");
        return false;
    }
    size_t lu = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = 0; k < t; k++)
            used += (size_t)snprintf(buf + used, cap - used, "%s%d", k ? " " : "", (int)d->x->data[i * t + k]);
        buf[used++] = '\n';
        lu += (size_t)snprintf(lab + lu, (size_t)n * 4 + 16 - lu, "%d\n", (int)d->y->data[i]);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.ids", out, name);
    bool ok = tc_write_file_atomic(path, buf, used) == TC_OK;
    snprintf(path, sizeof path, "%s/%s.labels", out, name);
    ok = ok && tc_write_file_atomic(path, lab, lu) == TC_OK;
    if (!ok) fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
    free(buf);
    free(lab);
    return ok;
}

/* The package data: descriptions of two Sections, shuffled with a fixed
 * seed (the split does not change with --seed), the last 10% validating
 * (TFLearn's imdb.load_data(valid_portion=0.1)). */
static bool load_packages(const char *file, const char *sections_arg, tc_text_corpus *train, tc_text_corpus *val)
{
    char secbuf[256];
    snprintf(secbuf, sizeof secbuf, "%s", sections_arg);
    char *comma = strchr(secbuf, ',');
    if (!comma || !comma[1] || comma == secbuf || strchr(comma + 1, ',')) {
        fprintf(stderr, "tensorcook textcnn: --sections takes two names: A,B\n");
        return false;
    }
    *comma = '\0';
    const char *sections[2] = {secbuf, comma + 1};
    FILE *f = file ? fopen(file, "r") : popen("apt-cache dumpavail 2>/dev/null", "r");
    const char *name = file ? file : "apt-cache dumpavail";
    if (!f) {
        fprintf(stderr, "tensorcook textcnn: %s: cannot open\n", name);
        return false;
    }
    tc_text_corpus all;
    tc_status st = tc_read_package_descriptions(f, name, 2, sections, &all);
    int prc = file ? fclose(f) : pclose(f);
    if (st != TC_OK) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        return false;
    }
    if (!file && prc != 0) {
        fprintf(stderr, "tensorcook textcnn: apt-cache dumpavail failed (give --packages FILE or --data DIR)\n");
        tc_text_corpus_free(&all);
        return false;
    }
    if (all.n < 20) {
        fprintf(stderr, "tensorcook textcnn: %s: only %lld descriptions of sections %s and %s\n", name, (long long)all.n,
                sections[0], sections[1]);
        tc_text_corpus_free(&all);
        return false;
    }
    int64_t *perm = malloc(sizeof *perm * (size_t)all.n);
    if (!perm) {
        tc_text_corpus_free(&all);
        return false;
    }
    for (int64_t i = 0; i < all.n; i++) perm[i] = i;
    tc_rng rng = tc_rng_new(20260);
    tc_rng_shuffle(&rng, perm, all.n);
    int64_t nv = all.n / 10, nt = all.n - nv;
    tc_text_corpus *parts[2] = {train, val};
    for (int p = 0; p < 2; p++) {
        tc_text_corpus *c = parts[p];
        int64_t from = p ? nt : 0, n = p ? nv : nt;
        memset(c, 0, sizeof *c);
        c->n = n;
        c->text = malloc(sizeof(char *) * (size_t)n);
        c->label = malloc(sizeof(int32_t) * (size_t)n);
        c->classes = 2;
        c->class_names = calloc(2, sizeof(char *));
        if (!c->text || !c->label || !c->class_names) {
            fprintf(stderr, "tensorcook textcnn: out of memory\n");
            exit(1);
        }
        for (int64_t i = 0; i < n; i++) {
            c->text[i] = all.text[perm[from + i]];
            all.text[perm[from + i]] = NULL;
            c->label[i] = all.label[perm[from + i]];
        }
        for (int k = 0; k < 2; k++) c->class_names[k] = strdup(all.class_names[k]);
    }
    free(perm);
    tc_text_corpus_free(&all);
    return true;
}

typedef struct {
    tc_model *m;
    tc_tensor *kernels[3];
    tc_tensor *x, *y;
    double accuracy;
} step_ctx;

/* One batch's loss: softmax cross-entropy + 0.001 * l2_loss of each conv
 * kernel (TFLearn adds weight_decay * tf.nn.l2_loss(W) of regularised
 * layers to the objective). */
static tc_tensor *batch_loss(void *ctx)
{
    step_ctx *c = ctx;
    tc_tensor *logits = tc_model_forward(c->m, c->x, true);
    tc_tensor *loss = tc_sparse_softmax_cross_entropy(logits, c->y, NULL, TC_REDUCE_MEAN);
    for (int k = 0; k < 3 && loss; k++) loss = tc_add(loss, tc_mul_scalar(tc_l2_loss(c->kernels[k]), (tc_scalar)0.001));
    if (logits && loss) {
        tc_tensor *am = tc_argmax(logits, -1, false, false);
        int64_t ok = 0, n = c->y->shape[0];
        for (int64_t i = 0; am && i < n; i++) ok += am->data[i] == c->y->data[i];
        c->accuracy = (double)ok / (double)n;
    }
    return loss;
}

int tc_cmd_textcnn(int argc, char **argv)
{
    const char *data = NULL, *packages = NULL, *sections = DEFAULT_SECTIONS, *merge = "time", *out = "out/textcnn";
    const char *summary = NULL;
    long long epochs = 5, batch = 32, threads = 0, seed = 42, vocab_size = 10000, maxlen = 100, max_examples = 0;
    double lr = 1e-3;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        const char **strs[] = {&data, &packages, &sections, &merge, &out, &summary};
        const char *names[] = {"--data", "--packages", "--sections", "--merge", "--out", "--summary-json"};
        if (opt_str_any(argc, argv, &i, 6, names, strs, &bad)) continue;
        if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--batch", &batch, &bad) ||
            opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
            opt_int(argc, argv, &i, "--vocab", &vocab_size, &bad) || opt_int(argc, argv, &i, "--maxlen", &maxlen, &bad) ||
            opt_int(argc, argv, &i, "--max-examples", &max_examples, &bad) || opt_double(argc, argv, &i, "--lr", &lr, &bad))
            continue;
        fprintf(stderr, "tensorcook textcnn: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    bool channels = merge && !strcmp(merge, "channels");
    if (bad || epochs < 1 || batch < 1 || lr <= 0 || vocab_size < 3 || maxlen < 5 || max_examples < 0 ||
        (merge && strcmp(merge, "time") && !channels)) {
        fprintf(stderr, "tensorcook textcnn: invalid option values (see --help)\n");
        return 2;
    }
    set_threads("textcnn", threads);
    tc_text_corpus tr = {0}, va = {0};
    if (data) {
        if (tc_read_aclimdb(data, "train", &tr) != TC_OK || tc_read_aclimdb(data, "test", &va) != TC_OK) {
            fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
            tc_text_corpus_free(&tr);
            return 1;
        }
    } else if (!load_packages(packages, sections, &tr, &va)) {
        return 1;
    }
    if (max_examples > 0 && tr.n > max_examples) {
        /* a fixed random subset (aclImdb lists every negative review first) */
        tc_rng sub = tc_rng_new(7);
        for (int64_t i = tr.n - 1; i > 0; i--) {
            int64_t j = (int64_t)tc_rng_below(&sub, (uint64_t)i + 1);
            char *t = tr.text[i];
            int32_t l = tr.label[i];
            tr.text[i] = tr.text[j], tr.label[i] = tr.label[j];
            tr.text[j] = t, tr.label[j] = l;
        }
        for (int64_t i = max_examples; i < tr.n; i++) free(tr.text[i]);
        tr.n = max_examples;
    }
    int rc = 1;
    tc_vocab *v = tc_vocab_new(2, (const char *[]){"<pad>", TC_UNK}, 1);
    tc_dataset *train = NULL, *val = NULL;
    tc_model *m = NULL;
    tc_optimizer *opt = NULL;
    tc_metrics *rows = calloc((size_t)epochs, sizeof *rows);
    char path[4200];
    if (!v || !rows || tc_vocab_count_corpus(v, &tr) != TC_OK || tc_vocab_finish(v, vocab_size, 1) != TC_OK ||
        !(train = tc_text_dataset(&tr, v, maxlen, NULL)) || !(val = tc_text_dataset(&va, v, maxlen, NULL))) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    int64_t counts[2][2] = {{0}};
    for (int64_t i = 0; i < tr.n; i++) counts[0][tr.label[i] & 1]++;
    for (int64_t i = 0; i < va.n; i++) counts[1][va.label[i] & 1]++;
    printf("data: %s; classes %s / %s; train %lld (%lld / %lld), validation %lld (%lld / %lld); vocabulary %lld\n",
           data ? data : packages ? packages : "apt-cache dumpavail", tr.class_names[0], tr.class_names[1], (long long)tr.n,
           (long long)counts[0][0], (long long)counts[0][1], (long long)va.n, (long long)counts[1][0], (long long)counts[1][1],
           (long long)tc_vocab_size(v));
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    m = textcnn_model(tc_vocab_size(v) < vocab_size ? vocab_size : tc_vocab_size(v), maxlen, channels);
    opt = tc_adam(lr);
    if (!m || !opt) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    if (!prepare_out_dir("textcnn", out)) goto done;
    snprintf(path, sizeof path, "%s/vocab.txt", out);
    if (tc_vocab_save(v, path) != TC_OK || !export_ids(out, "train", train) || !export_ids(out, "val", val)) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    tc_model_summary(m, stdout);
    step_ctx c = {.m = m};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "conv_%d/kernel", k + 3);
        c.kernels[k] = tc_model_param_by_name(m, path);
    }
    tc_tensor **params;
    int np = tc_model_trainable_params(m, &params);
    tc_batcher *b = tc_batcher_new(train, batch, true, false, (uint64_t)seed, NULL);
    if (!b) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    double t0 = wall_seconds(), train_time = 0, train_cpu = 0, vloss = NAN, vacc = NAN;
    int64_t step = 0, seen = 0, per_epoch = tc_batcher_batches_per_epoch(b);
    tc_status st = TC_OK;
    for (int epoch = 1; epoch <= epochs && st == TC_OK; epoch++) {
        double te = wall_seconds(), tce = process_cpu_seconds(), loss = NAN;
        while (tc_batcher_next(b, &c.x, &c.y)) {
            st = tc_train_step(opt, np, params, batch_loss, &c, &loss);
            tc_step_reset(); /* the batch itself */
            if (st != TC_OK) break;
            if (!isfinite(loss)) {
                st = tc_error(TC_ERR_STATE, "the loss became %g at step %lld", loss, (long long)step);
                break;
            }
            step++;
            seen += c.y->shape[0];
            if (step % 50 == 0 || step % per_epoch == 0)
                fprintf(stderr, "\rTraining Step: %lld | loss: %.5f - acc: %.4f | epoch: %03d | %lld/%lld", (long long)step,
                        loss, c.accuracy, epoch, (long long)((step - 1) % per_epoch + 1), (long long)per_epoch);
        }
        train_time += wall_seconds() - te;
        train_cpu += process_cpu_seconds() - tce;
        if (st != TC_OK) break;
        if ((st = tc_evaluate(m, val, TC_LOSS_SPARSE_CE, 256, 0, &vloss, &vacc)) != TC_OK) break;
        fprintf(stderr, "\n");
        printf("Training Step: %lld | Adam | epoch: %03d | loss: %.5f - acc: %.4f | val_loss: %.5f - val_acc: %.4f -- iter: %lld\n",
               (long long)step, epoch, loss, c.accuracy, vloss, vacc, (long long)tc_dataset_size(train));
        fflush(stdout);
        rows[epoch - 1] = (tc_metrics){step, epoch, loss, c.accuracy, vloss, vacc, wall_seconds() - t0};
    }
    tc_batcher_free(b);
    if (st != TC_OK) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/textcnn", out);
    snprintf(path, sizeof path, "%s/metrics.csv", out);
    if (tc_write_metrics_csv(path, (int)epochs, rows) != TC_OK || tc_plot_metrics(prefix, (int)epochs, rows, "textcnn") != TC_OK) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    snprintf(path, sizeof path, "%s/tensorboard", out);
    if (tc_write_tensorboard(path, (int)epochs, rows) != TC_OK) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    snprintf(path, sizeof path, "%s/checkpoint.tcck", out);
    if (tc_save_model(path, m, opt) != TC_OK) {
        fprintf(stderr, "tensorcook textcnn: %s\n", tc_last_error());
        goto done;
    }
    double sps = (double)seen / (train_time > 0 ? train_time : 1e-9);
    printf("validation accuracy %.4f (loss %.4f) after %lld epochs; %lld steps in %.1f s (%.0f samples/s); merge along %s\n",
           vacc, vloss, epochs, (long long)step, train_time, sps, channels ? "channels" : "time");
    if (summary) {
        const char *keys[] = {"val_accuracy", "val_loss", "train_seconds", "samples_per_second", "steps", "cpu_seconds",
                              "samples"};
        double vals[] = {vacc, vloss, train_time, sps, (double)step, train_cpu, (double)seen};
        if (!write_summary_json("textcnn", summary, 7, keys, vals)) goto done;
    }
    rc = 0;
done:
    free(rows);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(train);
    tc_dataset_free(val);
    tc_vocab_free(v);
    tc_text_corpus_free(&tr);
    tc_text_corpus_free(&va);
    return rc;
}
