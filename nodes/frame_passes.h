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

/* ---- cv2.resize's bilinear for uint8, bit for bit (moved here from nodes/looks/plates_pass.c, so that the
 * grown layers, the blend's grown bottom and the frame's shrink, nodes/shrink_pass.c, are one piece of code).
 * OpenCV's own fixed-point scheme: 11-bit weights (RESIZE_ONE); each source row resized across once into
 * 32-bit sums, kept >> 4 as 16 bits; the two rows under an output row combined with its 16-bit multiply-high
 * arithmetic, + 2 >> 2, saturated. Columns are placed as bilinear_source does (the weight 0 off either end),
 * rows with both source rows clamped and the weights not. The same for a grow and for a shrink (checked on
 * random ratios both ways in the tests). */
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define RESIZE_ONE 2048   /* OpenCV's INTER_RESIZE_COEF_SCALE */

/* output row ``d`` (of ``size``) from a source of ``source_size`` rows: its two source rows, clamped, and their
 * weights (x RESIZE_ONE), not clamped (OpenCV's vertical placement) */
static inline void resize_row_u8(Py_ssize_t d, Py_ssize_t size, Py_ssize_t source_size, Py_ssize_t *s0,
                                 Py_ssize_t *s1, int16_t *b0, int16_t *b1)
{
    double scale = 1.0 / ((double)size / (double)source_size);
    float fy = (float)((d + 0.5) * scale - 0.5);
    Py_ssize_t sy = (Py_ssize_t)floorf(fy);
    fy -= (float)sy;
    *s0 = sy < 0 ? 0 : sy >= source_size ? source_size - 1 : sy;
    *s1 = sy + 1 < 0 ? 0 : sy + 1 >= source_size ? source_size - 1 : sy + 1;
    *b0 = (int16_t)lrintf((1.0f - fy) * RESIZE_ONE);
    *b1 = (int16_t)lrintf(fy * RESIZE_ONE);
}

/* How one source row is resized across to ``size`` pixels, worked out once per call: per output pixel its two
 * source pixels' byte offsets and weights (x RESIZE_ONE), and, with SSSE3, per group of 4 output values
 * (channels of consecutive pixels) two 16-byte loads of the row and their byte shuffles, so that one
 * multiply-add gives the group's 4 sums (per pixel, with SSE2 only: 0.55 ms at 720p, its 5 shuffles a pixel
 * the bound; the groups: 3 shuffles per 4 values), and with AVX2 four groups at a time. A group whose sources
 * do not fit in two loads (only a large shrink of one or two channels) is made by the scalar
 * loop. */
typedef struct {
    Py_ssize_t size, channels, row_bytes;
    Py_ssize_t *offsets;   /* per output pixel: its two source pixels' byte offsets */
    int16_t *weights;      /* per output pixel: their weights */
    int32_t *loads;        /* per group: the two loads' byte offsets (-1: the group is made by the scalar loop) */
    uint8_t *shuffles;     /* per group: 16 shuffle bytes for its first load (0x80: a zero byte); then, after
                            * every group's, 16 for its second (so that AVX2 reads two groups' at once) */
    Py_ssize_t groups;
    int16_t *group_weights;/* per group: the 8 weights, in pairs, of its 4 values */
    int one_load;          /* whether every group's sources fit in its first load */
    void *memory;
} Across;

enum { CPU_SSSE3, CPU_AVX2 };

/* Whether this CPU has the feature (CPU_SSSE3, CPU_AVX2), asked once per feature; 0 off x86-64 GCC/clang.
 * One function with a switch because __builtin_cpu_supports takes only a string literal. */
static inline int cpu_has(int feature)
{
#if defined(__GNUC__) && defined(__x86_64__)
    static int known[2] = {-1, -1};
    if (known[feature] < 0) {
        __builtin_cpu_init();
        known[feature] = feature == CPU_AVX2 ? __builtin_cpu_supports("avx2") : __builtin_cpu_supports("ssse3");
    }
    return known[feature];
#else
    (void)feature;
    return 0;
#endif
}

/* the plan for rows of ``source_size`` pixels of ``channels`` bytes resized to ``size`` (-1 and an error set:
 * no memory) */
