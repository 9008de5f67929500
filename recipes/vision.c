/* Helpers shared by the vision recipes (see vision.h). */
#include "vision.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool vision_opt_str(int argc, char **argv, int *i, const char *name, const char **value, bool *bad)
{
    if (!opt_str(argc, argv, i, name, value)) return false;
    if (!*value) *bad = true;
    return true;
}

int vision_arch(const char *cmd, const char *name)
{
    int a = tc_zoo_arch_from_name(name);
    if (a < 0)
        fprintf(stderr, "tensorcook %s: unknown --model '%s' (vgg16, vgg19, resnet50, inception_v3, xception)\n", cmd,
                name ? name : "");
    return a;
}

bool vision_load_weights(const char *cmd, tc_model *m, tc_zoo_arch arch, bool include_top, const char *weights,
                         bool by_order, bool skip_missing)
{
    if (!weights) return true; /* vision_random_note says so once the inputs are read */
    if (tc_load_keras_weights(m, weights, &(tc_keras_load_opts){.by_order = by_order, .skip_missing = skip_missing}) !=
        TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        if (!by_order)
            fprintf(stderr, "tensorcook %s: (files whose layer names differ, such as Keras' own application files for "
                            "InceptionV3, load with --by-order, as Keras loads them)\n", cmd);
        return false;
    }
    fprintf(stderr, "tensorcook %s: weights loaded from %s%s\n", cmd, weights, by_order ? " (by order)" : "");
    return true;
}

void vision_random_note(const char *cmd, tc_zoo_arch arch, bool include_top)
{
    fprintf(stderr,
            "tensorcook %s: NOTE: no --weights, so the weights are RANDOM (seeded) and the results mean nothing; Keras "
            "keeps the real file in ~/.keras/models/%s (keras.applications downloads it with weights='imagenet'): "
            "pass it with --weights\n",
            cmd, tc_zoo_keras_weights_file(arch, include_top));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **vision_default_images(int *n)
{
    *n = 0;
    DIR *d = opendir(VISION_DEFAULT_IMAGES);
    if (!d) return NULL;
    char **list = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".jpg")) continue;
        char **grown = realloc(list, sizeof *list * (size_t)(*n + 1));
        if (!grown) break;
        list = grown;
        size_t size = strlen(VISION_DEFAULT_IMAGES) + len + 2;
        list[*n] = malloc(size);
        if (!list[*n]) break;
        snprintf(list[*n], size, "%s/%s", VISION_DEFAULT_IMAGES, de->d_name);
        (*n)++;
    }
    closedir(d);
    if (list) qsort(list, (size_t)*n, sizeof *list, cmp_str);
    return list;
}

void vision_free_list(char **list, int n)
{
    for (int i = 0; list && i < n; i++) free(list[i]);
    free(list);
}

tc_tensor *vision_image(const char *path, int64_t h, int64_t w, int mode, double rescale)
{
    tc_tensor *img = tc_image_load_resized(path, h, w, TC_INTERP_NEAREST);
    if (!img) return NULL;
    tc_tensor *x = tc_copy_of(img->data, 4, (int64_t[]){1, h, w, 3});
    tc_tensor_free(img);
    if (!x) return NULL;
    if (mode >= 0) {
        if (tc_preprocess_input(x, (tc_preprocess_mode)mode) != TC_OK) return NULL;
    } else {
        for (int64_t i = 0; i < tc_numel(x); i++) x->data[i] *= (tc_scalar)rescale;
    }
    return x;
}

void vision_param_counts(const tc_model *m, char *buf, size_t size)
{
    int64_t t, n;
    tc_model_count_params(m, &t, &n);
    snprintf(buf, size, "trainable %lld, non-trainable %lld", (long long)t, (long long)n);
}

/* ---- training ------------------------------------------------------------------------------- */
typedef struct {
    tc_model *m;
    tc_tensor *x, *y;
    bool binary, training;
    double correct; /* read inside the step, while its tensors live */
} batch_ctx;

