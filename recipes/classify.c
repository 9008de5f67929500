/* tensorcook classify: ImageNet classification with the Keras application
 * models, as the cookbook's "classify images with VGG16, VGG19, ResNet50,
 * InceptionV3, Xception": each model at its own input size (224 or 299)
 * with its own preprocessing, images loaded as Keras' load_img does
 * (Pillow-equal decoding, NEAREST resize), the top-5 labels with their
 * probabilities (Keras' decode_predictions); --summary prints the
 * architecture as Keras' model.summary(). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vision.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook classify [IMAGE...] --model NAME [options]\n"
            "       tensorcook classify --model NAME --summary [--no-top]\n"
            "  IMAGE...            JPEG or PNG files [darknet's photos in " VISION_DEFAULT_IMAGES "]\n"
            "  --model NAME        vgg16, vgg19, resnet50, inception_v3, xception [vgg16]\n"
            "  --weights FILE      Keras .h5 weights (the application file); without it the weights are random\n"
            "  --by-order          match the file's layers by position (Keras' load_weights without by_name)\n"
            "  --labels FILE       class names: one per line, or Keras' imagenet_class_index.json\n"
            "                      [the ImageNet index built from darknet's lists]\n"
            "  --top N             labels per image [5]\n"
            "  --json FILE         the predictions as JSON\n"
            "  --summary           print the model's layers and parameter counts, then stop\n"
            "  --no-top            with --summary: the model without its classifier\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            VISION_PRECISION_HELP CONV_OPT_HELP
            "  --seed N            seed of the random weights when no --weights [42]\n"
            "  --out DIR           also write DIR/predictions.json\n"
            "  --summary-json FILE images, seconds, top1_probability (of the first image), conv\n");
    return rc;
}

/* JSON string body: quotes and backslashes escaped, control characters dropped */
static void json_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
}

typedef struct {
    int k;
    int *idx;
    double *p;
} topk;

static void top_of(const tc_tensor *probs, int k, topk *t)
{
    int64_t n = probs->shape[1];
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int64_t c = 0; c < n; c++) {
            bool used = false;
            for (int q = 0; q < j; q++) used |= t->idx[q] == c;
            if (!used && (best < 0 || probs->data[c] > probs->data[best])) best = (int)c;
        }
        t->idx[j] = best;
        t->p[j] = probs->data[best];
    }
}

static bool write_json(const char *path, int n, char **images, const topk *tops, const tc_labels *labels)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return false;
    fprintf(f, "[\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "  {\"image\": \"");
        json_escaped(f, images[i]);
        fprintf(f, "\", \"top\": [");
        for (int j = 0; j < tops[i].k; j++) {
            int c = tops[i].idx[j];
            fprintf(f, "%s{\"index\": %d, \"id\": \"", j ? ", " : "", c);
            json_escaped(f, labels && c < labels->n && labels->ids[c] ? labels->ids[c] : "");
            fprintf(f, "\", \"label\": \"");
            if (labels && c < labels->n) json_escaped(f, labels->names[c]);
            else fprintf(f, "class_%d", c);
            fprintf(f, "\", \"probability\": %.6g}", tops[i].p[j]);
        }
        fprintf(f, "]}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "]\n");
    fclose(f);
    bool ok = tc_write_file_atomic(path, buf, len) == TC_OK;
    if (!ok) fprintf(stderr, "tensorcook classify: %s\n", tc_last_error());
    free(buf);
    return ok;
}

