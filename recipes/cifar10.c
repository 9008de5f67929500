/* tensorcook cifar10: the cookbook's TFLearn CNN on CIFAR-10 binary batches.
 *   featurewise zero-centre + std normalisation; random left-right flips and
 *   rotations up to 25 degrees;
 *   32x32x3 -> conv 3x3 32 relu -> maxpool 2 -> conv 3x3 64 relu ->
 *   conv 3x3 64 relu -> maxpool 2 -> dense 512 relu -> dropout 0.5 ->
 *   dense 10 softmax; categorical cross-entropy, Adam 1e-3, batch 96,
 *   50 epochs, validation on the test batch each epoch. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook cifar10 --data DIR [options]\n"
            "  --data DIR          folder with data_batch_1..5.bin, test_batch.bin [, batches.meta.txt]\n"
            "  --epochs N          epochs [50]\n"
            "  --iters N           train N steps instead of whole epochs\n"
            "  --batch N           batch size [96]\n"
            "  --lr X              Adam learning rate [0.001]\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of weights, shuffling, augmentation and dropout [42]\n"
            "  --out DIR           curves, metrics.csv, TensorBoard events, checkpoints [out/cifar10]\n"
            "  --resume FILE       continue from a checkpoint written by this recipe\n"
            "  --summary-json FILE test_accuracy, test_loss, train_seconds, examples_per_second\n");
    return rc;
}

static void epoch_line(const tc_metrics *r, void *ctx)
{
    if (r->val_accuracy == r->val_accuracy)
        printf("Training Step: %lld | epoch: %03d | loss: %.5f - acc: %.4f | val_loss: %.5f - val_acc: %.4f\n",
               (long long)r->step, r->epoch, r->loss, r->accuracy, r->val_loss, r->val_accuracy);
    fflush(stdout);
}

int tc_cmd_cifar10(int argc, char **argv)
{
    const char *data = NULL, *out = "out/cifar10", *resume = NULL, *summary = NULL;
    long long epochs = 50, iters = 0, batch = 96, threads = 0, seed = 42;
    double lr = 1e-3;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_str(argc, argv, &i, "--data", &data) || opt_str(argc, argv, &i, "--out", &out) ||
            opt_str(argc, argv, &i, "--resume", &resume) || opt_str(argc, argv, &i, "--summary-json", &summary)) {
            bad |= !data || !out;
            continue;
        }
        if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--iters", &iters, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--threads", &threads, &bad) ||
            opt_int(argc, argv, &i, "--seed", &seed, &bad) || opt_double(argc, argv, &i, "--lr", &lr, &bad))
            continue;
        fprintf(stderr, "tensorcook cifar10: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (!data) {
        fprintf(stderr, "tensorcook cifar10: --data DIR is required (the CIFAR-10 binary version)\n");
        return 2;
    }
    if (bad || epochs < 1 || iters < 0 || batch < 1 || lr <= 0) {
        fprintf(stderr, "tensorcook cifar10: invalid option values (see --help)\n");
        return 2;
    }
    set_threads("cifar10", threads);
    tc_dataset *train = tc_load_cifar10(data, true), *test = train ? tc_load_cifar10(data, false) : NULL;
    if (!train || !test) {
        fprintf(stderr, "tensorcook cifar10: %s\n", tc_last_error());
        tc_dataset_free(train);
        return 1;
    }
    int rc = 1;
    tc_normalizer norm = {0};
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    tc_model *m = tc_cifar10_cnn(NULL); /* src/models/cookbook_cnn.c */
    tc_optimizer *opt = tc_adam(lr);
    char ckpt[4200], best[4200], csv[4200], plots[4200], tb[4200];
    /* TFLearn's featurewise zero-centre and std-norm: one mean and one std
     * over every value of the training set, applied to both sets */
    if (!m || !opt || tc_normalizer_fit_scope(&norm, train, TC_NORM_GLOBAL) != TC_OK ||
        tc_normalizer_apply(&norm, train) != TC_OK || tc_normalizer_apply(&norm, test) != TC_OK) {
        fprintf(stderr, "tensorcook cifar10: %s\n", tc_last_error());
        goto done;
    }
    if (!prepare_out_dir("cifar10", out)) goto done;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.tcck", out);
    snprintf(best, sizeof best, "%s/best.tcck", out);
    snprintf(csv, sizeof csv, "%s/metrics.csv", out);
    snprintf(plots, sizeof plots, "%s/cifar10", out);
    snprintf(tb, sizeof tb, "%s/tensorboard", out);
    if (resume && tc_load_model(resume, m, opt) != TC_OK) {
        fprintf(stderr, "tensorcook cifar10: %s\n", tc_last_error());
        goto done;
    }
    tc_model_summary(m, stdout);
    tc_augment_opts aug = {.flip_lr = true, .max_rotation_degrees = 25};
    tc_fit_result r;
    if (tc_fit(m, train, &(tc_fit_opts){
            .epochs = (int)epochs, .iterations = iters, .batch = batch, .seed = (uint64_t)seed, .optimizer = opt,
            .loss = TC_LOSS_SPARSE_CE, .validation = test, .augment = &aug, .progress = stderr, .csv_path = csv,
            .tensorboard_dir = tb, .plot_prefix = plots, .checkpoint_path = ckpt, .best_checkpoint_path = best,
            .on_metrics = epoch_line}, &r) != TC_OK) {
        fprintf(stderr, "tensorcook cifar10: %s\n", tc_last_error());
        goto done;
    }
    double loss, acc;
    if (tc_evaluate(m, test, TC_LOSS_SPARSE_CE, 500, 0, &loss, &acc) != TC_OK) {
        fprintf(stderr, "tensorcook cifar10: %s\n", tc_last_error());
        goto done;
    }
    printf("test accuracy %.4f, loss %.4f; %lld steps in %.1f s (%.0f images/s); outputs in %s\n", acc, loss,
           (long long)r.steps, r.train_seconds, r.examples_per_second, out);
    if (summary) {
        const char *keys[] = {"test_accuracy", "test_loss", "train_seconds", "examples_per_second", "steps"};
        double vals[] = {acc, loss, r.train_seconds, r.examples_per_second, (double)r.steps};
        if (!write_summary_json("cifar10", summary, 5, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_normalizer_free(&norm);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(train);
    tc_dataset_free(test);
    return rc;
}