static inline int setup_across(Across *a, Py_ssize_t size, Py_ssize_t source_size, Py_ssize_t channels)
{
    Py_ssize_t groups = size * channels / 4;
    a->size = size;
    a->groups = groups;
    a->channels = channels;
    a->row_bytes = source_size * channels;
    a->one_load = 1;
    a->memory = PyMem_Malloc((size_t)size * 2 * (sizeof(Py_ssize_t) + sizeof(int16_t))
                             + (size_t)groups * (2 * sizeof(int32_t) + 32 + 8 * sizeof(int16_t)));
    if (a->memory == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    a->shuffles = (uint8_t *)a->memory;   /* first: 16-byte aligned enough for loadu all the same */
    a->group_weights = (int16_t *)(a->shuffles + 32 * groups);
    a->offsets = (Py_ssize_t *)(a->group_weights + 8 * groups);
    a->weights = (int16_t *)(a->offsets + 2 * size);
    a->loads = (int32_t *)(a->weights + 2 * size);
    for (Py_ssize_t dx = 0; dx < size; dx++) {
        Py_ssize_t sx, sx1;
        float fx;
        bilinear_source(dx, size, source_size, &sx, &sx1, &fx);
        a->offsets[2 * dx] = sx * channels;
        a->offsets[2 * dx + 1] = sx1 * channels;
        a->weights[2 * dx] = (int16_t)lrintf((1.0f - fx) * RESIZE_ONE);
        a->weights[2 * dx + 1] = (int16_t)lrintf(fx * RESIZE_ONE);
    }
    int vector = cpu_has(CPU_SSSE3) && a->row_bytes >= 16 && a->row_bytes < INT32_MAX;
    for (Py_ssize_t g = 0; g < groups; g++) {
        int32_t *load = a->loads + 2 * g;
        uint8_t *shuffle[2] = {a->shuffles + 16 * g, a->shuffles + 16 * (groups + g)};
        load[0] = load[1] = -1;
        memset(shuffle[0], 0x80, 16);
        memset(shuffle[1], 0x80, 16);
        for (int k = 0; k < 4 && vector; k++) {
            Py_ssize_t j = 4 * g + k, px = j / channels, c = j % channels;
            for (int tap = 0; tap < 2; tap++) {
                Py_ssize_t source = a->offsets[2 * px + tap] + c;
                a->group_weights[8 * g + 2 * k + tap] = a->weights[2 * px + tap];
                /* a load starts at its first source, or 16 bytes before the row's end near it */
                Py_ssize_t start = source < a->row_bytes - 16 ? source : a->row_bytes - 16;
                int which = 0;
                if (load[0] < 0)
                    load[0] = (int32_t)start;
                if (source < load[0] || source >= load[0] + 16) {
                    which = 1;
                    if (load[1] < 0)
                        load[1] = (int32_t)start;
                    if (source < load[1] || source >= load[1] + 16) {
                        load[0] = -1;   /* does not fit in two loads: scalar */
                        break;
                    }
                }
                shuffle[which][4 * k + 2 * tap] = (uint8_t)(source - load[which]);
            }
            if (load[0] < 0)
                break;
        }
        if (load[1] < 0)
            load[1] = load[0];
        if (load[0] < 0 || load[0] + 16 > a->row_bytes || load[1] + 16 > a->row_bytes)
            load[0] = -1;
        if (load[0] >= 0 && load[1] != load[0])
            a->one_load = 0;
    }
    return 0;
}

static inline void free_across(Across *a)
{
    PyMem_Free(a->memory);   /* NULL until set up */
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <tmmintrin.h>
/* groups [from, to) made with shuffles where they can be, two at a time; returns the first group it did not
 * make. ``one_load``: every group's sources fit in its first load (most shrinks and every grow) */
__attribute__((target("ssse3"), unused))
static Py_ssize_t across_groups_ssse3(const Across *a, const uint8_t *restrict row, Py_ssize_t from,
                                      Py_ssize_t to, int16_t *restrict sum)
{
    const int32_t *restrict loads = a->loads;
    const uint8_t *restrict first = a->shuffles, *restrict second = a->shuffles + 16 * a->groups;
    const int16_t *restrict weights = a->group_weights;
    const int one_load = a->one_load;
    Py_ssize_t g = from;
#define ACROSS_GROUP(g, s)                                                                                       \
    do {                                                                                                         \
        __m128i pairs = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(row + loads[2 * (g)])),               \
                                         _mm_loadu_si128((const __m128i *)(first + 16 * (g))));                  \
        if (!one_load)                                                                                           \
            pairs = _mm_or_si128(pairs, _mm_shuffle_epi8(                                                        \
                _mm_loadu_si128((const __m128i *)(row + loads[2 * (g) + 1])),                                    \
                _mm_loadu_si128((const __m128i *)(second + 16 * (g)))));                                         \
        s = _mm_srai_epi32(_mm_madd_epi16(pairs, _mm_loadu_si128((const __m128i *)(weights + 8 * (g)))), 4);    \
    } while (0)
    for (; g + 2 <= to && loads[2 * g] >= 0 && loads[2 * g + 2] >= 0; g += 2) {
        __m128i s0, s1;
        ACROSS_GROUP(g, s0);
        ACROSS_GROUP(g + 1, s1);
        _mm_storeu_si128((__m128i *)(sum + 4 * g), _mm_packs_epi32(s0, s1));
    }
    for (; g < to && loads[2 * g] >= 0; g++) {
        __m128i s0;
        ACROSS_GROUP(g, s0);
        _mm_storel_epi64((__m128i *)(sum + 4 * g), _mm_packs_epi32(s0, s0));
    }
#undef ACROSS_GROUP
    return g;
}

