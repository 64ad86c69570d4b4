/* What every compiled pass shares (nodes/frame_passes.c and the passes of the looks it gathers into one
 * module): numpy arrays taken as images, with every shape and type checked and named in the error; the
 * row mapping cv2.resize's bilinear uses; OpenCV's rounding of x / 255; weights spread to a layer's channels.
 *
 * Not for: a pass itself. Everything here is static (each file that includes it gets its own copy).
 */
#ifndef PORTRAITFLOW_FRAME_PASSES_H
#define PORTRAITFLOW_FRAME_PASSES_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

typedef struct {
    Py_buffer view;
    uint8_t *data;
    Py_ssize_t rows, cols, channels, row_stride;
} Image;

static inline int get_image(PyObject *obj, const char *name, char kind, int writable, Image *img);

/* An input whose pixels are not contiguous within its rows (a mirrored view, frame[:, ::-1], or a channel
 * order reversed in place, frame[..., ::-1]): taken as numpy's contiguous copy of it, as OpenCV's calls do.
 * The copy lives as long as the buffer (the view holds it). */
static inline int get_image_copy(PyObject *obj, const char *name, char kind, Image *img)
{
    PyObject *numpy = PyImport_ImportModule("numpy");
    if (numpy == NULL)
        return -1;
    PyObject *copy = PyObject_CallMethod(numpy, "ascontiguousarray", "O", obj);
    Py_DECREF(numpy);
    if (copy == NULL)
        return -1;
    int result = get_image(copy, name, kind, 0, img);
    Py_DECREF(copy);   /* the buffer view keeps its own reference to the copy */
    return result;
}

/* ``obj`` as an image: 2-D (rows, cols) or 3-D (rows, cols, 1..4 channels) of ``itemsize``-byte items
 * ('B' uint8 or 'f' float32), pixels contiguous within a row, any row stride (a view of a box, or upside
 * down, is fine); an input laid out otherwise is copied, an output must be. */
static inline int get_image(PyObject *obj, const char *name, char kind, int writable, Image *img)
{
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &img->view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a%s numpy array, got %s", name,
                     writable ? " writable" : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_buffer *v = &img->view;
    const char *format = v->format ? v->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    Py_ssize_t itemsize = kind == 'B' ? 1 : 4;
    if (format[0] != kind || format[1] != '\0' || v->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: expected %s, got items of format '%s'", name,
                     kind == 'B' ? "uint8" : "float32", v->format ? v->format : "B");
        goto fail;
    }
    if (v->ndim != 2 && v->ndim != 3) {
        PyErr_Format(PyExc_ValueError, "%s: expected an image (2 or 3 dimensions), got %d", name, v->ndim);
        goto fail;
    }
    img->rows = v->shape[0];
    img->cols = v->shape[1];
    img->channels = v->ndim == 3 ? v->shape[2] : 1;
    if (img->channels < 1 || img->channels > 4 || img->rows < 1 || img->cols < 1) {
        PyErr_Format(PyExc_ValueError, "%s: expected rows x cols x 1..4 channels, got %zd x %zd x %zd", name,
                     img->rows, img->cols, img->channels);
        goto fail;
    }
    Py_ssize_t row_bytes = itemsize * img->channels * img->cols;
    if ((v->ndim == 3 && v->strides[2] != itemsize) || v->strides[1] != itemsize * img->channels
            || (img->rows > 1 && (v->strides[0] < 0 ? -v->strides[0] : v->strides[0]) < row_bytes)) {
        if (!writable) {
            PyBuffer_Release(v);
            return get_image_copy(obj, name, kind, img);
        }
        PyErr_Format(PyExc_ValueError, "%s: each row's pixels must be contiguous (np.ascontiguousarray)", name);
        goto fail;
    }
    img->data = (uint8_t *)v->buf;
    img->row_stride = v->strides[0];
    return 0;
fail:
    PyBuffer_Release(v);
    return -1;
}

static inline void release(Image *images, int count)
{
    for (int i = 0; i < count; i++)
        PyBuffer_Release(&images[i].view);
}

static inline int same_size(const Image *a, const char *a_name, const Image *b, const char *b_name, int channels)
{
    if (a->rows != b->rows || a->cols != b->cols || (channels && a->channels != b->channels)) {
        PyErr_Format(PyExc_ValueError, "%s: expected the size of %s, %zd x %zd x %zd, got %zd x %zd x %zd",
                     b_name, a_name, a->rows, a->cols, channels ? a->channels : b->channels,
                     b->rows, b->cols, b->channels);
        return -1;
    }
    return 0;
}

/* ``obj`` as a read-only image of ``like``'s rows and columns, and its channels or (``one_channel``) one,
 * each named in the error; its buffer released again when it does not fit */
