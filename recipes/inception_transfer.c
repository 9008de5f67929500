/* tensorcook inception-transfer: the cookbook's InceptionV3 fine-tuning in
 * two phases (Keras' applications documentation, "fine-tune InceptionV3 on
 * a new set of classes"):
 *   base = InceptionV3 without its top (notop .h5), input 299x299, images
 *   preprocessed as InceptionV3's ('tf': x / 127.5 - 1);
 *   top = GlobalAveragePooling2D -> Dense 1024 ReLU -> Dense N softmax;
 *   phase 1: the base frozen, the top trained with RMSprop;
 *   phase 2: model.layers[:K] frozen, the rest trained with SGD lr 1e-4
 *   momentum 0.9. K defaults to 249 (Keras 2: mixed9 and mixed10 train);
 *   the cookbook's 172 is the Keras 1 index, inside mixed6 in Keras 2 and
 *   accepted as it is. Each phase prints its trainable and non-trainable
 *   parameter counts. */
#include <stdlib.h>
#include <string.h>

#include "vision.h"

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: tensorcook inception-transfer --train DIR --val DIR [options]\n"
            "  --train DIR         training images, one subfolder per class\n"
            "  --val DIR           validation images, the same classes\n"
            "  --weights FILE      InceptionV3 notop weights (inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5)\n"
            "  --by-order          match the file's layers by position (Keras' own application files need it)\n"
            "  --epochs N          epochs of each phase [3]\n"
            "  --epochs1 N, --epochs2 N  epochs of phase 1 (top only) and phase 2 (fine-tuning)\n"
            "  --unfreeze-from K   phase 2 trains model.layers[K:] [249; the cookbook's 172 lands in mixed6]\n"
            "  --batch N           batch size [32]\n"
            "  --lr1 X             RMSprop learning rate of phase 1 [0.001]\n"
            "  --lr2 X             SGD learning rate of phase 2 [0.0001], momentum 0.9\n"
            "  --size N            input height and width [299]\n"
            "  --width-div N       divide every layer's width by N (quick runs and tests) [1]\n"
            "  --predict IMAGE...  after training, print each image's class probabilities\n"
            "  --threads N         threads [TENSORCOOK_THREADS or all cores]\n"
            "  --seed N            seed of the new layers, shuffling and flips [42]\n"
            "  --out DIR           checkpoint.tcck, model.h5, metrics.csv, curves per phase [out/inception-transfer]\n"
            "  --summary-json FILE first_val_loss, val_loss, val_accuracy, trainable params of each phase\n");
    return rc;
}