#include <immintrin.h>
/* the same, four groups at a time in AVX2's two lanes (a group's load, shuffle and multiply-add in each) */
__attribute__((target("avx2"), unused))
static Py_ssize_t across_groups_avx2(const Across *a, const uint8_t *restrict row, Py_ssize_t from,
                                     Py_ssize_t to, int16_t *restrict sum)
{
    const int32_t *restrict loads = a->loads;
    const uint8_t *restrict first = a->shuffles, *restrict second = a->shuffles + 16 * a->groups;
    const int16_t *restrict weights = a->group_weights;
    const int one_load = a->one_load;
    Py_ssize_t g = from;
#define LOAD_TWO(at_low, at_high)                                                                                \
    _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row + (at_low)))),        \
                            _mm_loadu_si128((const __m128i *)(row + (at_high))), 1)
#define ACROSS_TWO(g, s)                                                                                         \
    do {                                                                                                         \
        __m256i pairs = _mm256_shuffle_epi8(LOAD_TWO(loads[2 * (g)], loads[2 * (g) + 2]),                        \
                                            _mm256_loadu_si256((const __m256i *)(first + 16 * (g))));            \
        if (!one_load)                                                                                           \
            pairs = _mm256_or_si256(pairs, _mm256_shuffle_epi8(LOAD_TWO(loads[2 * (g) + 1], loads[2 * (g) + 3]), \
                                    _mm256_loadu_si256((const __m256i *)(second + 16 * (g)))));                  \
        s = _mm256_srai_epi32(_mm256_madd_epi16(pairs, _mm256_loadu_si256((const __m256i *)(weights + 8 * (g)))),\
                              4);                                                                                \
    } while (0)
    for (; g + 4 <= to && loads[2 * g] >= 0 && loads[2 * g + 2] >= 0 && loads[2 * g + 4] >= 0
           && loads[2 * g + 6] >= 0; g += 4) {
        __m256i s0, s1;
        ACROSS_TWO(g, s0);       /* lanes: group g, g + 1 */
        ACROSS_TWO(g + 2, s1);   /* g + 2, g + 3 */
        /* packed in lanes: g, g + 2 | g + 1, g + 3; put in order */
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(s0, s1), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(sum + 4 * g), packed);
    }
#undef ACROSS_TWO
#undef LOAD_TWO
    return g;
}
#endif

/* one source row resized across for the output pixels [from, to): the sums >> 4 as 16 bits into
 * sum[channels * from ...], as OpenCV's vertical step takes them (255 x 2048 >> 4 fits) */