/* The loss of one batch: logits [B, 1] with sigmoid cross-entropy, or
 * [B, N] with softmax cross-entropy (the activations are inside the losses,
 * numerically stable, as Keras' from_logits). */
static tc_tensor *batch_loss(void *arg)
{
    batch_ctx *c = arg;
    tc_tensor *out = tc_model_forward(c->m, c->x, c->training);
    if (!out) return NULL;
    int64_t b = c->y->shape[0];
    tc_tensor *loss;
    c->correct = 0;
    if (c->binary) {
        tc_tensor *t = tc_reshape(c->y, 2, (int64_t[]){b, 1});
        loss = tc_sigmoid_cross_entropy(out, t, NULL, TC_REDUCE_MEAN);
        for (int64_t i = 0; i < b; i++) c->correct += (out->data[i] > 0) == (c->y->data[i] > 0.5);
    } else {
        loss = tc_sparse_softmax_cross_entropy(out, c->y, NULL, TC_REDUCE_MEAN);
        int64_t k = out->shape[1];
        for (int64_t i = 0; i < b; i++) {
            int64_t best = 0;
            for (int64_t j = 1; j < k; j++)
                if (out->data[i * k + j] > out->data[i * k + best]) best = j;
            c->correct += (double)best == c->y->data[i];
        }
    }
    return loss;
}