int tc_cmd_classify(int argc, char **argv)
{
    vision_zoo_args a;
    const char *labels_path = NULL, *json = NULL;
    long long top = 5;
    bool summary = false, bad = false;
    if (!vision_zoo_args_init(&a, argc)) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            vision_zoo_args_free(&a);
            return usage(stdout, 0);
        }
        if (!strcmp(argv[i], "--summary")) summary = true;
        else if (vision_opt_str(argc, argv, &i, "--labels", &labels_path, &bad) ||
                 vision_opt_str(argc, argv, &i, "--json", &json, &bad) || opt_int(argc, argv, &i, "--top", &top, &bad) ||
                 opt_conv(argc, argv, &i, &bad) || vision_zoo_opt(argc, argv, &i, &a, &bad))
            continue;
        else {
            fprintf(stderr, "tensorcook classify: unknown option '%s'\n", argv[i]);
            vision_zoo_args_free(&a);
            return usage(stderr, 2);
        }
    }
    if (bad || top < 1) {
        fprintf(stderr, "tensorcook classify: invalid option values (see --help)\n");
        vision_zoo_args_free(&a);
        return 2;
    }
    tc_precision prec;
    if (!vision_zoo_precision("classify", &a, &prec)) {
        vision_zoo_args_free(&a);
        return 2;
    }
    int arch = vision_arch("classify", a.model);
    if (arch < 0) {
        vision_zoo_args_free(&a);
        return 2;
    }
    set_threads("classify", a.threads);
    tc_nn_seed((uint64_t)a.seed);
    bool include_top = !(summary && a.no_top);
    int rc = 1;
    tc_labels *labels = NULL;
    topk *tops = NULL;
    tc_model *m = tc_zoo_model(arch, &(tc_zoo_opts){.include_top = include_top});
    if (!m) {
        fprintf(stderr, "tensorcook classify: %s\n", tc_last_error());
        goto done;
    }
    if (summary) {
        rc = tc_model_summary(m, stdout) == TC_OK ? 0 : 1;
        goto done;
    }
    if (!vision_zoo_default_images("classify", &a)) goto done;
    labels = labels_path ? tc_labels_load(labels_path) : tc_imagenet_labels_darknet(NULL);
    if (!labels) {
        fprintf(stderr, "tensorcook classify: %s%s\n", tc_last_error(),
                labels_path ? "" : " (give --labels FILE, or install Debian's darknet for the ImageNet index)");
        goto done;
    }
    if (labels->n != 1000) {
        fprintf(stderr, "tensorcook classify: %s has %d class names; the ImageNet models have 1000\n", labels_path,
                labels->n);
        goto done;
    }
    if (!vision_load_weights("classify", m, arch, true, a.weights, a.by_order, false)) goto done;
    /* inference only: BatchNormalization folded into the convolutions, ReLU and residual adds fused */
    if (tc_model_prepare_inference_prec(m, prec, NULL, NULL) != TC_OK) {
        fprintf(stderr, "tensorcook classify: %s\n", tc_last_error());
        goto done;
    }
    int64_t size = tc_zoo_default_size(arch);
    int k = top > 1000 ? 1000 : (int)top;
    tops = calloc((size_t)a.n_images, sizeof *tops);
    if (!tops) goto done;
    bool was = tc_set_grad_enabled(false);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = true;
    for (int i = 0; i < a.n_images && ok; i++) {
        tc_tensor *x = vision_image(a.images[i], size, size, tc_zoo_preprocess_mode(arch), 1);
        tc_tensor *probs = x ? tc_model_forward(m, x, false) : NULL;
        tops[i].k = k;
        tops[i].idx = calloc((size_t)k, sizeof *tops[i].idx);
        tops[i].p = calloc((size_t)k, sizeof *tops[i].p);
        if (!probs || !tops[i].idx || !tops[i].p) {
            fprintf(stderr, "tensorcook classify: %s\n", tc_last_error());
            ok = false;
            break;
        }
        top_of(probs, k, &tops[i]);
        if (i == 0 && !a.weights) vision_random_note("classify", arch, true);
        printf("%s (%s):\n", a.images[i], tc_zoo_arch_name(arch));
        for (int j = 0; j < k; j++) {
            int c = tops[i].idx[j];
            printf("  %d. %-10s %-28s %.4f\n", j + 1, labels->ids[c] ? labels->ids[c] : "", labels->names[c],
                   tops[i].p[j]);
        }
        fflush(stdout);
        tc_step_reset();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tc_set_grad_enabled(was);
    if (!ok) goto done;
    if (json && !write_json(json, a.n_images, a.images, tops, labels)) goto done;
    if (a.out) {
        char path[4200];
        snprintf(path, sizeof path, "%s/predictions.json", a.out);
        if (!prepare_out_dir("classify", a.out) || !write_json(path, a.n_images, a.images, tops, labels)) goto done;
    }
    if (a.summary_json) {
        const char *keys[] = {"images", "seconds", "top1_probability", "top1_index"};
        double vals[] = {a.n_images, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
                         tops[0].p[0], tops[0].idx[0]};
        if (!write_summary_json_conv("classify", a.summary_json, 4, keys, vals)) goto done;
    }
    rc = 0;
done:
    for (int i = 0; tops && i < a.n_images; i++) {
        free(tops[i].idx);
        free(tops[i].p);
    }
    free(tops);
    tc_labels_free(labels);
    tc_model_free(m);
    vision_zoo_args_free(&a);
    return rc;
}