static inline void resize_across_u8(const Across *a, const uint8_t *row, Py_ssize_t from, Py_ssize_t to,
                                    int16_t *sum)
{
    Py_ssize_t channels = a->channels, j = channels * from, end = channels * to;
    while (j < end) {
#if defined(__GNUC__) && defined(__x86_64__)
        if (j % 4 == 0 && j + 4 <= end && a->loads[2 * (j / 4)] >= 0) {
            Py_ssize_t g = j / 4;
            if (cpu_has(CPU_AVX2))
                g = across_groups_avx2(a, row, g, end / 4, sum);
            j = 4 * across_groups_ssse3(a, row, g, end / 4, sum);
            continue;
        }
#endif
        Py_ssize_t px = j / channels, c = j % channels;
        sum[j] = (int16_t)((row[a->offsets[2 * px] + c] * a->weights[2 * px]
                            + row[a->offsets[2 * px + 1] + c] * a->weights[2 * px + 1]) >> 4);
        j++;
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
/* the vertical step below, 32 values a step in AVX2 (the same arithmetic; packus works in lanes, so the two
 * halves are put back in order) */
__attribute__((target("avx2"), unused))
static Py_ssize_t resize_down_avx2(const int16_t *s0, const int16_t *s1, int16_t b0, int16_t b1, uint8_t *out,
                                   Py_ssize_t n)
{
    const __m256i w0 = _mm256_set1_epi16(b0), w1 = _mm256_set1_epi16(b1), two = _mm256_set1_epi16(2);
    Py_ssize_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i lo = _mm256_add_epi16(_mm256_mulhi_epi16(_mm256_loadu_si256((const __m256i *)(s0 + i)), w0),
                                      _mm256_mulhi_epi16(_mm256_loadu_si256((const __m256i *)(s1 + i)), w1));
        __m256i hi = _mm256_add_epi16(_mm256_mulhi_epi16(_mm256_loadu_si256((const __m256i *)(s0 + i + 16)), w0),
                                      _mm256_mulhi_epi16(_mm256_loadu_si256((const __m256i *)(s1 + i + 16)), w1));
        lo = _mm256_srai_epi16(_mm256_add_epi16(lo, two), 2);
        hi = _mm256_srai_epi16(_mm256_add_epi16(hi, two), 2);
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(out + i), packed);
    }
    return i;
}
#endif

/* the vertical step, OpenCV's arithmetic: (mulhi(s0, b0) + mulhi(s1, b1) + 2) >> 2, saturated to a byte
 * (the compiler's own vectorising of the 16-bit multiply-high went through 32-bit products: 3x slower) */
