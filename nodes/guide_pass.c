/* The fast guided filter's compiled passes (nodes/guided_upsample.py), row by row with the interpreter's
 * lock released: the first step of its low-resolution guide (the frame's grey and its exact 2x area average
 * in one pass, the full-size grey written on the way), its fit on the low-resolution grid (box means, slope
 * and offset in one pass, ring buffers of a few rows) and its apply at full resolution (q = a * grey + b,
 * clipped, the fringe's feather fused in), which can also make each pixel's grey from the BGR(A) frame
 * itself (measured slower in the chain than reading the grey the first pass wrote: the frame's 3 bytes a
 * pixel read twice; see GuidedUpsampler.low_grey).
 *
 * The grey is cv2.cvtColor's BGR2GRAY / BGRA2GRAY bit for bit, as OpenCV 5 makes it: fixed point with 15
 * fractional bits, (3735 B + 19235 G + 9798 R + 2^14) >> 15 (checked over all 2^24 colours in the tests;
 * OpenCV 4 used 14 bits, 1868 / 9617 / 4899, which differs on 0.26% of colours: nodes/guided_upsample.py
 * probes cv2 once and takes OpenCV's own grey where the two disagree). The 2x area average is cv2.resize's
 * INTER_AREA at exactly half size: (four greys + 2) >> 2. The fit sums in double as cv2.boxFilter does.
 * Not for: the colour guide (3-channel coefficients, OpenCV calls) or growing a and b across (cv2.resize,
 * whose float rounding no in-pass interpolation matched). Every shape and type is checked here and named.
 */
#include "frame_passes.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_GREY_AVX2 1
/* 16 pixels a step (the vectoriser makes poor work of 3-byte pixels: 0.21 ms at 720p, cv2.cvtColor 0.19):
 * each 128-bit lane takes 4 pixels, one byte shuffle lays them out as (B, G) pairs and (R, 0) pairs, and two
 * multiply-adds of unsigned bytes by signed ones give the sum's two halves: the weights split as
 * 256 * high + low, 3735 = 256 * 15 - 105, 19235 = 256 * 75 + 35, 9798 = 256 * 38 + 70, so that
 * H = 15 B + 75 G + 38 R <= 32640 and L = -105 B + 35 G + 70 R in [-26775, 26775] fit 16 bits (each
 * pair's products too: the multiply-add saturates), and (256 H + L + 2^14) >> 15 = (H + (L >> 8) + 64) >> 7,
 * the same integer (floor division by 256 splits off exactly; checked over all 2^24 colours). */
__attribute__((target("avx2")))
static inline __m256i eight_pixels(const uint8_t *p, Py_ssize_t channels, __m256i pick)
{
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                        _mm_loadu_si128((const __m128i *)(p + 4 * channels)), 1);
    return _mm256_shuffle_epi8(v, pick);
}

__attribute__((target("avx2")))
static Py_ssize_t grey_row_avx2(const uint8_t *pixels, Py_ssize_t channels, uint8_t *grey, Py_ssize_t n)
{
    const __m256i pick = channels == 3
        ? _mm256_setr_epi8(0, 1, 3, 4, 6, 7, 9, 10, 2, -1, 5, -1, 8, -1, 11, -1,
                           0, 1, 3, 4, 6, 7, 9, 10, 2, -1, 5, -1, 8, -1, 11, -1)
        : _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, -1, 6, -1, 10, -1, 14, -1,
                           0, 1, 4, 5, 8, 9, 12, 13, 2, -1, 6, -1, 10, -1, 14, -1);
    const __m256i high = _mm256_setr_epi8(15, 75, 15, 75, 15, 75, 15, 75, 38, 0, 38, 0, 38, 0, 38, 0,
                                          15, 75, 15, 75, 15, 75, 15, 75, 38, 0, 38, 0, 38, 0, 38, 0);
    const __m256i low = _mm256_setr_epi8(-105, 35, -105, 35, -105, 35, -105, 35, 70, 0, 70, 0, 70, 0, 70, 0,
                                         -105, 35, -105, 35, -105, 35, -105, 35, 70, 0, 70, 0, 70, 0, 70, 0);
    const __m256i round = _mm256_set1_epi16(64);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    /* each lane's load is 16 bytes from its first pixel: 3-byte pixels read 4 bytes past their 12, so the
     * last step must end 2 pixels short of the row's end */
    Py_ssize_t end = channels == 3 ? n - 2 : n, x = 0;
    for (; x + 16 <= end; x += 16) {
        const uint8_t *p = pixels + x * channels;
        /* lane 0: pixels 0-3 and 8-11, lane 1: 4-7 and 12-15; words 0-3 (B, G), 4-7 (R) of each four */
        __m256i first = eight_pixels(p, channels, pick), second = eight_pixels(p + 8 * channels, channels, pick);
        __m256i h1 = _mm256_maddubs_epi16(first, high), h2 = _mm256_maddubs_epi16(second, high);
        __m256i l1 = _mm256_maddubs_epi16(first, low), l2 = _mm256_maddubs_epi16(second, low);
        __m256i h = _mm256_add_epi16(_mm256_unpacklo_epi64(h1, h2), _mm256_unpackhi_epi64(h1, h2));
        __m256i l = _mm256_add_epi16(_mm256_unpacklo_epi64(l1, l2), _mm256_unpackhi_epi64(l1, l2));
        __m256i y = _mm256_srli_epi16(_mm256_add_epi16(_mm256_add_epi16(h, _mm256_srai_epi16(l, 8)), round), 7);
        y = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(y, y), order);
        _mm_storeu_si128((__m128i *)(grey + x), _mm256_castsi256_si128(y));
    }
    return x;
}
#endif

