/* Images: JPEG and PNG decoding and encoding (libjpeg-turbo and libpng, the
 * libraries Pillow uses, so decoded pixels equal Keras' load_img), resizing
 * equal to Pillow's NEAREST and BILINEAR, and image-folder data sets laid
 * out as Keras' flow_from_directory reads them (DIR/<class>/IMAGE.jpg|png),
 * batched on a background thread.
 *
 * An image is a long-lived float tensor [H, W, 3] of RGB values 0..255
 * (grey and RGBA/grey+alpha images are converted as Pillow's convert('RGB'):
 * grey replicated, alpha dropped; 16-bit PNG colour samples keep their
 * high byte and 16-bit grey is clipped to 255, as Pillow does; CMYK JPEGs
 * are refused). Every error names the file and the problem in one line. */
#ifndef TENSORCOOK_IMAGE_H
#define TENSORCOOK_IMAGE_H

#include "core.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Decodes a JPEG or PNG file (recognised by its signature, not its name). */
tc_tensor *tc_image_load(const char *path);
/* The same from memory; `name` is used in error messages. */
tc_tensor *tc_image_decode(const void *data, size_t size, const char *name);

/* Pillow's resampling filters (Image.NEAREST is Keras load_img's default). */
typedef enum { TC_INTERP_NEAREST = 0, TC_INTERP_BILINEAR } tc_interp;

/* Resizes an image [H, W, C] to [height, width, C] exactly as Pillow's
 * Image.resize((width, height), filter) does on 8-bit images (values are
 * rounded and clipped to 0..255 first; Pillow's bilinear widens its support
 * with the scale when shrinking and rounds to 8 bits after each pass). The
 * result is long-lived. */
tc_tensor *tc_image_resize(const tc_tensor *img, int64_t height, int64_t width, tc_interp interp);
/* Keras' load_img(path, target_size=(height, width), interpolation): decode,
 * convert to RGB, resize when the size differs. height/width 0: no resize. */
tc_tensor *tc_image_load_resized(const char *path, int64_t height, int64_t width, tc_interp interp);

/* Writes [H, W, C] (C = 1 grey, 3 RGB, 4 RGBA; values rounded and clipped to
 * 0..255) atomically. tc_image_save picks the format from the extension
 * (.png, .jpg/.jpeg). JPEG quality 1..100 (0: 95). */
tc_status tc_image_save_png(const char *path, const tc_tensor *img);
tc_status tc_image_save_jpeg(const char *path, const tc_tensor *img, int quality);
tc_status tc_image_save(const char *path, const tc_tensor *img);

/* ---- image folders (Keras' flow_from_directory) ----------------------------------
 * DIR/<class>/... : every subfolder of DIR is a class, classes in sorted
 * order (class i = the i-th name); the files of a class are found in its
 * folder and the folders below it, with the extensions Keras accepts that
 * tensorcook decodes (.jpg, .jpeg, .png, any case), in sorted order. Only
 * the paths are kept: images are decoded when a batch needs them. */
typedef struct {
    int64_t height, width;   /* target size (required) */
    tc_interp interp;        /* NEAREST (Keras' default) */
    double rescale;          /* multiplies the 0..255 values (0: 1; Keras' 1/255: 1.0/255) */
    double offset;           /* added after rescale (InceptionV3's x / 127.5 - 1: rescale 1/127.5, offset -1) */
    bool flip_lr;            /* random horizontal flips (probability 0.5) in batches */
    int min_classes;         /* fewer classes is an error (0: 2, as a classifier needs) */
} tc_image_folder_opts;

typedef struct tc_image_folder tc_image_folder;
tc_image_folder *tc_image_folder_open(const char *dir, const tc_image_folder_opts *o);
void tc_image_folder_free(tc_image_folder *f);
int64_t tc_image_folder_size(const tc_image_folder *f);
int tc_image_folder_classes(const tc_image_folder *f);
const char *tc_image_folder_class_name(const tc_image_folder *f, int c);
const char *tc_image_folder_path(const tc_image_folder *f, int64_t i);
int tc_image_folder_label(const tc_image_folder *f, int64_t i);
/* Example i decoded, resized and rescaled (no flip): long-lived [H, W, 3]. */
tc_tensor *tc_image_folder_image(const tc_image_folder *f, int64_t i);
/* Every image in memory as a tc_dataset (x [N, H, W, 3], integer labels y,
 * class names) for tc_fit; for small folders. */
tc_dataset *tc_image_folder_load_all(const tc_image_folder *f);

/* Batches decoded on a background thread while the caller trains on the
 * previous one: x [B, H, W, 3] and y [B] (class ids as floats), long-lived,
 * owned by the batcher and valid until the next call. Each epoch visits
 * every image once, in a seeded random order when shuffle is set; flips are
 * seeded too. Returns 1 with a batch, 0 at the end of an epoch (the next
 * call starts the next epoch), -1 on an error (a file that does not decode:
 * tc_last_error names it). */
typedef struct tc_image_batcher tc_image_batcher;
tc_image_batcher *tc_image_batcher_new(const tc_image_folder *f, int64_t batch, bool shuffle, uint64_t seed);
int tc_image_batcher_next(tc_image_batcher *b, tc_tensor **x, tc_tensor **y);
int64_t tc_image_batcher_batches_per_epoch(const tc_image_batcher *b);
void tc_image_batcher_free(tc_image_batcher *b);

#ifdef __cplusplus
}
#endif
#endif
