/* tensorcook transfer: the cookbook's VGG16 fine-tuning (Keras' "building
 * powerful image classification models using very little data", part 3):
 *   VGG16 without its top, input 256x256, weights from the notop .h5;
 *   model.layers[:15] frozen (blocks 1 to 4: only block 5 and the top train);
 *   top = Flatten -> Dense 256 ReLU -> Dropout 0.5 -> Dense 1 sigmoid;
 *   binary cross-entropy; SGD lr 1e-4 momentum 0.9; batch 16;
 *   images rescaled by 1/255 (no mean subtraction, as the seed), random
 *   horizontal flips for training; validation after every epoch.
 * More than two classes: Dense N softmax with categorical cross-entropy.
 * Images stream from the folders (DIR/<class>/...) on a background thread. */
#include <stdlib.h>
#include <string.h>

#include "vision.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook transfer --train DIR --val DIR [options]\n"
            "  --train DIR         training images, one subfolder per class (Keras' flow_from_directory)\n"
            "  --val DIR           validation images, the same classes\n"
            "  --weights FILE      VGG16 notop weights (vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5);\n"
            "                      a file of this recipe's model (OUT/model.h5) loads too\n"
            "  --by-order          match the file's layers by position\n"
            "  --epochs N          epochs [50]; 0 with --predict: only predict\n"
            "  --batch N           batch size [16]\n"
            "  --lr X              SGD learning rate [0.0001]\n"
            "  --momentum X        SGD momentum [0.9]\n"
            "  --size N            input height and width [256]\n"
            "  --freeze N          layers frozen, Keras' model.layers[:N] [15]\n"
            "  --width-div N       divide every layer's width by N (quick runs and tests) [1]\n"
            "  --resume FILE       continue from OUT/checkpoint.tcck of an earlier run\n"
            "  --predict IMAGE...  after training, print each image's class probabilities\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of the new layers, shuffling, flips and dropout [42]\n"
            "  --out DIR           checkpoint.tcck, model.h5 (Keras weights), metrics.csv, curves [out/transfer]\n"
            "  --summary-json FILE first_val_loss, val_loss, val_accuracy, epochs, trainable_params\n");
    return rc;
}

