/* The model zoo: Keras' application architectures VGG16, VGG19, ResNet50,
 * InceptionV3 and Xception, built from the nn layers with Keras' layer
 * names, layer order and parameter counts, so that Keras weight files load
 * by name (or by order) and "freeze the first 15 layers" means what it
 * means in Keras; plus each model's input preprocessing and the ImageNet
 * class names.
 *
 * Layer indices: Keras' model.layers[0] is the InputLayer of these
 * functional models, so Keras index i is tc_model_layer_at(m, i - 1);
 * tc_zoo_layer_at and tc_zoo_set_trainable take Keras indices.
 *
 * ResNet50 follows Keras 2.3+ / tf.keras / Keras 3 (keras.applications.
 * ResNet50: conv2_block1_1_conv names, BatchNormalization epsilon 1.001e-5,
 * top "predictions", the weight file resnet50_weights_tf_dim_ordering_tf_
 * kernels.h5 of storage.googleapis.com/tensorflow/keras-applications/resnet/);
 * .keras22_names gives Keras 2.2's resnet50.py instead (res2a_branch2a,
 * bn_conv1, epsilon 1e-3, top "fc1000": the older file of fchollet's
 * deep-learning-models v0.2 release). Both are ResNet v1 with the stride on
 * the first 1x1 convolution of a conv block and on its shortcut. */
#ifndef TENSORCOOK_MODELS_H
#define TENSORCOOK_MODELS_H

#include "core.h"
#include "nn.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TC_ZOO_VGG16 = 0, TC_ZOO_VGG19, TC_ZOO_RESNET50, TC_ZOO_INCEPTION_V3, TC_ZOO_XCEPTION, TC_ZOO_COUNT } tc_zoo_arch;
typedef enum { TC_ZOO_POOL_NONE = 0, TC_ZOO_POOL_AVG, TC_ZOO_POOL_MAX } tc_zoo_pooling;

typedef struct {
    bool include_top;          /* the classifier (Keras' default is true; here set it) */
    tc_zoo_pooling pooling;    /* without the top: none (4-D features), avg or max (GlobalAverage/MaxPooling2D) */
    int classes;               /* with the top: 0 means 1000 */
    int64_t height, width;     /* 0: the model's own size (224, or 299 for InceptionV3/Xception); Keras'
                                  minimum sizes apply (32, 75, 71); with the top VGG needs 224x224 */
    int width_div;             /* > 1 divides every filter count and hidden width (tests of the
                                  same code at a fraction of the cost); 0 or 1: Keras' sizes */
    bool keras22_names;        /* ResNet50: Keras 2.2 names (see above) */
    bool avg_pool;             /* VGG16/VGG19: close the five blocks with 2x2 average pooling instead of
                                  max (Gatys' style transfer), SAME padding as tf.nn.avg_pool in the
                                  cookbook (the padded cells not counted; equal to VALID on even sizes);
                                  same layer names (block1_pool, ...) */
} tc_zoo_opts;

/* Builds an architecture with fresh (random, seeded by tc_nn_seed) weights.
 * NULL opts: include_top, 1000 classes. */
tc_model *tc_zoo_model(tc_zoo_arch arch, const tc_zoo_opts *o);
/* The same base with layers appended in sequence after its output (a new
 * classifier for transfer learning: Flatten, Dense, ...). The model owns
 * them (also on failure). top: NULL-terminated. */
tc_model *tc_zoo_model_with_top(tc_zoo_arch arch, const tc_zoo_opts *o, const char *name, tc_layer *const *top);

/* "vgg16", "vgg19", "resnet50", "inception_v3", "xception" (also Keras'
 * class names "VGG16", "InceptionV3", ...); -1 if unknown. */
int tc_zoo_arch_from_name(const char *name);
const char *tc_zoo_arch_name(tc_zoo_arch arch);      /* "vgg16", ... */
int64_t tc_zoo_default_size(tc_zoo_arch arch);       /* 224 or 299 */
/* The file keras.applications downloads into ~/.keras/models/ for
 * weights='imagenet', e.g. "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5". */
const char *tc_zoo_keras_weights_file(tc_zoo_arch arch, bool include_top);

/* Keras' imagenet_utils.preprocess_input for the model, in place on RGB
 * values 0..255 ([..., 3], any leading axes):
 *   'caffe' (VGG16, VGG19, ResNet50): RGB -> BGR, then the ImageNet mean
 *   [103.939, 116.779, 123.68] (B, G, R) subtracted;
 *   'tf' (InceptionV3, Xception): x / 127.5 - 1. */
