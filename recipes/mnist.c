/* tensorcook mnist: the cookbook's CNN on MNIST-format data (default:
 * Fashion-MNIST from Debian's dataset-fashion-mnist).
 *   28x28x1 -> conv 5x5 32 SAME relu -> maxpool 2 -> conv 5x5 64 SAME relu
 *   -> maxpool 2 -> dense 1024 relu -> dropout (keep 0.85) -> dense 10
 *   softmax cross-entropy, Adam 1e-3, batch 128, 500 iterations,
 *   evaluation every 10 steps; loss and accuracy curves. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook mnist [options]\n"
            "  --data DIR          MNIST-format folder (train-/t10k- images/labels, gz or raw) [" DEFAULT_DATA "]\n"
            "  --iters N           training iterations [500]\n"
            "  --epochs N          train whole epochs instead of --iters\n"
            "  --batch N           batch size [128]\n"
            "  --lr X              Adam learning rate [0.001]\n"
            "  --display-step N    log line and evaluation every N steps [10]\n"
            "  --eval-examples N   test examples per periodic evaluation [1000; the final one uses all]\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of weights, shuffling and dropout [42]\n"
            "  --out DIR           curves (PNG), metrics.csv, TensorBoard events, checkpoint [out/mnist]\n"
            "  --resume FILE       continue from a checkpoint written by this recipe\n"
            "  --summary-json FILE test_accuracy, test_loss, train_seconds, examples_per_second\n");
    return rc;
}

static void log_line(const tc_metrics *r, void *ctx)
{
    (void)ctx;
    printf("Iter %lld, Minibatch Loss= %.6f, Training Accuracy= %.5f", (long long)r->step, r->loss, r->accuracy);
    if (r->val_accuracy == r->val_accuracy) printf(", Test Accuracy= %.5f", r->val_accuracy);
    printf("\n");
    fflush(stdout);
}

int tc_cmd_mnist(int argc, char **argv)
{
    const char *data = DEFAULT_DATA, *out = "out/mnist", *resume = NULL, *summary = NULL;
    long long iters = 500, epochs = 0, batch = 128, display = 10, threads = 0, seed = 42, eval_examples = 1000;
    double lr = 1e-3;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (opt_str(argc, argv, &i, "--data", &data) || opt_str(argc, argv, &i, "--out", &out) ||
            opt_str(argc, argv, &i, "--resume", &resume) || opt_str(argc, argv, &i, "--summary-json", &summary)) {
            bad |= !data || !out;
            continue;
        }
        if (opt_int(argc, argv, &i, "--iters", &iters, &bad) || opt_int(argc, argv, &i, "--epochs", &epochs, &bad) ||
            opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--display-step", &display, &bad) ||
            opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
            opt_int(argc, argv, &i, "--eval-examples", &eval_examples, &bad) ||
            opt_double(argc, argv, &i, "--lr", &lr, &bad))
            continue;
        fprintf(stderr, "tensorcook mnist: unknown option '%s'\n", argv[i]);
        return usage(stderr, 2);
    }
    if (bad || iters < 1 || batch < 1 || display < 1 || lr <= 0 || epochs < 0) {
        fprintf(stderr, "tensorcook mnist: invalid option values (see --help)\n");
        return 2;
    }
    set_threads("mnist", threads);
    tc_dataset *train = tc_load_mnist(data, "train"), *test = train ? tc_load_mnist(data, "t10k") : NULL;
    if (!train || !test) {
        fprintf(stderr, "tensorcook mnist: %s\n", tc_last_error());
        tc_dataset_free(train);
        return 1;
    }
    if (train->x->shape[1] != 28 || train->x->shape[2] != 28) {
        fprintf(stderr, "tensorcook mnist: %s holds %lldx%lld images; the network takes 28x28\n", data,
                (long long)train->x->shape[1], (long long)train->x->shape[2]);
        tc_dataset_free(train);
        tc_dataset_free(test);
        return 1;
    }
    int rc = 1;
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    tc_model *m = tc_mnist_cnn(&(tc_mnist_cnn_opts){.classes = train->classes}); /* src/models/cookbook_cnn.c */
    tc_optimizer *opt = tc_adam(lr);
    char ckpt[4200], csv[4200], plots[4200], tb[4200];
    if (!m || !opt) {
        fprintf(stderr, "tensorcook mnist: %s\n", tc_last_error());
        goto done;
    }
    if (!prepare_out_dir("mnist", out)) goto done;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.tcck", out);
    snprintf(csv, sizeof csv, "%s/metrics.csv", out);
    snprintf(plots, sizeof plots, "%s/mnist", out);
    snprintf(tb, sizeof tb, "%s/tensorboard", out);
    if (resume && tc_load_model(resume, m, opt) != TC_OK) {
        fprintf(stderr, "tensorcook mnist: %s\n", tc_last_error());
        goto done;
    }
    tc_model_summary(m, stdout);
    printf("training on %lld images from %s, testing on %lld; %d threads\n", (long long)tc_dataset_size(train), data,
           (long long)tc_dataset_size(test), tc_num_threads());
    tc_fit_result r;
    tc_status s = tc_fit(m, train, &(tc_fit_opts){
        .iterations = epochs > 0 ? 0 : iters, .epochs = (int)epochs, .batch = batch, .seed = (uint64_t)seed,
        .optimizer = opt, .loss = TC_LOSS_SPARSE_CE, .validation = test, .eval_every = display,
        .eval_max_examples = eval_examples, .log_every = display, .progress = stderr, .csv_path = csv,
        .tensorboard_dir = tb, .plot_prefix = plots, .checkpoint_path = ckpt, .on_metrics = log_line}, &r);
    if (s != TC_OK) {
        fprintf(stderr, "tensorcook mnist: %s\n", tc_last_error());
        goto done;
    }
    double test_loss, test_acc;
    if (tc_evaluate(m, test, TC_LOSS_SPARSE_CE, 500, 0, &test_loss, &test_acc) != TC_OK) {
        fprintf(stderr, "tensorcook mnist: %s\n", tc_last_error());
        goto done;
    }
    printf("Optimization Finished!\nTesting Accuracy: %.4f (loss %.4f) on %lld images\n", test_acc, test_loss,
           (long long)tc_dataset_size(test));
    printf("%lld steps in %.1f s (%.0f images/s); curves: %s_loss.png, %s_accuracy.png; metrics: %s\n",
           (long long)r.steps, r.train_seconds, r.examples_per_second, plots, plots, csv);
    if (summary) {
        const char *keys[] = {"test_accuracy", "test_loss", "train_seconds", "examples_per_second", "steps"};
        double vals[] = {test_acc, test_loss, r.train_seconds, r.examples_per_second, (double)r.steps};
        if (!write_summary_json("mnist", summary, 5, keys, vals)) goto done;
    }
    rc = 0;
done:
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_dataset_free(train);
    tc_dataset_free(test);
    return rc;
}