int tc_cmd_transfer(int argc, char **argv)
{
    vision_transfer_args a;
    const char *resume = NULL;
    long long epochs = 50, batch = 16, size = 256, freeze = 15, width_div = 1, threads = 0, seed = 42;
    double lr = 1e-4, momentum = 0.9;
    bool bad = false;
    if (!vision_transfer_args_init(&a, argc, "out/transfer")) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            vision_transfer_args_free(&a);
            return usage(stdout, 0);
        }
        if (vision_transfer_opt(argc, argv, &i, &a, &bad) || vision_opt_str(argc, argv, &i, "--resume", &resume, &bad))
            continue;
        else if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--batch", &batch, &bad) ||
                 opt_int(argc, argv, &i, "--size", &size, &bad) || opt_int(argc, argv, &i, "--freeze", &freeze, &bad) ||
                 opt_int(argc, argv, &i, "--width-div", &width_div, &bad) ||
                 opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
                 opt_double(argc, argv, &i, "--lr", &lr, &bad) || opt_double(argc, argv, &i, "--momentum", &momentum, &bad))
            continue;
        else {
            fprintf(stderr, "tensorcook transfer: unknown option '%s'\n", argv[i]);
            vision_transfer_args_free(&a);
            return usage(stderr, 2);
        }
    }
    if (bad || epochs < 0 || batch < 1 || size < 32 || freeze < 0 || width_div < 1 || lr <= 0 || momentum < 0) {
        fprintf(stderr, "tensorcook transfer: invalid option values (see --help)\n");
        vision_transfer_args_free(&a);
        return 2;
    }
    if (!a.train_dir || (!a.val_dir && epochs > 0)) {
        fprintf(stderr, "tensorcook transfer: --train DIR and --val DIR are required\n");
        vision_transfer_args_free(&a);
        return 2;
    }
    set_threads("transfer", threads);
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    int rc = 1;
    tc_model *m = NULL;
    tc_optimizer *opt = NULL;
    vision_fit_opts fo = {0};
    tc_image_folder *train = NULL, *val = NULL;
    tc_image_folder_opts io = {.height = size, .width = size, .rescale = 1.0 / 255};
    if (!vision_open_train_val("transfer", a.train_dir, a.val_dir, io, &train, &val)) goto done;
    int classes = tc_image_folder_classes(train);
    bool binary = classes == 2;
    int hidden = (int)(256 / width_div > 0 ? 256 / width_div : 1);
    m = tc_zoo_model_with_top(TC_ZOO_VGG16, &(tc_zoo_opts){.height = size, .width = size, .width_div = (int)width_div},
                              "vgg16_transfer", (tc_layer *[]){
        tc_flatten_layer("flatten"),
        tc_dense(&(tc_dense_opts){.units = hidden, .act = TC_RELU, .name = "dense"}),
        tc_dropout_layer(0.5, "dropout"),
        /* sigmoid / softmax: inside the loss (from logits) */
        tc_dense(&(tc_dense_opts){.units = binary ? 1 : classes, .name = "dense_1"}),
        NULL});
    opt = m ? tc_sgd(lr, momentum, false) : NULL;
    if (!m || !opt) {
        fprintf(stderr, "tensorcook transfer: %s\n", tc_last_error());
        goto done;
    }
    /* a notop file has no top layers: they keep their fresh weights */
    if (!vision_load_weights("transfer", m, TC_ZOO_VGG16, false, a.weights, a.by_order, true)) goto done;
    tc_zoo_set_trainable(m, 0, (int)freeze, false);
    if (!a.weights) vision_random_note("transfer", TC_ZOO_VGG16, false);
    if (!prepare_out_dir("transfer", a.out)) goto done;
    double start_epoch = 0;
    if (resume) {
        tc_checkpoint *meta = NULL;
        if (tc_checkpoint_load_model(m, opt, resume, &meta) != TC_OK) {
            fprintf(stderr, "tensorcook transfer: %s\n", tc_last_error());
            goto done;
        }
        tc_checkpoint_get_scalar(meta, "epoch", &start_epoch);
        tc_checkpoint_free(meta);
    }
    char counts[128];
    vision_param_counts(m, counts, sizeof counts);
    printf("VGG16 transfer: %lld training and %lld validation images of %d classes (%s); layers[:%lld] frozen: "
           "params %s\n", (long long)tc_image_folder_size(train), (long long)(val ? tc_image_folder_size(val) : 0),
           classes, binary ? "sigmoid" : "softmax", freeze, counts);
    fo = (vision_fit_opts){.cmd = "transfer", .out_dir = a.out, .phase = "", .epochs = (int)epochs,
                           .first_epoch = (int)start_epoch, .batch = batch, .seed = (uint64_t)seed, .binary = binary};
    if (epochs > 0 && !vision_fit(m, opt, train, val, &fo)) goto done;
    if (!vision_save_model_h5("transfer", m, a.out)) goto done;
    if (a.n_predict && !vision_predict("transfer", m, train, a.n_predict, a.predict, size, size, -1, 1.0 / 255, binary)) goto done;
    if (a.summary_json) {
        int64_t t, n;
        tc_model_count_params(m, &t, &n);
        const char *keys[] = {"first_val_loss", "val_loss", "val_accuracy", "epochs", "trainable_params",
                              "non_trainable_params"};
        double vals[] = {fo.first_val_loss, fo.last_val_loss, fo.last_val_acc, (double)epochs, (double)t, (double)n};
        if (!write_summary_json("transfer", a.summary_json, 6, keys, vals)) goto done;
    }
    rc = 0;
done:
    free(fo.rows);
    tc_optimizer_free(opt);
    tc_model_free(m);
    tc_image_folder_free(train);
    tc_image_folder_free(val);
    vision_transfer_args_free(&a);
    return rc;
}