typedef enum { TC_PREPROCESS_CAFFE = 0, TC_PREPROCESS_TF } tc_preprocess_mode;
tc_preprocess_mode tc_zoo_preprocess_mode(tc_zoo_arch arch);
tc_status tc_preprocess_input(tc_tensor *x, tc_preprocess_mode mode);

/* Layers by Keras index (0 is the InputLayer: NULL, it has no weights). */
tc_layer *tc_zoo_layer_at(const tc_model *m, int keras_index);
int tc_zoo_layer_count(const tc_model *m);            /* len(model.layers), the InputLayer included */
/* Keras' `for layer in model.layers[from:to]: layer.trainable = t` (to < 0:
 * to the end), then tc_model_refresh_trainable. */
void tc_zoo_set_trainable(tc_model *m, int from, int to, bool trainable);
/* The InceptionV3 block (mixed0 .. mixed10) that Keras index i falls in:
 * the first layer at or after i named mixedN. NULL if none. */
const char *tc_zoo_inception_block_of(const tc_model *m, int keras_index);

/* ---- ImageNet class names ---------------------------------------------------------
 * Keras' class index is the 1,000 ILSVRC-2012 synsets sorted by id (0 tench,
 * 1 goldfish, ..., 999 toilet tissue). tc_imagenet_labels_darknet builds it
 * from Debian darknet's lists (the synset ids are the first 1,000 lines of
 * imagenet.labels.list, their short names the same lines of
 * imagenet.shortnames.list): dir NULL means /usr/share/darknet/data.
 * tc_labels_load reads any other list: one name per line, or Keras'
 * imagenet_class_index.json ({"0": ["n01440764", "tench"], ...}). */
typedef struct {
    int n;
    char **names;   /* n names */
    char **ids;     /* n synset ids, or NULL entries when the file has none */
} tc_labels;
tc_labels *tc_imagenet_labels_darknet(const char *dir);
tc_labels *tc_labels_load(const char *path);
void tc_labels_free(tc_labels *l);

/* ==== the cookbook's own networks (src/models/cookbook*.c etc.) ==== */

/* ==== the cookbook's own networks (src/models/cookbook_cnn.c, charrnn.c, seq2seq_gru.c) ====
 * The recipes' default models, with options for their sizes (zero fields
 * take the cookbook's value, shown in brackets). Weights are drawn from
 * the generator tc_nn_seed seeds. Outputs are logits: the softmax is in
 * the loss (or the sampler's). */

/* MNIST: conv 5x5 32 SAME relu -> maxpool 2 -> conv 5x5 64 SAME relu ->
 * maxpool 2 -> dense 1024 relu -> dropout 0.15 (keep 0.85) -> dense 10. */
typedef struct {
    int classes;                 /* [10] */
    int64_t height, width;       /* [28 x 28] */
    int64_t channels;            /* [1] */
    int filters1, filters2;      /* [32, 64] */
    int hidden;                  /* [1024] */
    double dropout;              /* [0.15]; < 0: none */
} tc_mnist_cnn_opts;
tc_model *tc_mnist_cnn(const tc_mnist_cnn_opts *o); /* o may be NULL */

/* CIFAR-10 (TFLearn's): conv 3x3 32 relu -> maxpool 2 -> conv 3x3 64 relu
 * -> conv 3x3 64 relu -> maxpool 2 -> dense 512 relu -> dropout 0.5 ->
 * dense 10; SAME padding (TFLearn's default). */
typedef struct {
    int classes;                 /* [10] */
    int64_t height, width;       /* [32 x 32] */
    int64_t channels;            /* [3] */
    int filters1, filters2;      /* [32, 64] */
    int hidden;                  /* [512] */
    double dropout;              /* [0.5]; < 0: none */
} tc_cifar10_cnn_opts;
tc_model *tc_cifar10_cnn(const tc_cifar10_cnn_opts *o);

/* The char-RNN: input (seq_len) character ids -> `layers` x LSTM(units)
 * each followed by Dropout (the last LSTM returns its last output) ->
 * Dense(vocab). The first LSTM reads the ids as one-hot vectors
 * (input_vocab). Layers are named lstm_0.., dropout_0.., dense, so the
 * weights are lstm_0/kernel, lstm_0/recurrent_kernel, lstm_0/bias (forget
 * gate bias 1, as Keras' unit_forget_bias), ..., dense/kernel, dense/bias. */