int tc_cmd_inception_transfer(int argc, char **argv)
{
    vision_transfer_args a;
    long long epochs1 = 3, epochs2 = 3, unfreeze = 249, batch = 32, size = 299, width_div = 1, threads = 0, seed = 42,
              epochs = -1;
    double lr1 = 1e-3, lr2 = 1e-4;
    bool bad = false;
    if (!vision_transfer_args_init(&a, argc, "out/inception-transfer")) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            vision_transfer_args_free(&a);
            return usage(stdout, 0);
        }
        if (vision_transfer_opt(argc, argv, &i, &a, &bad))
            continue;
        else if (opt_int(argc, argv, &i, "--epochs", &epochs, &bad) || opt_int(argc, argv, &i, "--epochs1", &epochs1, &bad) ||
                 opt_int(argc, argv, &i, "--epochs2", &epochs2, &bad) ||
                 opt_int(argc, argv, &i, "--unfreeze-from", &unfreeze, &bad) ||
                 opt_int(argc, argv, &i, "--batch", &batch, &bad) || opt_int(argc, argv, &i, "--size", &size, &bad) ||
                 opt_int(argc, argv, &i, "--width-div", &width_div, &bad) ||
                 opt_int(argc, argv, &i, "--threads", &threads, &bad) || opt_int(argc, argv, &i, "--seed", &seed, &bad) ||
                 opt_double(argc, argv, &i, "--lr1", &lr1, &bad) || opt_double(argc, argv, &i, "--lr2", &lr2, &bad))
            continue;
        else {
            fprintf(stderr, "tensorcook inception-transfer: unknown option '%s'\n", argv[i]);
            vision_transfer_args_free(&a);
            return usage(stderr, 2);
        }
    }
    if (epochs >= 0) epochs1 = epochs2 = epochs;
    if (bad || epochs1 < 0 || epochs2 < 0 || batch < 1 || size < 75 || width_div < 1 || unfreeze < 0 || lr1 <= 0 ||
        lr2 <= 0) {
        fprintf(stderr, "tensorcook inception-transfer: invalid option values (see --help)\n");
        vision_transfer_args_free(&a);
        return 2;
    }
    if (!a.train_dir || !a.val_dir) {
        fprintf(stderr, "tensorcook inception-transfer: --train DIR and --val DIR are required\n");
        vision_transfer_args_free(&a);
        return 2;
    }
    set_threads("inception-transfer", threads);
    tc_nn_seed((uint64_t)seed);
    tc_manual_seed((uint64_t)seed);
    int rc = 1;
    tc_model *m = NULL;
    tc_optimizer *opt1 = NULL, *opt2 = NULL;
    vision_fit_opts f1 = {0}, f2 = {0};
    tc_image_folder *train = NULL, *val = NULL;
    /* InceptionV3's own preprocessing, x / 127.5 - 1 */
    tc_image_folder_opts io = {.height = size, .width = size, .rescale = 1.0 / 127.5, .offset = -1};
    if (!vision_open_train_val("inception-transfer", a.train_dir, a.val_dir, io, &train, &val)) goto done;
    int classes = tc_image_folder_classes(train);
    int hidden = (int)(1024 / width_div > 0 ? 1024 / width_div : 1);
    m = tc_zoo_model_with_top(TC_ZOO_INCEPTION_V3,
                              &(tc_zoo_opts){.height = size, .width = size, .width_div = (int)width_div},
                              "inception_v3_transfer", (tc_layer *[]){
        tc_global_avgpool("global_average_pooling2d"),
        tc_dense(&(tc_dense_opts){.units = hidden, .act = TC_RELU, .name = "dense"}),
        tc_dense(&(tc_dense_opts){.units = classes, .name = "dense_1"}), /* softmax: inside the loss */
        NULL});
    opt1 = m ? tc_rmsprop(lr1, 0.9, 0, 1e-7) : NULL;
    opt2 = opt1 ? tc_sgd(lr2, 0.9, false) : NULL;
    if (!m || !opt2) {
        fprintf(stderr, "tensorcook inception-transfer: %s\n", tc_last_error());
        goto done;
    }
    int n_layers = tc_zoo_layer_count(m), base_layers = n_layers - 3;
    if (unfreeze >= n_layers) {
        fprintf(stderr, "tensorcook inception-transfer: --unfreeze-from %lld: the model has %d layers\n", unfreeze,
                n_layers);
        goto done;
    }
    if (!vision_load_weights("inception-transfer", m, TC_ZOO_INCEPTION_V3, false, a.weights, a.by_order, true)) goto done;
    if (!a.weights) vision_random_note("inception-transfer", TC_ZOO_INCEPTION_V3, false);
    if (!prepare_out_dir("inception-transfer", a.out)) goto done;
    const char *block = tc_zoo_inception_block_of(m, (int)unfreeze);
    printf("InceptionV3 transfer: %lld training and %lld validation images of %d classes; %d layers (base %d)\n",
           (long long)tc_image_folder_size(train), (long long)tc_image_folder_size(val), classes, n_layers, base_layers);
    /* phase 1: only the new top */
    tc_zoo_set_trainable(m, 0, base_layers, false);
    char counts[128];
    vision_param_counts(m, counts, sizeof counts);
    int64_t t1, t2, nt;
    tc_model_count_params(m, &t1, &nt);
    printf("phase 1 (base frozen, RMSprop lr %g): params %s\n", lr1, counts);
    f1 = (vision_fit_opts){.cmd = "inception-transfer", .out_dir = a.out, .phase = "[phase 1] ", .epochs = (int)epochs1,
                           .batch = batch, .seed = (uint64_t)seed};
    if (epochs1 > 0 && !vision_fit(m, opt1, train, val, &f1)) goto done;
    /* phase 2: layers[K:] train */
    tc_zoo_set_trainable(m, 0, (int)unfreeze, false);
    tc_zoo_set_trainable(m, (int)unfreeze, -1, true);
    vision_param_counts(m, counts, sizeof counts);
    tc_model_count_params(m, &t2, &nt);
    printf("phase 2 (layers[%lld:] trainable, from %s (%s) inside block %s; SGD lr %g momentum 0.9): params %s\n",
           unfreeze, unfreeze ? tc_layer_name(tc_zoo_layer_at(m, (int)unfreeze)) : "input_1",
           unfreeze ? tc_layer_type(tc_zoo_layer_at(m, (int)unfreeze)) : "InputLayer", block ? block : "(the top)",
           lr2, counts);
    f2 = (vision_fit_opts){.cmd = "inception-transfer", .out_dir = a.out, .phase = "[phase 2] ", .epochs = (int)epochs2,
                           .first_epoch = (int)epochs1, .batch = batch, .seed = (uint64_t)seed + 1};
    if (epochs2 > 0 && !vision_fit(m, opt2, train, val, &f2)) goto done;
    if (!vision_save_model_h5("inception-transfer", m, a.out)) goto done;
    if (a.n_predict && !vision_predict("inception-transfer", m, train, a.n_predict, a.predict, size, size, TC_PREPROCESS_TF, 1, false))
        goto done;
    if (a.summary_json) {
        double first = f1.n_rows ? f1.first_val_loss : f2.first_val_loss;
        const vision_fit_opts *last = f2.n_rows ? &f2 : &f1;
        const char *keys[] = {"first_val_loss", "val_loss", "val_accuracy", "phase1_trainable_params",
                              "phase2_trainable_params", "phase1_val_loss", "phase2_first_val_loss"};
        double vals[] = {first, last->last_val_loss, last->last_val_acc, (double)t1, (double)t2, f1.last_val_loss,
                         f2.first_val_loss};
        if (!write_summary_json("inception-transfer", a.summary_json, 7, keys, vals)) goto done;
    }
    rc = 0;
done:
    free(f1.rows);
    free(f2.rows);
    tc_optimizer_free(opt1);
    tc_optimizer_free(opt2);
    tc_model_free(m);
    tc_image_folder_free(train);
    tc_image_folder_free(val);
    vision_transfer_args_free(&a);
    return rc;
}