bool vision_evaluate(tc_model *m, const tc_image_folder *f, int64_t batch, bool binary, double *loss, double *acc)
{
    tc_image_batcher *b = tc_image_batcher_new(f, batch, false, 0);
    if (!b) return false;
    bool was = tc_set_grad_enabled(false);
    double sum = 0, correct = 0;
    int64_t seen = 0;
    int r;
    tc_tensor *x, *y;
    while ((r = tc_image_batcher_next(b, &x, &y)) == 1) {
        batch_ctx c = {m, x, y, binary, false, 0};
        tc_tensor *l = batch_loss(&c);
        if (!l) {
            r = -1;
            break;
        }
        sum += l->data[0] * (double)y->shape[0];
        correct += c.correct;
        seen += y->shape[0];
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    tc_image_batcher_free(b);
    if (r < 0) return false;
    *loss = seen ? sum / (double)seen : NAN;
    *acc = seen ? correct / (double)seen : NAN;
    return true;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

bool vision_fit(tc_model *m, tc_optimizer *opt, const tc_image_folder *train, const tc_image_folder *val,
                vision_fit_opts *o)
{
    tc_image_batcher *b = tc_image_batcher_new(train, o->batch, true, o->seed);
    if (!b) {
        fprintf(stderr, "tensorcook %s: %s\n", o->cmd, tc_last_error());
        return false;
    }
    tc_tensor **params;
    int np = tc_model_trainable_params(m, &params);
    int64_t per_epoch = tc_image_batcher_batches_per_epoch(b), step = 0;
    double t0 = seconds();
    bool ok = true;
    char path[4200], prefix[4200];
    for (int e = 0; e < o->epochs && ok; e++) {
        int epoch = o->first_epoch + e + 1;
        double sum = 0, correct = 0;
        int64_t seen = 0;
        int r;
        tc_tensor *x, *y;
        while ((r = tc_image_batcher_next(b, &x, &y)) == 1) {
            batch_ctx c = {m, x, y, o->binary, true, 0};
            double loss;
            if (tc_train_step(opt, np, params, batch_loss, &c, &loss) != TC_OK) {
                r = -1;
                break;
            }
            sum += loss * (double)y->shape[0];
            correct += c.correct;
            seen += y->shape[0];
            step++;
            if (step % 10 == 0)
                fprintf(stderr, "  epoch %d step %lld/%lld loss %.4f\n", epoch, (long long)(step - (int64_t)e * per_epoch),
                        (long long)per_epoch, sum / (double)seen);
        }
        if (r < 0) {
            fprintf(stderr, "tensorcook %s: %s\n", o->cmd, tc_last_error());
            ok = false;
            break;
        }
        double vloss = NAN, vacc = NAN;
        if (val && !vision_evaluate(m, val, o->batch, o->binary, &vloss, &vacc)) {
            fprintf(stderr, "tensorcook %s: %s\n", o->cmd, tc_last_error());
            ok = false;
            break;
        }
        tc_metrics row = {step, epoch, sum / (double)seen, correct / (double)seen, vloss, vacc, seconds() - t0};
        tc_metrics *grown = realloc(o->rows, sizeof *grown * (size_t)(o->n_rows + 1));
        if (grown) {
            o->rows = grown;
            o->rows[o->n_rows++] = row;
        }
        if (e == 0) o->first_val_loss = vloss;
        o->last_val_loss = vloss;
        o->last_val_acc = vacc;
        printf("%sEpoch %d/%d - %lld steps - loss: %.4f - acc: %.4f - val_loss: %.4f - val_acc: %.4f (%.1f s)\n",
               o->phase[0] ? o->phase : "", epoch, o->first_epoch + o->epochs, (long long)per_epoch, row.loss,
               row.accuracy, vloss, vacc, row.seconds);
        fflush(stdout);
        snprintf(path, sizeof path, "%s/checkpoint.tcck", o->out_dir);
        tc_checkpoint *extra = tc_checkpoint_new();
        if (extra) tc_checkpoint_put_scalar(extra, "epoch", epoch);
        if (tc_checkpoint_save_model(m, opt, path, extra) != TC_OK) {
            fprintf(stderr, "tensorcook %s: %s\n", o->cmd, tc_last_error());
            ok = false;
        }
        tc_checkpoint_free(extra);
    }
    tc_image_batcher_free(b);
    if (!ok || !o->n_rows) return ok;
    snprintf(path, sizeof path, "%s/metrics.csv", o->out_dir);
    snprintf(prefix, sizeof prefix, "%s/%s", o->out_dir, o->cmd);
    if (tc_write_metrics_csv(path, o->n_rows, o->rows) != TC_OK ||
        tc_plot_metrics(prefix, o->n_rows, o->rows, o->cmd) != TC_OK) {
        fprintf(stderr, "tensorcook %s: %s\n", o->cmd, tc_last_error());
        return false;
    }
    return true;
}

bool vision_predict(const char *cmd, tc_model *m, const tc_image_folder *classes_of, int n, char **images, int64_t h,
                    int64_t w, int mode, double rescale, bool binary)
{
    bool was = tc_set_grad_enabled(false);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        tc_tensor *x = vision_image(images[i], h, w, mode, rescale);
        tc_tensor *out = x ? tc_model_forward(m, x, false) : NULL;
        if (!out) {
            fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
            ok = false;
            break;
        }
        printf("%s:", images[i]);
        if (binary) {
            double p = 1 / (1 + exp(-out->data[0])); /* P(class 1) */
            printf(" %s %.4f, %s %.4f\n", tc_image_folder_class_name(classes_of, 0), 1 - p,
                   tc_image_folder_class_name(classes_of, 1), p);
        } else {
            tc_tensor *p = tc_softmax(out, 1);
            for (int c = 0; p && c < tc_image_folder_classes(classes_of); c++)
                printf(" %s %.4f%s", tc_image_folder_class_name(classes_of, c), p->data[c],
                       c + 1 < tc_image_folder_classes(classes_of) ? "," : "");
            printf("\n");
        }
        tc_step_reset();
    }
    tc_set_grad_enabled(was);
    return ok;
}

bool vision_transfer_args_init(vision_transfer_args *a, int argc, const char *default_out)
{
    *a = (vision_transfer_args){.out = default_out};
    a->predict = calloc((size_t)argc + 1, sizeof *a->predict);
    return a->predict != NULL;
}

void vision_transfer_args_free(vision_transfer_args *a) { free(a->predict); }

bool vision_transfer_opt(int argc, char **argv, int *i, vision_transfer_args *a, bool *bad)
{
    if (!strcmp(argv[*i], "--by-order")) {
        a->by_order = true;
        return true;
    }
    if (!strcmp(argv[*i], "--predict")) {
        while (*i + 1 < argc && argv[*i + 1][0] != '-') a->predict[a->n_predict++] = argv[++*i];
        *bad |= a->n_predict == 0;
        return true;
    }
    return vision_opt_str(argc, argv, i, "--train", &a->train_dir, bad) ||
           vision_opt_str(argc, argv, i, "--val", &a->val_dir, bad) ||
           vision_opt_str(argc, argv, i, "--weights", &a->weights, bad) ||
           vision_opt_str(argc, argv, i, "--out", &a->out, bad) ||
           vision_opt_str(argc, argv, i, "--summary-json", &a->summary_json, bad);
}

bool vision_open_train_val(const char *cmd, const char *train_dir, const char *val_dir, tc_image_folder_opts io,
                           tc_image_folder **train, tc_image_folder **val)
{
    io.flip_lr = true;
    *train = tc_image_folder_open(train_dir, &io);
    *val = NULL;
    if (*train && val_dir) {
        io.flip_lr = false;
        *val = tc_image_folder_open(val_dir, &io);
    }
    if (!*train || (val_dir && !*val)) {
        fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
        return false;
    }
    if (*val && tc_image_folder_classes(*val) != tc_image_folder_classes(*train)) {
        fprintf(stderr, "tensorcook %s: %s has %d classes but %s has %d\n", cmd, train_dir,
                tc_image_folder_classes(*train), val_dir, tc_image_folder_classes(*val));
        return false;
    }
    return true;
}

bool vision_save_model_h5(const char *cmd, const tc_model *m, const char *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/model.h5", out);
    if (tc_save_keras_weights(m, path) == TC_OK) return true;
    fprintf(stderr, "tensorcook %s: %s\n", cmd, tc_last_error());
    return false;
}

bool vision_zoo_args_init(vision_zoo_args *a, int argc)
{
    *a = (vision_zoo_args){.model = "vgg16", .seed = 42};
    a->images = calloc((size_t)argc + 1, sizeof *a->images);
    return a->images != NULL;
}

void vision_zoo_args_free(vision_zoo_args *a)
{
    vision_free_list(a->defaults, a->n_defaults);
    free(a->images);
}

bool vision_zoo_opt(int argc, char **argv, int *i, vision_zoo_args *a, bool *bad)
{
    if (!strcmp(argv[*i], "--no-top")) return a->no_top = true;
    if (!strcmp(argv[*i], "--by-order")) return a->by_order = true;
    if (vision_opt_str(argc, argv, i, "--model", &a->model, bad) ||
        vision_opt_str(argc, argv, i, "--weights", &a->weights, bad) ||
        vision_opt_str(argc, argv, i, "--out", &a->out, bad) ||
        vision_opt_str(argc, argv, i, "--summary-json", &a->summary_json, bad) ||
        vision_opt_str(argc, argv, i, "--precision", &a->precision, bad) ||
        opt_int(argc, argv, i, "--threads", &a->threads, bad) || opt_int(argc, argv, i, "--seed", &a->seed, bad))
        return true;
    if (argv[*i][0] == '-' && argv[*i][1]) return false; /* an option of the recipe's own, or unknown */
    a->images[a->n_images++] = argv[*i];
    return true;
}

bool vision_zoo_precision(const char *cmd, const vision_zoo_args *a, tc_precision *p)
{
    *p = TC_PRECISION_FP32;
    if (!a->precision || tc_precision_parse(a->precision, p)) return true;
    fprintf(stderr, "tensorcook %s: --precision %s: expected fp32, bf16 or int8\n", cmd, a->precision);
    return false;
}

bool vision_zoo_default_images(const char *cmd, vision_zoo_args *a)
{
    if (a->n_images) return true;
    a->defaults = vision_default_images(&a->n_defaults);
    if (!a->n_defaults) {
        fprintf(stderr, "tensorcook %s: no IMAGE given and no photos in %s (Debian package darknet)\n", cmd,
                VISION_DEFAULT_IMAGES);
        return false;
    }
    for (int i = 0; i < a->n_defaults; i++) a->images[i] = a->defaults[i];
    a->n_images = a->n_defaults;
    return true;
}