typedef struct {
    int vocab;                   /* required: distinct characters */
    int seq_len;                 /* required: characters per training sequence (the cookbook: 25) */
    int layers;                  /* [3] */
    int units;                   /* [512] */
    double dropout;              /* [0.5]; < 0: none */
} tc_charrnn_opts;
tc_model *tc_charrnn_model(const tc_charrnn_opts *o);
/* Its checkpoint: model, optimizer state (opt may be NULL) and, under
 * extra/charrnn/, the vocabulary (code points, ascending), layers, units
 * and epoch. Written with tc_checkpoint_save_model. */
tc_status tc_charrnn_save(const char *path, const tc_model *m, tc_optimizer *opt, int vocab, const uint32_t *chars,
                          double epoch);
/* Builds the model the file describes (seq_len as given) and loads it (and
 * opt's state); *chars (malloc'd, caller frees) gets the vocabulary, *epoch
 * (may be NULL) the epoch. Files of the recipe before the layer API (the
 * same weight names, the shape under charrnn/) load too. */
tc_model *tc_charrnn_load(const char *path, int seq_len, tc_optimizer *opt, int *vocab, uint32_t **chars, double *epoch);

/* The forecaster's seq2seq GRU: an encoder of `layers` stacked GRU(units)
 * over the past (past, series), a decoder of as many GRUs that starts from
 * the encoder's final states and reads its second input (future, series)
 * (the cookbook feeds zeros), and Dense(series) on every decoder step.
 * Inputs [past values, decoder inputs]; output (future, series). */
typedef struct {
    int series;                  /* required: values per step */
    int past, future;            /* [40, 40] */
    int units;                   /* [12] */
    int layers;                  /* [2] */
} tc_seq2seq_gru_opts;
tc_model *tc_seq2seq_gru(const tc_seq2seq_gru_opts *o);
/* C3D (Tran et al. 2015) as the c3d-keras port lays it out, so its .h5
 * weights load by layer name: 3x3x3 SAME convolutions with ReLU, conv1 64,
 * pool1 (1,2,2), conv2 128, pool2, conv3a/b 256, pool3, conv4a/b 512, pool4,
 * conv5a/b 512, zeropad5 (0,1,1), pool5, flatten, fc6 4096, dropout 0.5,
 * fc7 4096, dropout 0.5, fc8 (classes; softmax inside the loss). Input
 * [frames, height, width, 3]; the defaults (16x112x112, 487 Sports-1M
 * classes) give 79,991,015 parameters. Smaller inputs and widths (scale
 * divides every conv and fc width) give the same architecture in small. */
typedef struct {
    int frames, height, width;   /* 16, 112, 112 */
    int classes;                 /* 487 */
    int width_divisor;           /* 1: Tran et al.'s widths; 8: 8x narrower */
    double dropout;              /* 0.5; < 0: none */
    bool no_top;                 /* stop at fc7 (clip features of 4096/divisor) */
    const char *top_name;        /* the classifier's name; NULL: "fc8" (another name makes it a new
                                    head that c3d-keras' weights skip, for other class counts) */
} tc_c3d_opts;
tc_model *tc_c3d(const tc_c3d_opts *o);

/* The visual question answering model (src/models/vqa.c): inputs [image
 * features (image_features), question (max_words, word_dim)]; lstm_layers x
 * LSTM(lstm_units) (the last returns a vector), concatenated with the
 * image features, dense_layers x (Dense(dense_units, tanh) + Dropout),
 * Dense(answers) logits. The defaults (4096, 30 x 300, 3 x 512, 3 x 1024,
 * 1000) are the seed's model: 13,707,240 parameters. The seed's Dense
 * layers are linear (its 'tanh' never reaches them): .linear_dense gives
 * that model as run; the default is tanh, as it intends. */
typedef struct {
    int image_features;          /* [4096] VGG16 fc2 */
    int max_words, word_dim;     /* [30, 300] */
    int lstm_units, lstm_layers; /* [512, 3] */
    int dense_units, dense_layers; /* [1024, 3] */
    int answers;                 /* [1000] */
    double dropout;              /* [0.5]; < 0: none */
    bool linear_dense;           /* the seed as run: Dense layers without activation */
} tc_vqa_opts;
tc_model *tc_vqa_model(const tc_vqa_opts *o); /* o may be NULL */

/* ==== end of the cookbook's networks ==== */

#ifdef __cplusplus
}
#endif
#endif