/* The same sum one pixel at a time (the row's last pixels, or a CPU without AVX2), in 32 bits */
#define GREY_OF(b, g, r) ((uint8_t)(((b) * 3735u + (g) * 19235u + (r) * 9798u + 16384u) >> 15))

/* one row of BGR (3) or BGRA (4) pixels to its grey, cv2.cvtColor's to the bit; one channel is a copy */
static void grey_row(const uint8_t *pixels, Py_ssize_t channels, uint8_t *grey, Py_ssize_t n)
{
    if (channels == 1) {
        memcpy(grey, pixels, (size_t)n);
        return;
    }
    Py_ssize_t x = 0;
#ifdef HAVE_GREY_AVX2
    if (cpu_has(CPU_AVX2))
        x = grey_row_avx2(pixels, channels, grey, n);
#endif
    for (; x < n; x++) {
        const uint8_t *p = pixels + x * channels;
        grey[x] = GREY_OF(p[0], p[1], p[2]);
    }
}

/* ``image`` is a guide: uint8, one channel (a grey already made) or 3 / 4 (BGR / BGRA, made grey here) */
static int check_guide_channels(const Image *image, const char *name)
{
    if (image->channels == 2) {
        PyErr_Format(PyExc_ValueError, "%s: expected grey (1 channel), BGR (3) or BGRA (4), got 2 channels", name);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(grey_doc,
"grey(frame, out)\n\n"
"out = cv2.cvtColor(frame, COLOR_BGR2GRAY or COLOR_BGRA2GRAY), bit for bit: uint8 rows x cols x 3 or 4 frame,\n"
"uint8 rows x cols out.");

static PyObject *grey(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *frame_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO:grey", &frame_obj, &out_obj))
        return NULL;
    Image im[2];
    int got = 0;
    if (get_image(frame_obj, "frame", 'B', 0, &im[0]) < 0)
        return NULL;
    got = 1;
    if (check_guide_channels(&im[0], "frame") < 0 || get_image(out_obj, "out", 'B', 1, &im[1]) < 0)
        goto fail;
    got = 2;
    Image *frame = &im[0], *out = &im[1];
    if (same_size(frame, "frame", out, "out", 0) < 0)
        goto fail;
    if (out->channels != 1) {
        PyErr_Format(PyExc_ValueError, "out: expected one channel, got %zd", out->channels);
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < frame->rows; y++)
        grey_row(frame->data + y * frame->row_stride, frame->channels, out->data + y * out->row_stride, frame->cols);
    Py_END_ALLOW_THREADS
    release(im, 2);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

/* the 2x area average of two grey rows of 2n pixels: cv2.resize's INTER_AREA at exactly half size */
VECTOR_CLONES
static void halve_rows(const uint8_t *g0, const uint8_t *g1, uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++)
        out[x] = (uint8_t)((g0[2 * x] + g0[2 * x + 1] + g1[2 * x] + g1[2 * x + 1] + 2) >> 2);
}

PyDoc_STRVAR(grey_halve_doc,
"grey_halve(frame, out, grey=None)\n\n"
"out = cv2.resize(cv2.cvtColor(frame, ...2GRAY)[:2 * h, :2 * w], (w, h), interpolation=INTER_AREA), bit\n"
"for bit, in one pass: uint8 frame (1, 3 or 4 channels), uint8 h x w out with h = rows // 2, w = cols // 2 (an\n"
"odd last row or column is left out, as guided_upsample.shrink_to crops it). grey (uint8 rows x cols), if\n"
"given: the full-size grey written too, cv2.cvtColor's, its odd last row and column included.");

static PyObject *grey_halve(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *frame_obj, *out_obj, *grey_obj = Py_None;
    if (!PyArg_ParseTuple(args, "OO|O:grey_halve", &frame_obj, &out_obj, &grey_obj))
        return NULL;
    Image im[3];
    int got = 0;
    if (get_image(frame_obj, "frame", 'B', 0, &im[0]) < 0)
        return NULL;
    got = 1;
    if (check_guide_channels(&im[0], "frame") < 0 || get_image(out_obj, "out", 'B', 1, &im[1]) < 0)
        goto fail;
    got = 2;
    Image *frame = &im[0], *out = &im[1], *grey = NULL;
    if (out->rows != frame->rows / 2 || out->cols != frame->cols / 2 || out->channels != 1) {
        PyErr_Format(PyExc_ValueError, "out: expected half of frame's %zd x %zd, %zd x %zd x 1, got %zd x %zd x %zd",
                     frame->rows, frame->cols, frame->rows / 2, frame->cols / 2, out->rows, out->cols, out->channels);
        goto fail;
    }
    if (grey_obj != Py_None) {
        if (get_image(grey_obj, "grey", 'B', 1, &im[2]) < 0)
            goto fail;
        got = 3;
        grey = &im[2];
        if (same_size(frame, "frame", grey, "grey", 0) < 0)
            goto fail;
        if (grey->channels != 1) {
            PyErr_Format(PyExc_ValueError, "grey: expected one channel, got %zd", grey->channels);
            goto fail;
        }
    }
    Py_ssize_t cols = out->cols;
    uint8_t *lines = PyMem_Malloc((size_t)(2 * frame->cols + 1));
    if (lines == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < out->rows; y++) {
        const uint8_t *top = frame->data + 2 * y * frame->row_stride;
        /* the two rows' grey: into the full-size grey when there is one (the whole row), else two lines */
        uint8_t *first = grey ? grey->data + 2 * y * grey->row_stride : lines;
        uint8_t *second = grey ? grey->data + (2 * y + 1) * grey->row_stride : lines + frame->cols;
        Py_ssize_t width = grey ? frame->cols : 2 * cols;
        grey_row(top, frame->channels, first, width);
        grey_row(top + frame->row_stride, frame->channels, second, width);
        halve_rows(first, second, out->data + y * out->row_stride, cols);
    }
    if (grey && frame->rows % 2)
        grey_row(frame->data + (frame->rows - 1) * frame->row_stride, frame->channels,
                 grey->data + (frame->rows - 1) * grey->row_stride, frame->cols);
    Py_END_ALLOW_THREADS
    PyMem_Free(lines);
    release(im, got);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

VECTOR_CLONES
static void guided_row(const float *a0, const float *a1, const float *b0, const float *b1, float w,
                       const uint8_t *grey, float *out, Py_ssize_t n)
{
    float w0 = 1.0f - w;   /* cv2.resize's own weights, so that its rounding is matched too */
    for (Py_ssize_t i = 0; i < n; i++) {
        float a = a0[i] * w0 + a1[i] * w;
        float b = b0[i] * w0 + b1[i] * w;
        float q = a * (float)grey[i] + b;
        q = q < 0.0f ? 0.0f : q;
        out[i] = q > 1.0f ? 1.0f : q;
    }
}

#define MAX_TAPS 63

/* Gaussian taps are symmetric: out = k0 * centre + sum_t k_t * (before_t + after_t), one loop per row for the
 * common radii 1 to 3 (what the recipes' feathers 0.5-2 need), all loads contiguous */
VECTOR_CLONES
static void taps_row(const float *taps, Py_ssize_t radius, const float *const *lines, float *out, Py_ssize_t n)
{
    const float *k = taps + radius;   /* k[0] the centre, k[t] the t-th either side */
    const float *c = lines[radius];
    if (radius == 1) {
        const float *m1 = lines[0], *p1 = lines[2];
        for (Py_ssize_t i = 0; i < n; i++)
            out[i] = k[0] * c[i] + k[1] * (m1[i] + p1[i]);
    } else if (radius == 2) {
        const float *m2 = lines[0], *m1 = lines[1], *p1 = lines[3], *p2 = lines[4];
        for (Py_ssize_t i = 0; i < n; i++)
            out[i] = k[0] * c[i] + k[1] * (m1[i] + p1[i]) + k[2] * (m2[i] + p2[i]);
    } else if (radius == 3) {
        const float *m3 = lines[0], *m2 = lines[1], *m1 = lines[2], *p1 = lines[4], *p2 = lines[5], *p3 = lines[6];
        for (Py_ssize_t i = 0; i < n; i++)
            out[i] = k[0] * c[i] + k[1] * (m1[i] + p1[i]) + k[2] * (m2[i] + p2[i]) + k[3] * (m3[i] + p3[i]);
    } else {
        for (Py_ssize_t i = 0; i < n; i++)
            out[i] = k[0] * c[i];
        for (Py_ssize_t t = 1; t <= radius; t++) {
            const float *before = lines[radius - t], *after = lines[radius + t];
            float weight = k[t];
            for (Py_ssize_t i = 0; i < n; i++)
                out[i] += weight * (before[i] + after[i]);
        }
    }
}

/* the taps across one row, its ends replicated (cv2's BORDER_REPLICATE): ``padded`` holds the row at
 * [radius, radius + n) and is filled out to both sides here */
static void blur_across(const float *taps, Py_ssize_t count, float *padded, Py_ssize_t n, float *out)
{
    Py_ssize_t radius = count / 2;
    const float *lines[MAX_TAPS];
    for (Py_ssize_t i = 0; i < radius; i++) {
        padded[i] = padded[radius];
        padded[radius + n + i] = padded[radius + n - 1];
    }
    for (Py_ssize_t t = 0; t < count; t++)
        lines[t] = padded + t;
    taps_row(taps, radius, lines, out, n);
}



PyDoc_STRVAR(guided_apply_doc,
"guided_apply(a_rows, b_rows, guide, out, taps=None)\n\n"
"out = clip(a * grey + b, 0, 1): float32 rows x cols out; guide uint8 rows x cols, either the grey itself or\n"
"the BGR / BGRA frame, whose grey is made per pixel here as cv2.cvtColor's; a and b float32 grids already\n"
"grown to the frame's width (at most as many rows as the frame), their rows interpolated as cv2.resize's\n"
"bilinear would. taps (float32, an odd count up to 63, e.g. cv2.getGaussianKernel): the result then blurred\n"
"by them across and down, ends replicated, as cv2.sepFilter2D would, in the same pass.");
/* row ``y`` of the guide's grey: the grey's own row, or made from the frame's into ``line`` */
static inline const uint8_t *guide_grey_row(const Image *guide, Py_ssize_t y, uint8_t *line)
{
    const uint8_t *pixels = guide->data + y * guide->row_stride;
    if (guide->channels == 1)
        return pixels;
    grey_row(pixels, guide->channels, line, guide->cols);
    return line;
}

/* row ``y`` of clip(a * grey + b) (a, b's rows interpolated as cv2.resize places them) into ``row`` */
static inline void apply_row(const Image *a, const Image *b, const Image *guide, Py_ssize_t y, uint8_t *line,
                             float *row)
{
    Py_ssize_t y0, y1;
    float w;
    bilinear_source(y, guide->rows, a->rows, &y0, &y1, &w);
    guided_row((const float *)(a->data + y0 * a->row_stride), (const float *)(a->data + y1 * a->row_stride),
               (const float *)(b->data + y0 * b->row_stride), (const float *)(b->data + y1 * b->row_stride),
               w, guide_grey_row(guide, y, line), row, guide->cols);
}

static PyObject *guided_apply(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[4], *taps_obj = Py_None;
    if (!PyArg_ParseTuple(args, "OOOO|O:guided_apply", &objs[0], &objs[1], &objs[2], &objs[3], &taps_obj))
        return NULL;
    Image im[4];
    const char *names[4] = {"a_rows", "b_rows", "guide", "out"};
    const char kinds[4] = {'f', 'f', 'B', 'f'};
    Py_buffer taps_view = {0};
    int got = 0, have_taps = 0;
    for (; got < 4; got++)
        if (get_image(objs[got], names[got], kinds[got], got == 3, &im[got]) < 0)
            goto fail;
    Image *a = &im[0], *b = &im[1], *guide = &im[2], *out = &im[3];
    if (check_guide_channels(guide, "guide") < 0 || same_size(guide, "guide", out, "out", 0) < 0
            || same_size(a, "a_rows", b, "b_rows", 1) < 0)
        goto fail;
    if (out->channels != 1) {
        PyErr_Format(PyExc_ValueError, "out: expected one channel, got %zd", out->channels);
        goto fail;
    }
    if (a->channels != 1 || a->cols != guide->cols || a->rows > guide->rows) {
        PyErr_Format(PyExc_ValueError, "a_rows: expected one channel, at most %zd rows of %zd, got %zd x %zd x %zd",
                     guide->rows, guide->cols, a->rows, a->cols, a->channels);
        goto fail;
    }
    Py_ssize_t count = 0;
    if (taps_obj != Py_None) {
        if (PyObject_GetBuffer(taps_obj, &taps_view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "taps: expected a contiguous float32 array, got %s",
                         Py_TYPE(taps_obj)->tp_name);
            goto fail;
        }
        have_taps = 1;
        const char *format = taps_view.format ? taps_view.format : "B";
        if (format[0] == '<' || format[0] == '=' || format[0] == '@')
            format++;
        count = taps_view.len / (taps_view.itemsize ? taps_view.itemsize : 1);
        if (format[0] != 'f' || format[1] != '\0' || count % 2 == 0 || count > MAX_TAPS) {
            PyErr_Format(PyExc_ValueError, "taps: expected an odd count of up to %d float32, got %zd of format '%s'",
                         MAX_TAPS, count, taps_view.format ? taps_view.format : "B");
            goto fail;
        }
    }
    Py_ssize_t rows = guide->rows, cols = guide->cols, radius = count / 2;
    /* with taps: a ring of ``count`` rows already blurred across, and one padded row to blur from; with a
     * BGR(A) guide: one row of its grey */
    Py_ssize_t floats = count > 1 ? count * cols + cols + 2 * radius : 0;
    char *scratch = PyMem_Malloc(sizeof(float) * (size_t)floats + (size_t)cols);
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    float *ring = (float *)scratch, *padded = ring + count * cols;
    uint8_t *line = (uint8_t *)(scratch + sizeof(float) * (size_t)floats);
    const float *taps = have_taps ? (const float *)taps_view.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (count <= 1) {
        for (Py_ssize_t y = 0; y < rows; y++) {
            float *row = (float *)(out->data + y * out->row_stride);
            apply_row(a, b, guide, y, line, row);
            if (count == 1)
                for (Py_ssize_t x = 0; x < cols; x++)
                    row[x] *= taps[0];
        }
    } else {
        Py_ssize_t made = 0;   /* source rows [0, made) have been blurred across into the ring */
        for (Py_ssize_t y = 0; y < rows; y++) {
            Py_ssize_t last = y + radius < rows ? y + radius : rows - 1;
            for (; made <= last; made++) {
                apply_row(a, b, guide, made, line, padded + radius);
                blur_across(taps, count, padded, cols, ring + (made % count) * cols);
            }
            const float *lines[MAX_TAPS];
            for (Py_ssize_t t = 0; t < count; t++) {
                Py_ssize_t source = y - radius + t;
                source = source < 0 ? 0 : (source >= rows ? rows - 1 : source);
                lines[t] = ring + (source % count) * cols;
            }
            taps_row(taps, radius, lines, (float *)(out->data + y * out->row_stride), cols);
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    if (have_taps)
        PyBuffer_Release(&taps_view);
    release(im, 4);
    Py_RETURN_NONE;
fail:
    if (have_taps)
        PyBuffer_Release(&taps_view);
    release(im, got);
    return NULL;
}


/* cv::borderInterpolate for BORDER_REFLECT (fedcba|abcdefgh|hgfedcb), repeated for a window wider than the
 * line, as OpenCV's box filter places the pixels beyond either end */
static Py_ssize_t reflect_index(Py_ssize_t p, Py_ssize_t length)
{
    if (length == 1)
        return 0;
    while (p < 0 || p >= length)
        p = p < 0 ? -p - 1 : 2 * length - 1 - p;
    return p;
}

/* the window's sums across one row, in double: out[x] = sum of padded[x .. x + count), added left to right
 * (OpenCV's own order for the 3 and 5 wide boxes, so their sums are its to the bit) */
VECTOR_CLONES
static void window_across(const float *restrict padded, Py_ssize_t count, double *restrict out, Py_ssize_t n)
{
    if (count == 3) {
        for (Py_ssize_t x = 0; x < n; x++)
            out[x] = (double)padded[x] + (double)padded[x + 1] + (double)padded[x + 2];
    } else if (count == 5) {
        for (Py_ssize_t x = 0; x < n; x++)
            out[x] = (double)padded[x] + (double)padded[x + 1] + (double)padded[x + 2] + (double)padded[x + 3]
                     + (double)padded[x + 4];
    } else {
        for (Py_ssize_t x = 0; x < n; x++)
            out[x] = (double)padded[x];
        for (Py_ssize_t t = 1; t < count; t++)
            for (Py_ssize_t x = 0; x < n; x++)
                out[x] += (double)padded[x + t];
    }
}

/* the running sum down: the window gains row ``in``, its mean is written out, and it loses row ``off`` */
VECTOR_CLONES
static void window_down(double *restrict sum, const double *in, const double *off, double scale, float *restrict out,
                        Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++) {
        double s = sum[x] + in[x];
        out[x] = (float)(s * scale);
        sum[x] = s - off[x];
    }
}

VECTOR_CLONES
static void add_row(double *sum, const double *in, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++)
        sum[x] += in[x];
}

/* cv2.boxFilter(plane, CV_32F, (k, k), normalize=True, borderType=BORDER_REFLECT) with k = 2 radius + 1, for
 * ``planes`` planes at once, row by row: each source row's sums across (in double, as OpenCV sums float32)
 * kept in a ring of k + 1 rows, and a running sum down. The rows one output row needs lie within k rows of
 * each other (reflected ones included), so the ring holds them; a source row is read once, before the
 * output row of the same index is written, so an output may be its own source. */
#define MAX_PLANES 4

typedef struct {
    Py_ssize_t rows, cols, radius, planes, made;   /* made: source rows summed across so far */
    const Py_ssize_t *across, *down;   /* reflected indices of columns [-radius, cols + radius), rows likewise */
    float *padded;                     /* cols + 2 radius */
    double *ring, *sums;               /* planes x (k + 1) x cols; planes x cols */
} Box;

/* the caller's source rows: ``source(context, y, rows)`` points rows[0 .. planes) at source row y */
typedef void (*SourceRows)(void *context, Py_ssize_t y, const float **rows);

static double *ring_row(const Box *box, Py_ssize_t plane, Py_ssize_t y)
{
    Py_ssize_t k = 2 * box->radius + 1;
    return box->ring + ((plane * (k + 1)) + y % (k + 1)) * box->cols;
}

static void sum_source_rows(Box *box, Py_ssize_t last, SourceRows source, void *context)
{
    Py_ssize_t r = box->radius, cols = box->cols, k = 2 * r + 1;
    for (; box->made <= last; box->made++) {
        const float *rows[MAX_PLANES];
        source(context, box->made, rows);
        for (Py_ssize_t plane = 0; plane < box->planes; plane++) {
            const float *row = rows[plane];
            memcpy(box->padded + r, row, sizeof(float) * (size_t)cols);
            for (Py_ssize_t i = 0; i < r; i++) {
                box->padded[i] = row[box->across[i]];
                box->padded[r + cols + i] = row[box->across[r + cols + i]];
            }
            window_across(box->padded, k, ring_row(box, plane, box->made), cols);
        }
    }
}

static void box_start(Box *box, Py_ssize_t planes, SourceRows source, void *context)
{
    Py_ssize_t k = 2 * box->radius + 1, highest = 0;
    box->planes = planes;
    box->made = 0;
    for (Py_ssize_t t = 0; t < k - 1; t++)
        highest = box->down[t] > highest ? box->down[t] : highest;
    sum_source_rows(box, highest, source, context);
    memset(box->sums, 0, sizeof(double) * (size_t)(planes * box->cols));
    for (Py_ssize_t plane = 0; plane < planes; plane++)
        for (Py_ssize_t t = 0; t < k - 1; t++)
            add_row(box->sums + plane * box->cols, ring_row(box, plane, box->down[t]), box->cols);
}

/* output row y of every plane's mean into means[plane] */
static void box_row(Box *box, Py_ssize_t y, SourceRows source, void *context, float *const *means)
{
    Py_ssize_t k = 2 * box->radius + 1, in = box->down[y + k - 1];
    double scale = 1.0 / (double)(k * k);
    sum_source_rows(box, in, source, context);
    for (Py_ssize_t plane = 0; plane < box->planes; plane++)
        window_down(box->sums + plane * box->cols, ring_row(box, plane, in), ring_row(box, plane, box->down[y]),
                    scale, means[plane], box->cols);
}

/* the fit's planes that are not inputs: the guide in [0, 1] and its products with p and itself, float32 as
 * the numpy path makes them */
VECTOR_CLONES
static void guide_planes_row(const uint8_t *grey, const float *p, float *guide, float *guide_p, float *guide_guide,
                             Py_ssize_t n)
{
    const float to_unit = (float)(1.0 / 255.0);
    for (Py_ssize_t x = 0; x < n; x++) {
        float g = (float)grey[x] * to_unit;
        guide[x] = g;
        guide_p[x] = g * p[x];
        guide_guide[x] = g * g;
    }
}

/* a = cov(I, p) / (var(I) + eps), float32 in the numpy path's order */
VECTOR_CLONES
static void slope_row(const float *mean_i, const float *mean_p, const float *mean_ip, const float *mean_ii,
                      float eps, float *a, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++) {
        float cov = mean_ip[x] - mean_i[x] * mean_p[x];
        float var = mean_ii[x] - mean_i[x] * mean_i[x];
        a[x] = cov / (var + eps);
    }
}

/* b = p - mean_a * mean_i (mean_i already in b's row), then mean_a scaled for a uint8 guide */
VECTOR_CLONES
static void offset_row(const float *p, float *mean_a, float *b, Py_ssize_t n)
{
    const float to_unit = (float)(1.0 / 255.0);
    for (Py_ssize_t x = 0; x < n; x++) {
        b[x] = p[x] - mean_a[x] * b[x];
        mean_a[x] *= to_unit;
    }
}

typedef struct {
    const Image *guide, *p, *a_out;
    float *guide_row, *guide_p_row, *guide_guide_row;
} FitRows;

/* the first box's four planes: I, p, I p, I I, made row by row from the guide and p */
static void first_planes(void *context, Py_ssize_t y, const float **rows)
{
    FitRows *fit = context;
    const float *p = (const float *)(fit->p->data + y * fit->p->row_stride);
    guide_planes_row(fit->guide->data + y * fit->guide->row_stride, p, fit->guide_row, fit->guide_p_row,
                     fit->guide_guide_row, fit->guide->cols);
    rows[0] = fit->guide_row;
    rows[1] = p;
    rows[2] = fit->guide_p_row;
    rows[3] = fit->guide_guide_row;
}

/* the second box's one plane: a, in a_out (its mean is written over it, behind the rows it is made from) */
static void slope_plane(void *context, Py_ssize_t y, const float **rows)
{
    FitRows *fit = context;
    rows[0] = (const float *)(fit->a_out->data + y * fit->a_out->row_stride);
}

#define MAX_FIT_RADIUS 255

PyDoc_STRVAR(guided_fit_doc,
"guided_fit(guide, p, radius, eps, a_out, b_out)\n\n"
"The grey guided filter's fit on the low-res grid, as GuidedUpsampler.coefficients() makes it with numpy and\n"
"cv2.boxFilter (k = 2 radius + 1, BORDER_REFLECT), in one pass: I = guide / 255, a = cov(I, p) / (var(I) + eps)\n"
"over the k x k boxes, a_out = box(a) / 255, b_out = p - box(a) * box(I). guide: uint8 rows x cols, p: float32\n"
"rows x cols, radius 1 to 255, eps > 0; a_out and b_out float32 rows x cols. The box sums are in double, as\n"
"OpenCV's: the numpy path's numbers at radius 1 and 2, within float rounding of them at others.");

static PyObject *guided_fit(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *guide_obj, *p_obj, *a_obj, *b_obj;
    Py_ssize_t radius;
    double eps;
    if (!PyArg_ParseTuple(args, "OOndOO:guided_fit", &guide_obj, &p_obj, &radius, &eps, &a_obj, &b_obj))
        return NULL;
    if (radius < 1 || radius > MAX_FIT_RADIUS) {
        PyErr_Format(PyExc_ValueError, "radius: expected 1 to %d, got %zd", MAX_FIT_RADIUS, radius);
        return NULL;
    }
    if (!(eps > 0.0) || !isfinite(eps)) {
        PyErr_Format(PyExc_ValueError, "eps: expected a finite number > 0, got %R", PyTuple_GET_ITEM(args, 3));
        return NULL;
    }
    Image im[4];
    int got = 0;
    if (get_image(guide_obj, "guide", 'B', 0, &im[0]) < 0)
        return NULL;
    got = 1;
    Image *guide = &im[0];
    if (guide->channels != 1) {
        PyErr_Format(PyExc_ValueError, "guide: expected one channel, got %zd", guide->channels);
        goto fail;
    }
    if (get_image_like(p_obj, "p", 'f', guide, "guide", 1, &im[1]) < 0)
        goto fail;
    got = 2;
    const char *out_names[2] = {"a_out", "b_out"};
    for (; got < 4; got++) {
        if (get_image(got == 2 ? a_obj : b_obj, out_names[got - 2], 'f', 1, &im[got]) < 0)
            goto fail;
        if (same_size(guide, "guide", &im[got], out_names[got - 2], 1) < 0) {
            got++;
            goto fail;
        }
    }
    if (im[2].data == im[3].data || im[2].data == im[1].data || im[3].data == im[1].data) {
        PyErr_SetString(PyExc_ValueError, "a_out, b_out: expected two arrays of their own (not p, not each other)");
        goto fail;
    }
    Image *p = &im[1], *a_out = &im[2], *b_out = &im[3];
    Py_ssize_t rows = guide->rows, cols = guide->cols, k = 2 * radius + 1;
    /* doubles: the ring and the running sums; floats: six rows and the padded one; the reflected indices. About
     * 90 kB for a 320-wide grid at radius 2: small enough to come from the heap, not fresh pages, each call */
    size_t double_count = (size_t)(MAX_PLANES * (k + 1) * cols + MAX_PLANES * cols);
    size_t float_count = (size_t)(6 * cols + cols + 2 * radius);
    size_t index_count = (size_t)(rows + cols + 4 * radius);
    char *scratch = PyMem_Malloc(sizeof(double) * double_count + sizeof(float) * float_count
                                 + sizeof(Py_ssize_t) * index_count);
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    double *ring = (double *)scratch, *sums = ring + MAX_PLANES * (k + 1) * cols;
    float *floats = (float *)(sums + MAX_PLANES * cols), *padded = floats + 6 * cols;
    Py_ssize_t *across = (Py_ssize_t *)(floats + float_count), *down = across + cols + 2 * radius;
    for (Py_ssize_t i = 0; i < cols + 2 * radius; i++)
        across[i] = reflect_index(i - radius, cols);
    for (Py_ssize_t i = 0; i < rows + 2 * radius; i++)
        down[i] = reflect_index(i - radius, rows);
    Box box = {rows, cols, radius, 0, 0, across, down, padded, ring, sums};
    FitRows fit = {guide, p, a_out, floats, floats + cols, floats + 2 * cols};
    float *mean_p = floats + 3 * cols, *mean_ip = floats + 4 * cols, *mean_ii = floats + 5 * cols;
    Py_BEGIN_ALLOW_THREADS
    box_start(&box, 4, first_planes, &fit);
    for (Py_ssize_t y = 0; y < rows; y++) {
        /* box(I) waits in b_out's row for b */
        float *mean_i = (float *)(b_out->data + y * b_out->row_stride);
        float *means[4] = {mean_i, mean_p, mean_ip, mean_ii};
        box_row(&box, y, first_planes, &fit, means);
        slope_row(mean_i, mean_p, mean_ip, mean_ii, (float)eps, (float *)(a_out->data + y * a_out->row_stride), cols);
    }
    box_start(&box, 1, slope_plane, &fit);
    for (Py_ssize_t y = 0; y < rows; y++) {
        float *mean_a = (float *)(a_out->data + y * a_out->row_stride);
        box_row(&box, y, slope_plane, &fit, &mean_a);
        offset_row((const float *)(p->data + y * p->row_stride), mean_a,
                   (float *)(b_out->data + y * b_out->row_stride), cols);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
    release(im, 4);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

PyMethodDef guide_methods[] = {
    {"grey", grey, METH_VARARGS, grey_doc},
    {"grey_halve", grey_halve, METH_VARARGS, grey_halve_doc},
    {"guided_apply", guided_apply, METH_VARARGS, guided_apply_doc},
    {"guided_fit", guided_fit, METH_VARARGS, guided_fit_doc},
    {NULL, NULL, 0, NULL},
};