static inline void resize_down_row(const int16_t *s0, const int16_t *s1, int16_t b0, int16_t b1, uint8_t *out,
                                   Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    if (cpu_has(CPU_AVX2))
        i = resize_down_avx2(s0, s1, b0, b1, out, n);
#endif
#ifdef __SSE2__
    const __m128i w0 = _mm_set1_epi16(b0), w1 = _mm_set1_epi16(b1), two = _mm_set1_epi16(2);
    for (; i + 16 <= n; i += 16) {
        __m128i lo = _mm_add_epi16(_mm_mulhi_epi16(_mm_loadu_si128((const __m128i *)(s0 + i)), w0),
                                   _mm_mulhi_epi16(_mm_loadu_si128((const __m128i *)(s1 + i)), w1));
        __m128i hi = _mm_add_epi16(_mm_mulhi_epi16(_mm_loadu_si128((const __m128i *)(s0 + i + 8)), w0),
                                   _mm_mulhi_epi16(_mm_loadu_si128((const __m128i *)(s1 + i + 8)), w1));
        lo = _mm_srai_epi16(_mm_add_epi16(lo, two), 2);
        hi = _mm_srai_epi16(_mm_add_epi16(hi, two), 2);
        _mm_storeu_si128((__m128i *)(out + i), _mm_packus_epi16(lo, hi));
    }
#endif
    for (; i < n; i++) {
        int16_t hi0 = (int16_t)(((int32_t)s0[i] * b0) >> 16), hi1 = (int16_t)(((int32_t)s1[i] * b1) >> 16);
        int16_t v = (int16_t)((hi0 + hi1 + 2) >> 2);
        out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* A small grid's cells brought up to a full-size box as cv2.resize's bilinear does, a row at a time and
 * bit for bit (the scheme above; rows above and below the grid's centres read the edge row twice, with the
 * weights unclamped), and only in the blocks of columns a row asks for: the grown layer never exists at full
 * size, and the pixels are cv2.resize's (reduced.grow_cells') exactly. */
typedef struct {
    Image *image;          /* the cells (a view of the small grid) */
    Py_ssize_t box[4];     /* the full-size box (top, bottom, left, right) they come up to */
    Across across;         /* how a source row is resized across to the box's width */
    int16_t *sums[2];      /* two source rows resized across (x 2048 / 16: OpenCV's 16-bit step) */
    Py_ssize_t cached[2];  /* which source rows those are (-1: none) */
    uint8_t *done[2];      /* per block of columns (BLOCK): whether that part of the row is resized yet */
    void *memory;
} Grown;

/* columns per block: a layer is resized across and grown, a row mixed, only in the blocks that need it */
#define BLOCK 32

static inline int setup_grown(Grown *g, const char *name, Py_ssize_t channels)
{
    Image *im = g->image;
    Py_ssize_t rows = g->box[1] - g->box[0], cols = g->box[3] - g->box[2];
    if (im->channels != channels || im->rows > rows || im->cols > cols) {
        PyErr_Format(PyExc_ValueError, "%s: expected at most %zd x %zd x %zd (cells no bigger than their box), got "
                     "%zd x %zd x %zd", name, rows, cols, channels, im->rows, im->cols, im->channels);
        return -1;
    }
    Py_ssize_t n = cols * channels;
    Py_ssize_t blocks = (cols + BLOCK - 1) / BLOCK;
    g->memory = PyMem_Malloc(2 * (size_t)n * sizeof(int16_t) + 2 * (size_t)blocks);
    if (g->memory == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    g->sums[0] = (int16_t *)g->memory;
    g->sums[1] = g->sums[0] + n;
    g->cached[0] = g->cached[1] = -1;
    g->done[0] = (uint8_t *)(g->sums[1] + n);
    g->done[1] = g->done[0] + blocks;
    return setup_across(&g->across, cols, im->cols, channels);
}

static inline void free_grown(Grown *g)
{
    PyMem_Free(g->memory);   /* NULL until set up */
    free_across(&g->across);
}

/* the cache slot for source row ``sy`` (``keep``: the slot not to give up), claimed for it if need be: its
 * columns are resized across as the rows' blocks ask for them (fill_across) */
static inline int claim(Grown *g, Py_ssize_t sy, int keep)
{
    for (int slot = 0; slot < 2; slot++)
        if (g->cached[slot] == sy)
            return slot;
    int slot = keep == 0 ? 1 : 0;
    g->cached[slot] = sy;
    memset(g->done[slot], 0, (size_t)((g->box[3] - g->box[2] + BLOCK - 1) / BLOCK));
    return slot;
}

/* the slot's row resized across for the columns [from, to), in whole blocks, each once */
static inline void fill_across(Grown *g, int slot, Py_ssize_t from, Py_ssize_t to)
{
    const Image *im = g->image;
    const uint8_t *row = im->data + g->cached[slot] * im->row_stride;
    Py_ssize_t cols = g->box[3] - g->box[2];
    for (Py_ssize_t block = from / BLOCK; block * BLOCK < to; block++) {
        if (g->done[slot][block])
            continue;
        g->done[slot][block] = 1;
        Py_ssize_t end = (block + 1) * BLOCK < cols ? (block + 1) * BLOCK : cols;
        resize_across_u8(&g->across, row, block * BLOCK, end, g->sums[slot]);
    }
}

/* the two source rows (their cache slots) and their weights under row ``y`` (of the frame, inside the box) */
typedef struct {
    int slot0, slot1;
    int16_t b0, b1;
} Rows;

static inline Rows grown_rows(Grown *g, Py_ssize_t y)
{
    Py_ssize_t sy0, sy1;
    Rows r;
    resize_row_u8(y - g->box[0], g->box[1] - g->box[0], g->image->rows, &sy0, &sy1, &r.b0, &r.b1);
    r.slot0 = claim(g, sy0, -1);
    r.slot1 = claim(g, sy1, r.slot0);
    return r;
}

/* columns [from, to) (of the box) of the grown layer's row under ``r``, into ``out`` */
static inline void grown_span(Grown *g, const Rows *r, Py_ssize_t from, Py_ssize_t to, uint8_t *out)
{
    Py_ssize_t c = g->image->channels;
    fill_across(g, r->slot0, from, to);
    fill_across(g, r->slot1, from, to);
    resize_down_row(g->sums[r->slot0] + c * from, g->sums[r->slot1] + c * from, r->b0, r->b1, out, c * (to - from));
}

/* round(x / 255) for 0 <= x <= 255 * 255, exactly (the rounding cv2.multiply's scale 1/255 makes; checked over
 * every x in the tests), as one high-half multiply the vectoriser makes a single vpmulhuw: (x + 128) * 257 / 65536 */
#define DIV255(x) ((uint16_t)(((uint32_t)(uint16_t)((x) + 128) * 257u) >> 16))

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
        if (cpu_has(CPU_SSSE3))
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
