/* JPEG and PNG decoding and encoding with libjpeg-turbo and libpng, the
 * libraries Pillow links, with the settings Pillow uses (libjpeg's default
 * islow DCT and fancy upsampling; PNG without gamma correction), so that the
 * pixels equal those Keras' load_img sees. Both libraries report errors by
 * longjmp from a callback: each decoder keeps its allocations where the
 * error path can free them. Nothing is printed (libjpeg's warnings and
 * libpng's are swallowed; a JPEG that ends early is an error, as in Pillow). */
#include "../core/internal.h"
#include "tensorcook/image.h"

#include <errno.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Images larger than this are refused before any allocation (a corrupt
 * header must not make us ask for gigabytes). */
#define MAX_PIXELS ((int64_t)178956970) /* Pillow refuses more (DecompressionBombError) */

static tc_tensor *image_from_rgb8(const unsigned char *rgb, int64_t h, int64_t w)
{
    tc_tensor *t = tc_tensor_new(3, (int64_t[]){h, w, 3});
    if (!t) return NULL;
    for (int64_t i = 0; i < h * w * 3; i++) t->data[i] = rgb[i];
    return t;
}

/* ---- JPEG ---------------------------------------------------------------------------- */
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    bool truncated;
} jpeg_err;

static void jpeg_fail(j_common_ptr c)
{
    jpeg_err *e = (jpeg_err *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings (level -1) are corrupt-data notes libjpeg recovers from, as
 * Pillow does, except the end of data: Pillow calls that image truncated. */
static void jpeg_note(j_common_ptr c, int level)
{
    jpeg_err *e = (jpeg_err *)c->err;
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
        e->truncated = true;
        snprintf(e->msg, sizeof e->msg, "truncated (the data ends before the image)");
        longjmp(e->jump, 1);
    }
}

static tc_tensor *decode_jpeg(const unsigned char *data, size_t size, const char *name)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_note;
    unsigned char *volatile pixels = NULL;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        tc_error(TC_ERR_FORMAT, "image %s: bad JPEG: %s", name, err.msg);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    /* grey and YCbCr come out as RGB (grey replicated, as convert('RGB')) */
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(err.msg, sizeof err.msg, "CMYK JPEGs are not supported");
        longjmp(err.jump, 1);
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int64_t w = cinfo.output_width, h = cinfo.output_height;
    if (w < 1 || h < 1 || w * h > MAX_PIXELS || cinfo.output_components != 3) {
        snprintf(err.msg, sizeof err.msg, "unsupported size %lldx%lld or %d components", (long long)w, (long long)h,
                 cinfo.output_components);
        longjmp(err.jump, 1);
    }
    pixels = malloc((size_t)(w * h * 3));
    if (!pixels) {
        snprintf(err.msg, sizeof err.msg, "out of memory for %lldx%lld pixels", (long long)w, (long long)h);
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * (size_t)w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    tc_tensor *t = image_from_rgb8(pixels, h, w);
    free(pixels);
    if (!t) tc_error(TC_ERR_MEMORY, "image %s: out of memory", name);
    return t;
}

/* ---- PNG ----------------------------------------------------------------------------- */
typedef struct {
    const unsigned char *data;
    size_t size, pos;
    char msg[256];
} png_src;

static void png_fail(png_structp p, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(p);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(p, 1);
}
static void png_quiet(png_structp p, png_const_charp msg) {}

static void png_read_mem(png_structp p, png_bytep out, png_size_t n)
{
    png_src *s = png_get_io_ptr(p);
    if (n > s->size - s->pos) {
        snprintf(s->msg, sizeof s->msg, "truncated (the data ends before the image)");
        png_longjmp(p, 1);
    }
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static tc_tensor *decode_png(const unsigned char *data, size_t size, const char *name)
{
    png_src src = {data, size, 0, ""};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!info) {
        png_destroy_read_struct(&p, NULL, NULL);
        tc_error(TC_ERR_MEMORY, "image %s: out of memory", name);
        return NULL;
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(pixels);
        free(rows);
        tc_error(TC_ERR_FORMAT, "image %s: bad PNG: %s", name, src.msg[0] ? src.msg : "corrupt data");
        return NULL;
    }
    png_set_read_fn(p, &src, png_read_mem);
    png_set_user_limits(p, 1 << 20, 1 << 20);
    png_read_info(p, info);
    png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
    int type = png_get_color_type(p, info);
    if ((int64_t)w * h > MAX_PIXELS) {
        snprintf(src.msg, sizeof src.msg, "image of %ux%u pixels is too large", (unsigned)w, (unsigned)h);
        png_longjmp(p, 1);
    }
    /* to 8-bit RGB as Pillow's convert('RGB'): the palette's colours, grey
     * replicated, alpha (and tRNS) dropped, 16-bit samples' high byte;
     * except 16-bit grey, which Pillow opens as 32-bit integers (mode I) and
     * clips to 255 when converting */
    bool grey16 = type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(p, info) == 16;
    if (!grey16) png_set_strip_16(p);
    png_set_packing(p);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p);
    if ((type == PNG_COLOR_TYPE_GRAY && !grey16) || type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_expand_gray_1_2_4_to_8(p);
        png_set_gray_to_rgb(p);
    }
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(p);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    if (png_get_rowbytes(p, info) != (size_t)w * (grey16 ? 2 : 3)) {
        snprintf(src.msg, sizeof src.msg, "unexpected pixel layout");
        png_longjmp(p, 1);
    }
    pixels = malloc((size_t)w * h * 3); /* grey16 rows (2 bytes a pixel) fit too */
    rows = malloc(sizeof *rows * h);
    if (!pixels || !rows) {
        snprintf(src.msg, sizeof src.msg, "out of memory for %ux%u pixels", (unsigned)w, (unsigned)h);
        png_longjmp(p, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * 3;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    if (grey16) /* big-endian samples, clipped to 255 and replicated, from the row's end backwards (in place) */
        for (png_uint_32 y = 0; y < h; y++) {
            unsigned char *r = rows[y];
            for (png_uint_32 x = w; x-- > 0;) {
                unsigned v = (unsigned)r[2 * x] << 8 | r[2 * x + 1];
                r[3 * x] = r[3 * x + 1] = r[3 * x + 2] = (unsigned char)(v > 255 ? 255 : v);
            }
        }
    tc_tensor *t = image_from_rgb8(pixels, h, w);
    free(pixels);
    free(rows);
    if (!t) tc_error(TC_ERR_MEMORY, "image %s: out of memory", name);
    return t;
}

/* ---- entry points ------------------------------------------------------------------------ */
tc_tensor *tc_image_decode(const void *data, size_t size, const char *name)
{
    const unsigned char *b = data;
    if (!name) name = "(memory)";
    if (!data && size) {
        tc_error(TC_ERR_ARG, "image %s: NULL data", name);
        return NULL;
    }
    if (size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return decode_jpeg(b, size, name);
    if (size >= 8 && !png_sig_cmp(b, 0, 8)) return decode_png(b, size, name);
    if (size == 0) tc_error(TC_ERR_FORMAT, "image %s: empty file", name);
    else tc_error(TC_ERR_FORMAT, "image %s: not a JPEG or PNG file (unknown signature)", name);
    return NULL;
}

tc_tensor *tc_image_load(const char *path)
{
    if (!path) {
        tc_error(TC_ERR_ARG, "image_load: NULL path");
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t size = 0;
    /* whole files through the shared reader; its errors name the file ("image" added) */
    if (tc_read_file(path, 0, &buf, &size) != TC_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", tc_last_error());
        tc_error(tc_last_status(), "image %s", msg);
        return NULL;
    }
    tc_tensor *t = tc_image_decode(buf, size, path);
    free(buf);
    return t;
}

tc_tensor *tc_image_load_resized(const char *path, int64_t height, int64_t width, tc_interp interp)
{
    tc_tensor *img = tc_image_load(path);
    if (!img || height <= 0 || width <= 0 || (img->shape[0] == height && img->shape[1] == width)) return img;
    tc_tensor *r = tc_image_resize(img, height, width, interp);
    tc_tensor_free(img);
    return r;
}

/* ---- encoding ---------------------------------------------------------------------------- */
/* 8-bit samples of a [H, W, C] image (rounded, clipped), or NULL. */
static unsigned char *to_bytes(const tc_tensor *img, const char *path, int *channels)
{
    if (!img || img->ndim != 3 || img->shape[0] < 1 || img->shape[1] < 1 ||
        (img->shape[2] != 1 && img->shape[2] != 3 && img->shape[2] != 4)) {
        tc_error(TC_ERR_SHAPE, "image %s: can only write [H, W, 1|3|4] images, given %s", path, img ? TC_SHP(img) : "NULL");
        return NULL;
    }
    int64_t n = tc_numel(img);
    tc_scalar *vals = malloc(sizeof *vals * (size_t)n);
    unsigned char *b = vals ? malloc((size_t)n) : NULL;
    if (!b) {
        free(vals);
        tc_error(TC_ERR_MEMORY, "image %s: out of memory", path);
        return NULL;
    }
    tc_read_values(img, vals);
    for (int64_t i = 0; i < n; i++) {
        double v = vals[i];
        b[i] = v != v || v <= 0 ? 0 : v >= 255 ? 255 : (unsigned char)(v + 0.5);
    }
    free(vals);
    *channels = (int)img->shape[2];
    return b;
}

typedef struct {
    unsigned char *data;
    size_t size, cap;
    bool failed;
} membuf;

static void png_write_mem(png_structp p, png_bytep in, png_size_t n)
{
    membuf *m = png_get_io_ptr(p);
    if (m->size + n > m->cap) {
        size_t cap = (m->cap + n) * 2;
        unsigned char *grown = realloc(m->data, cap);
        if (!grown) {
            m->failed = true;
            png_error(p, "out of memory");
        }
        m->data = grown;
        m->cap = cap;
    }
    memcpy(m->data + m->size, in, n);
    m->size += n;
}
static void png_flush_mem(png_structp p) {}

tc_status tc_image_save_png(const char *path, const tc_tensor *img)
{
    int c = 0;
    unsigned char *volatile b = path ? to_bytes(img, path, &c) : NULL;
    if (!b) return path ? tc_last_status() : tc_error(TC_ERR_ARG, "image_save_png: NULL path");
    int64_t h = img->shape[0], w = img->shape[1];
    membuf out = {0};
    png_src err = {0};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, png_fail, png_quiet);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!info || setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        free(b);
        free(out.data);
        return tc_error(TC_ERR_IO, "image %s: cannot encode PNG: %s", path, err.msg[0] ? err.msg : "out of memory");
    }
    png_set_write_fn(p, &out, png_write_mem, png_flush_mem);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (int64_t y = 0; y < h; y++) png_write_row(p, b + y * w * c);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(b);
    tc_status s = tc_write_file_atomic(path, out.data, out.size);
    free(out.data);
    return s;
}

tc_status tc_image_save_jpeg(const char *path, const tc_tensor *img, int quality)
{
    int c = 0;
    unsigned char *volatile b = path ? to_bytes(img, path, &c) : NULL;
    if (!b) return path ? tc_last_status() : tc_error(TC_ERR_ARG, "image_save_jpeg: NULL path");
    if (c == 4) {
        free(b);
        return tc_error(TC_ERR_ARG, "image %s: JPEG has no alpha channel (write RGB or PNG)", path);
    }
    int64_t h = img->shape[0], w = img->shape[1];
    struct jpeg_compress_struct cinfo;
    jpeg_err err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_note;
    unsigned char *volatile out = NULL;
    unsigned long out_size = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(b);
        free(out);
        return tc_error(TC_ERR_IO, "image %s: cannot encode JPEG: %s", path, err.msg);
    }
    jpeg_create_compress(&cinfo);
    unsigned char *dest = NULL;
    jpeg_mem_dest(&cinfo, &dest, &out_size);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality > 0 && quality <= 100 ? quality : 95, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = b + (size_t)cinfo.next_scanline * (size_t)w * (size_t)c;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    out = dest;
    jpeg_destroy_compress(&cinfo);
    free(b);
    tc_status s = tc_write_file_atomic(path, out, out_size);
    free(out);
    return s;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

tc_status tc_image_save(const char *path, const tc_tensor *img)
{
    if (!path) return tc_error(TC_ERR_ARG, "image_save: NULL path");
    if (ends_with(path, ".png")) return tc_image_save_png(path, img);
    if (ends_with(path, ".jpg") || ends_with(path, ".jpeg")) return tc_image_save_jpeg(path, img, 0);
    return tc_error(TC_ERR_ARG, "image %s: unknown extension (use .png, .jpg or .jpeg)", path);
}