static inline int get_image_like(PyObject *obj, const char *name, char kind, const Image *like, const char *like_name,
                                 int one_channel, Image *img)
{
    if (get_image(obj, name, kind, 0, img) < 0)
        return -1;
    if (same_size(like, like_name, img, name, !one_channel) < 0)
        goto fail;
    if (one_channel && img->channels != 1) {
        PyErr_Format(PyExc_ValueError, "%s: expected one channel, got %zd", name, img->channels);
        goto fail;
    }
    return 0;
fail:
    PyBuffer_Release(&img->view);
    return -1;
}

/* cv2.resize's bilinear mapping of output pixel ``d`` (of ``size``) onto a source of ``source_size``, as it
 * places columns (its own double scale, so the float weights are its to the bit): the source pixel, the next
 * one, and the weight of the next one, the weight 0 where the mapping falls off either end. Rows are placed
 * the same way but with the weight kept and both rows clamped: the same values wherever the two rows are
 * one, so the float passes use this for rows too. */
static inline void bilinear_source(Py_ssize_t d, Py_ssize_t size, Py_ssize_t source_size, Py_ssize_t *s0,
                                   Py_ssize_t *s1, float *weight)
{
    double scale = 1.0 / ((double)size / (double)source_size);
    float f = (float)((d + 0.5) * scale - 0.5);
    Py_ssize_t s = (Py_ssize_t)floorf(f);
    f -= (float)s;
    if (s < 0) {
        s = 0;
        f = 0.0f;
    }
    if (s >= source_size - 1) {
        s = source_size - 1;
        f = 0.0f;
    }
    *s0 = s;
    *s1 = s + 1 < source_size ? s + 1 : s;
    *weight = f;
}

/* round(x / 255) for 0 <= x <= 255 * 255, exactly (the rounding cv2.multiply's scale 1/255 makes; checked over
 * every x in the tests), as one high-half multiply the vectoriser makes a single vpmulhuw: (x + 128) * 257 / 65536 */
#define DIV255(x) ((uint16_t)(((uint32_t)(uint16_t)((x) + 128) * 257u) >> 16))

VECTOR_CLONES __attribute__((unused))
static void lerp_row_u8(const uint8_t *r0, const uint8_t *r1, uint16_t w1, uint8_t *out, Py_ssize_t n)
{
    uint16_t w0 = (uint16_t)(256 - w1);
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (uint8_t)((r0[i] * w0 + r1[i] * w1 + 128) >> 8);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_SPREAD3_SSSE3 1
/* 16 weights -> 48 bytes per step with three byte shuffles (a scalar loop: 0.33 ms at 720p, a third of
 * the whole blend); SSSE3 is on every x86-64 CPU made since 2011, checked at load all the same */
__attribute__((target("ssse3")))
static Py_ssize_t spread3_ssse3(const uint8_t *weights, Py_ssize_t cols, uint8_t *out)
{
    const __m128i m0 = _mm_setr_epi8(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5);
    const __m128i m1 = _mm_setr_epi8(5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10);
    const __m128i m2 = _mm_setr_epi8(10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15);
    Py_ssize_t x = 0;
    for (; x + 16 <= cols; x += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(weights + x));
        _mm_storeu_si128((__m128i *)(out + 3 * x), _mm_shuffle_epi8(v, m0));
        _mm_storeu_si128((__m128i *)(out + 3 * x + 16), _mm_shuffle_epi8(v, m1));
        _mm_storeu_si128((__m128i *)(out + 3 * x + 32), _mm_shuffle_epi8(v, m2));
    }
    return x;
}
static int have_ssse3 = -1;   /* checked on first use */
#endif

/* the per-pixel weights spread to the layers' channels (so the blend itself is one flat loop): ``out``,
 * or the weights themselves for one channel */
static inline const uint8_t *spread_row(const uint8_t *weights, Py_ssize_t cols, Py_ssize_t channels, uint8_t *out)
{
    if (channels == 1)
        return weights;
    if (channels == 3) {
        Py_ssize_t x = 0;
#ifdef HAVE_SPREAD3_SSSE3
        if (have_ssse3 < 0) {
            __builtin_cpu_init();
            have_ssse3 = __builtin_cpu_supports("ssse3");
        }
        if (have_ssse3)
            x = spread3_ssse3(weights, cols, out);
#endif
        for (; x < cols; x++) {
            uint8_t w = weights[x];
            out[3 * x] = w;
            out[3 * x + 1] = w;
            out[3 * x + 2] = w;
        }
        return out;
    }
    for (Py_ssize_t x = 0; x < cols; x++)
        for (Py_ssize_t c = 0; c < channels; c++)
            out[x * channels + c] = weights[x];
    return out;
}

#endif
