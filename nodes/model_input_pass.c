/* A segmentation model's input tensor made from a camera frame in one pass: MediaPipe's corner-mapped warp
 * to the model's size, the channels put in the model's order and each level turned into the tensor's
 * float32 value, written straight into the NHWC or NCHW tensor. It stands for models/segmenter.py's own
 * path (cv2.remap with CV_16SC2 fixed-point maps, BORDER_CONSTANT; cvtColor; np.multiply by the gain and
 * the offset added), 0.13-0.18 ms a 720p frame there, 0.04-0.05 here (bench/model_input.py), and gives
 * its tensor bit for bit:
 * - the sample positions are convertMaps' own: x = (float)(dx * (w / W)) in 1/32 pixel, rounded to the
 *   nearest (ties to even) as its cvRound does;
 * - the weights are remap's INTER_REMAP_COEF_BITS (15-bit) table for a 1/32 fraction, (32 - fx)(32 - fy) * 32
 *   and so on: every one a multiple of 32, so its (sum + 2^14) >> 15 is (sum / 32 + 2^9) >> 10 here (its
 *   table's one odd entry, 32767 and a 1 at fraction 0, gives the first pixel itself, as this does);
 * - a neighbour past the frame's last row or column reads 0 (BORDER_CONSTANT: only when the frame is smaller
 *   than the model);
 * - each level v of the model's channel c becomes (float)v * gain[c], then + offset[c] when there is one: two
 *   float32 steps, each rounded, as numpy's multiply and add are (never one fused multiply-add: separate
 *   statements, which no compiler's default contracts, and the vector loops have no FMA to fuse into).
 *
 * Not for: choosing the model, the letterbox of a gate input or running the model (models/segmenter.py,
 * nodes/segment.py). The frame is read through its strides as numpy gives them (a mirrored or upside-down
 * view, a channel order reversed in place, a box), never copied: a pass reads only the 2 rows and 2 columns
 * around each of the model's ~37k samples.
 */
#include "frame_passes.h"

enum { REMAP_BITS = 5, REMAP_STEPS = 1 << REMAP_BITS };

/* a source coordinate in the warp: the first of its two source pixels and the second one's weight, in
 * 1/32 (convertMaps: cvRound(x * 32), then >> 5 and & 31) */
static inline void corner_mapped_source(Py_ssize_t d, Py_ssize_t size, Py_ssize_t source_size, Py_ssize_t *s, int *w)
{
    float x = (float)((double)d * ((double)source_size / (double)size));
    long fixed = lrintf(x * (float)REMAP_STEPS);
    *s = (Py_ssize_t)(fixed >> REMAP_BITS);
    *w = (int)(fixed & (REMAP_STEPS - 1));
}

typedef struct {
    Py_buffer view;
    const uint8_t *data;
    Py_ssize_t rows, cols, channels, row_stride, col_stride, channel_stride;
} StridedFrame;

/* ``obj`` as a uint8 rows x cols x 3 or 4 frame, any strides (no copy) */
static int get_frame(PyObject *obj, StridedFrame *f)
{
    if (PyObject_GetBuffer(obj, &f->view, PyBUF_RECORDS_RO) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "frame: expected a numpy array, got %s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_buffer *v = &f->view;
    const char *format = v->format ? v->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@' || format[0] == '|')
        format++;
    if (format[0] != 'B' || format[1] != '\0' || v->itemsize != 1) {
        PyErr_Format(PyExc_TypeError, "frame: expected uint8, got items of format '%s'", v->format ? v->format : "B");
        goto fail;
    }
    if (v->ndim != 3) {
        PyErr_Format(PyExc_ValueError, "frame: expected rows x cols x 3 (BGR) or 4 (BGRA), got %d dimensions",
                     v->ndim);
        goto fail;
    }
    if ((v->shape[2] != 3 && v->shape[2] != 4) || v->shape[0] < 1 || v->shape[1] < 1) {
        PyErr_Format(PyExc_ValueError, "frame: expected rows x cols x 3 (BGR) or 4 (BGRA), got %zd x %zd x %zd",
                     v->shape[0], v->shape[1], v->shape[2]);
        goto fail;
    }
    if (v->shape[0] > 32767 || v->shape[1] > 32767) {   /* remap's maps hold 16-bit positions */
        PyErr_Format(PyExc_ValueError, "frame: expected at most 32767 rows and columns, got %zd x %zd",
                     v->shape[0], v->shape[1]);
        goto fail;
    }
    f->data = (const uint8_t *)v->buf;
    f->rows = v->shape[0];
    f->cols = v->shape[1];
    f->channels = v->shape[2];
    f->row_stride = v->strides[0];
    f->col_stride = v->strides[1];
    f->channel_stride = v->strides[2];
    return 0;
fail:
    PyBuffer_Release(v);
    return -1;
}

/* a float32 buffer of exactly ``shape`` (``ndim`` dimensions), C-contiguous; ``what`` says the shape in words */
static int get_floats(PyObject *obj, const char *name, int writable, int ndim, const Py_ssize_t *shape,
                      const char *what, Py_buffer *view)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a C-contiguous%s float32 numpy array (%s), got %s", name,
                     writable ? ", writable" : "", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@')
        format++;
    if (format[0] != 'f' || format[1] != '\0' || view->itemsize != 4) {
        PyErr_Format(PyExc_TypeError, "%s: expected float32 (%s), got items of format '%s'", name, what,
                     view->format ? view->format : "B");
        goto fail;
    }
    int fits = view->ndim == ndim;
    for (int d = 0; fits && d < ndim; d++)
        fits = shape[d] < 0 ? view->shape[d] >= 1 : view->shape[d] == shape[d];
    if (!fits) {
        char got[96] = "";
        size_t used = 0;
        for (int d = 0; d < view->ndim && used < sizeof got - 24; d++)
            used += (size_t)PyOS_snprintf(got + used, sizeof got - used, d ? " x %zd" : "%zd", view->shape[d]);
        PyErr_Format(PyExc_ValueError, "%s: expected %s, got %s", name, what, view->ndim ? got : "a scalar");
        goto fail;
    }
    return 0;
fail:
    PyBuffer_Release(view);
    return -1;
}

/* remap's fixed-point bilinear of one channel, (32 - wx)(32 - wy) p00 + wx (32 - wy) p01 + ... rounded at
 * 2^10, as three exact integer steps */
static inline int lerp_level(int p00, int p01, int p10, int p11, int wx, int wy)
{
    int top = (p00 << REMAP_BITS) + (p01 - p00) * wx, bottom = (p10 << REMAP_BITS) + (p11 - p10) * wx;
    return ((top << REMAP_BITS) + (bottom - top) * wy + 512) >> 10;
}

/* the model-ordered levels of one output row, 4 a pixel (the 4th unused), for the columns [from, to) whose two
 * source pixels are both inside the frame, both rows inside too; any strides */
static void warp_row_inside(const uint8_t *r0, const uint8_t *r1, int wy, const Py_ssize_t *column, const int *wx,
                            Py_ssize_t from, Py_ssize_t to, Py_ssize_t col_stride, const Py_ssize_t *channel,
                            uint8_t *levels)
{
    for (Py_ssize_t dx = from; dx < to; dx++) {
        const uint8_t *a = r0 + column[dx], *b = r1 + column[dx];
        for (int c = 0; c < 3; c++)
            levels[4 * dx + c] = (uint8_t)lerp_level(a[channel[c]], a[col_stride + channel[c]], b[channel[c]],
                                                     b[col_stride + channel[c]], wx[dx], wy);
    }
}

/* the same for any column, a neighbour outside the frame read as 0 (BORDER_CONSTANT); r0 or r1 NULL:
 * that row is outside */
static void warp_row_edge(const StridedFrame *f, const uint8_t *r0, const uint8_t *r1, int wy, const Py_ssize_t *source,
                          const int *wx, Py_ssize_t from, Py_ssize_t to, const Py_ssize_t *channel, uint8_t *levels)
{
    for (Py_ssize_t dx = from; dx < to; dx++) {
        Py_ssize_t s = source[dx];
        int in0 = s < f->cols, in1 = s + 1 < f->cols;
        for (int c = 0; c < 3; c++) {
            int p[4] = {0, 0, 0, 0};
            if (r0 != NULL && in0)
                p[0] = r0[s * f->col_stride + channel[c]];
            if (r0 != NULL && in1)
                p[1] = r0[(s + 1) * f->col_stride + channel[c]];
            if (r1 != NULL && in0)
                p[2] = r1[s * f->col_stride + channel[c]];
            if (r1 != NULL && in1)
                p[3] = r1[(s + 1) * f->col_stride + channel[c]];
            levels[4 * dx + c] = (uint8_t)lerp_level(p[0], p[1], p[2], p[3], wx[dx], wy);
        }
    }
}

#ifdef HAVE_SPREAD3_SSSE3
/* The inside columns of a packed frame (BGR or BGRA, pixels in a row one after another), two output pixels a
 * step: each one's two source pixels are one 8-byte load from each row, shuffled to channel pairs in the
 * model's order (p0 p1 of the first channel, of the second, of the third); pmaddubsw weights each pair across,
 * pmaddwd the two rows down (the same integer sums as lerp_level, exactly). ``pair_weights``: per column the
 * 8 bytes 32 - wx, wx three times and 0, 0. With ``nhwc`` the values are written there (a pixel's 3 floats
 * as a 4-float store, the 4th overwritten by the next pixel: the caller leaves the row's last pixel to the
 * scalar loop), else the levels into ``levels``, 4 a pixel. The scalar loop: 0.2 ms a 720p frame, this
 * (values included): 0.05. */
__attribute__((target("ssse3")))
static void warp_rows_ssse3(const uint8_t *r0, const uint8_t *r1, int wy, const Py_ssize_t *column,
                            const uint8_t *pair_weights, Py_ssize_t count, const uint8_t *order,
                            const float *gain, const float *offset, float *nhwc, uint8_t *levels)
{
    const __m128i shuffle = _mm_loadu_si128((const __m128i *)order);
    const __m128i down = _mm_set1_epi32((wy << 16) | (REMAP_STEPS - wy));   /* int16 pairs: top, bottom */
    const __m128i half = _mm_set1_epi32(512);
    const __m128 gains = _mm_setr_ps(gain[0], gain[1], gain[2], 0.0f);
    const __m128 offsets = offset ? _mm_setr_ps(offset[0], offset[1], offset[2], 0.0f) : _mm_setzero_ps();
    for (Py_ssize_t dx = 0; dx + 2 <= count; dx += 2) {
        __m128i a = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(r0 + column[dx])),
                                       _mm_loadl_epi64((const __m128i *)(r0 + column[dx + 1])));
        __m128i b = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(r1 + column[dx])),
                                       _mm_loadl_epi64((const __m128i *)(r1 + column[dx + 1])));
        __m128i across = _mm_loadu_si128((const __m128i *)(pair_weights + 8 * dx));
        __m128i top = _mm_maddubs_epi16(_mm_shuffle_epi8(a, shuffle), across);
        __m128i bottom = _mm_maddubs_epi16(_mm_shuffle_epi8(b, shuffle), across);
        __m128i first = _mm_madd_epi16(_mm_unpacklo_epi16(top, bottom), down);
        __m128i second = _mm_madd_epi16(_mm_unpackhi_epi16(top, bottom), down);
        first = _mm_srai_epi32(_mm_add_epi32(first, half), 10);
        second = _mm_srai_epi32(_mm_add_epi32(second, half), 10);
        if (nhwc != NULL) {
            __m128 v0 = _mm_mul_ps(_mm_cvtepi32_ps(first), gains), v1 = _mm_mul_ps(_mm_cvtepi32_ps(second), gains);
            if (offset != NULL) {
                v0 = _mm_add_ps(v0, offsets);
                v1 = _mm_add_ps(v1, offsets);
            }
            _mm_storeu_ps(nhwc + 3 * dx, v0);
            _mm_storeu_ps(nhwc + 3 * dx + 3, v1);
        } else {
            __m128i words = _mm_packs_epi32(first, second);
            _mm_storel_epi64((__m128i *)(levels + 4 * dx), _mm_packus_epi16(words, words));
        }
    }
}

/* A frame already the model's size (the gate's letterboxed input): the warp is the identity (every weight
 * on the first pixel), so each level goes straight to its value, 4 pixels (12 values) a step: one 16-byte
 * load, three shuffles to the values' levels as 32-bit lanes in the model's order, converted, multiplied by
 * the gains in the same pattern (and the offsets added). ``lanes``: 3 x 16 shuffle bytes; ``gains``,
 * ``offsets``: 12 each. Returns how many pixels it wrote (the rest: the scalar loop). */
__attribute__((target("ssse3")))
static Py_ssize_t identity_row_ssse3(const uint8_t *row, Py_ssize_t width, Py_ssize_t channels, const uint8_t *lanes,
                                     const float *gains, const float *offsets, float *out)
{
    const __m128i s0 = _mm_loadu_si128((const __m128i *)lanes), s1 = _mm_loadu_si128((const __m128i *)(lanes + 16)),
                  s2 = _mm_loadu_si128((const __m128i *)(lanes + 32));
    const __m128 g0 = _mm_loadu_ps(gains), g1 = _mm_loadu_ps(gains + 4), g2 = _mm_loadu_ps(gains + 8);
    const __m128 o0 = offsets ? _mm_loadu_ps(offsets) : _mm_setzero_ps();
    const __m128 o1 = offsets ? _mm_loadu_ps(offsets + 4) : _mm_setzero_ps();
    const __m128 o2 = offsets ? _mm_loadu_ps(offsets + 8) : _mm_setzero_ps();
    /* the 16-byte load stays in the row: BGR reads 4 bytes past its 4 pixels */
    Py_ssize_t last = channels == 3 ? width - 6 : width - 4, x = 0;
    for (; x <= last; x += 4) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(row + channels * x));
        __m128 v0 = _mm_mul_ps(_mm_cvtepi32_ps(_mm_shuffle_epi8(bytes, s0)), g0);
        __m128 v1 = _mm_mul_ps(_mm_cvtepi32_ps(_mm_shuffle_epi8(bytes, s1)), g1);
        __m128 v2 = _mm_mul_ps(_mm_cvtepi32_ps(_mm_shuffle_epi8(bytes, s2)), g2);
        if (offsets != NULL) {
            v0 = _mm_add_ps(v0, o0);
            v1 = _mm_add_ps(v1, o1);
            v2 = _mm_add_ps(v2, o2);
        }
        _mm_storeu_ps(out + 3 * x, v0);
        _mm_storeu_ps(out + 3 * x + 4, v1);
        _mm_storeu_ps(out + 3 * x + 8, v2);
    }
    return x < 0 ? 0 : x;
}
#endif

/* a model channel's values from its levels, (float)v * gain (+ offset), for ``count`` pixels 4 levels apart */
static void values_from_levels(const uint8_t *levels, Py_ssize_t count, float gain, const float *offset,
                               float *out, Py_ssize_t out_step)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        float value = (float)levels[4 * i] * gain;
        if (offset != NULL)
            value += *offset;
        out[i * out_step] = value;
    }
}

/* one call's tensor: where it goes and how each model channel's value is made */
typedef struct {
    float *out;
    Py_ssize_t width, height;
    int nchw, rgb;
    const float *gain, *offset;   /* 3 each, the offset NULL for none */
} Tensor;

/* the frame's channel (its index) that is the model's channel c: RGB from BGR reverses them */
static inline int frame_channel(const Tensor *t, int c)
{
    return t->rgb ? 2 - c : c;
}

#ifdef HAVE_SPREAD3_SSSE3
/* a packed frame of the model's own size into an NHWC tensor: the identity, no warp arithmetic at all */
static void identity_frame(const StridedFrame *f, const Tensor *t)
{
    /* the vector loop's 12 values of 4 pixels: value k is pixel k / 3's model channel k % 3 */
    uint8_t lanes[48];
    float gains[12], offsets[12];
    for (int k = 0; k < 12; k++) {
        int c = k % 3;
        lanes[4 * k] = (uint8_t)((k / 3) * f->channels + frame_channel(t, c));
        lanes[4 * k + 1] = lanes[4 * k + 2] = lanes[4 * k + 3] = 0x80;   /* zero */
        gains[k] = t->gain[c];
        offsets[k] = t->offset ? t->offset[c] : 0.0f;
    }
    for (Py_ssize_t y = 0; y < t->height; y++) {
        const uint8_t *row = f->data + y * f->row_stride;
        float *out = t->out + y * t->width * 3;
        Py_ssize_t x = identity_row_ssse3(row, t->width, f->channels, lanes, gains, t->offset ? offsets : NULL, out);
        for (; x < t->width; x++)
            for (int c = 0; c < 3; c++) {
                float value = (float)row[f->channels * x + frame_channel(t, c)] * t->gain[c];
                if (t->offset != NULL)
                    value += t->offset[c];
                out[3 * x + c] = value;
            }
    }
}
#endif

/* bytes of scratch warp_frame needs for a tensor ``width`` wide */
static size_t warp_scratch_size(Py_ssize_t width)
{
    return (size_t)width * (2 * sizeof(Py_ssize_t) + sizeof(int) + 4 + 8) + 32;
}

/* the warp, row by row: each output row's levels (the vector loop where the frame is packed, the scalar one
 * elsewhere, the edge loop where a neighbour is outside), then their values into the tensor */
static void warp_frame(const StridedFrame *f, const Tensor *t, int packed, void *scratch)
{
    Py_ssize_t width = t->width, height = t->height;
    /* per column: the first source column (and its byte offset in a row), the second one's weight, the same
     * as byte pairs for the vector loop; per output row its levels, 4 a pixel */
    Py_ssize_t *source = scratch, *column = source + width;
    int *wx = (int *)(column + width);
    uint8_t *levels = (uint8_t *)(wx + width), *pair_weights = levels + 4 * width + 16;
    Py_ssize_t channel[3];   /* byte offsets in a pixel of the model's channels */
    for (int c = 0; c < 3; c++)
        channel[c] = frame_channel(t, c) * f->channel_stride;
    /* columns [0, inside): both source columns in the frame (the mapping only grows); [0, vector_columns):
     * the vector loop's, whose 8-byte loads stay in the row (BGR: up to the pixel after the second), all but
     * the row's last (its 4-float stores reach one float past a pixel), an even count */
    Py_ssize_t inside = 0, vector_columns = 0;
    for (Py_ssize_t dx = 0; dx < width; dx++) {
        corner_mapped_source(dx, width, f->cols, &source[dx], &wx[dx]);
        column[dx] = source[dx] * f->col_stride;
        if (source[dx] + 1 < f->cols)
            inside = dx + 1;
        if (packed && dx + 1 < width && source[dx] + (f->channels == 3 ? 2 : 1) < f->cols)
            vector_columns = dx + 1;
        for (int c = 0; c < 3; c++) {
            pair_weights[8 * dx + 2 * c] = (uint8_t)(REMAP_STEPS - wx[dx]);
            pair_weights[8 * dx + 2 * c + 1] = (uint8_t)wx[dx];
        }
        pair_weights[8 * dx + 6] = pair_weights[8 * dx + 7] = 0;
    }
    vector_columns -= vector_columns % 2;
#ifdef HAVE_SPREAD3_SSSE3
    uint8_t shuffle[16];   /* a pixel pair's bytes to channel pairs in the model's order, for two pairs */
    for (int half = 0; half < 2; half++) {
        for (int c = 0; c < 3; c++) {
            shuffle[8 * half + 2 * c] = (uint8_t)(8 * half + frame_channel(t, c));
            shuffle[8 * half + 2 * c + 1] = (uint8_t)(8 * half + f->channels + frame_channel(t, c));
        }
        shuffle[8 * half + 6] = shuffle[8 * half + 7] = 0x80;   /* zero */
    }
#endif
    for (Py_ssize_t dy = 0; dy < height; dy++) {
        Py_ssize_t sy;
        int wy;
        corner_mapped_source(dy, height, f->rows, &sy, &wy);
        const uint8_t *r0 = sy < f->rows ? f->data + sy * f->row_stride : NULL;
        const uint8_t *r1 = sy + 1 < f->rows ? f->data + (sy + 1) * f->row_stride : NULL;
        float *nhwc_row = t->nchw ? NULL : t->out + dy * width * 3;
        Py_ssize_t done = 0;   /* columns whose values are written */
        if (r0 != NULL && r1 != NULL) {
            Py_ssize_t warped = 0;
#ifdef HAVE_SPREAD3_SSSE3
            if (vector_columns > 0) {
                warp_rows_ssse3(r0, r1, wy, column, pair_weights, vector_columns, shuffle, t->gain, t->offset,
                                nhwc_row, levels);
                warped = vector_columns;
                done = t->nchw ? 0 : vector_columns;
            }
#endif
            warp_row_inside(r0, r1, wy, column, wx, warped, inside, f->col_stride, channel, levels);
            warp_row_edge(f, r0, r1, wy, source, wx, inside, width, channel, levels);
        } else {
            warp_row_edge(f, r0, r1, wy, source, wx, 0, width, channel, levels);
        }
        for (int c = 0; c < 3; c++) {
            const float *offset = t->offset ? t->offset + c : NULL;
            if (t->nchw)
                values_from_levels(levels + 4 * done + c, width - done, t->gain[c], offset,
                                   t->out + ((Py_ssize_t)c * height + dy) * width + done, 1);
            else
                values_from_levels(levels + 4 * done + c, width - done, t->gain[c], offset, nhwc_row + 3 * done + c, 3);
        }
    }
}

PyDoc_STRVAR(model_input_doc,
"model_input(frame, out, layout, color_order, gain, offset=None)\n\n"
"The model's input tensor for a frame, into out: the frame (uint8 rows x cols x 3 BGR or x 4 BGRA, any\n"
"strides) warped to the model's size as MediaPipe does (cv2.remap with convertMaps' CV_16SC2 maps of\n"
"x * w / W, y * h / H, INTER_LINEAR, BORDER_CONSTANT 0: the same levels), each pixel's channels in\n"
"color_order ('RGB' or 'BGR'), each level v of the model's channel c written as float32 v * gain[c] and,\n"
"with an offset, + offset[c] (gain, offset: 3 float32 each, in the model's order; each step rounded).\n"
"out: float32 C-contiguous, 1 x H x W x 3 for layout 'NHWC' or 1 x 3 x H x W for 'NCHW' (the model's size).");

static PyObject *model_input(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *frame_obj, *out_obj, *gain_obj, *offset_obj = Py_None;
    const char *layout, *order;
    if (!PyArg_ParseTuple(args, "OOssO|O:model_input", &frame_obj, &out_obj, &layout, &order, &gain_obj, &offset_obj))
        return NULL;
    Tensor t;
    if (strcmp(layout, "NHWC") == 0 || strcmp(layout, "NCHW") == 0)
        t.nchw = layout[1] == 'C';
    else {
        PyErr_Format(PyExc_ValueError, "layout: expected 'NHWC' or 'NCHW', got '%s'", layout);
        return NULL;
    }
    if (strcmp(order, "RGB") == 0 || strcmp(order, "BGR") == 0)
        t.rgb = order[0] == 'R';
    else {
        PyErr_Format(PyExc_ValueError, "color_order: expected 'RGB' or 'BGR', got '%s'", order);
        return NULL;
    }
    StridedFrame f;
    Py_buffer views[3];   /* out, gain, offset */
    int got = 0;
    const Py_ssize_t three[1] = {3}, nhwc_shape[4] = {1, -1, -1, 3}, nchw_shape[4] = {1, 3, -1, -1};
    if (get_frame(frame_obj, &f) < 0)
        return NULL;
    if (get_floats(out_obj, "out", 1, 4, t.nchw ? nchw_shape : nhwc_shape, t.nchw ? "1 x 3 x H x W" : "1 x H x W x 3",
                   &views[got]) < 0)
        goto fail;
    got++;
    if (get_floats(gain_obj, "gain", 0, 1, three, "3 channels", &views[got]) < 0)
        goto fail;
    got++;
    if (offset_obj != Py_None) {
        if (get_floats(offset_obj, "offset", 0, 1, three, "3 channels", &views[got]) < 0)
            goto fail;
        got++;
    }
    t.out = views[0].buf;
    t.height = views[0].shape[t.nchw ? 2 : 1];
    t.width = views[0].shape[t.nchw ? 3 : 2];
    t.gain = views[1].buf;
    t.offset = got == 3 ? views[2].buf : NULL;
    int packed = 0;   /* BGR or BGRA pixels one after another, and the CPU has the vector loops' SSSE3 */
#ifdef HAVE_SPREAD3_SSSE3
    packed = cpu_has(CPU_SSSE3) && f.channel_stride == 1 && f.col_stride == f.channels;
    if (packed && !t.nchw && f.cols == t.width && f.rows == t.height) {
        Py_BEGIN_ALLOW_THREADS
        identity_frame(&f, &t);
        Py_END_ALLOW_THREADS
        goto done;
    }
#endif
    void *scratch = PyMem_Malloc(warp_scratch_size(t.width));
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    warp_frame(&f, &t, packed, scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch);
#ifdef HAVE_SPREAD3_SSSE3
done:
#endif
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    PyBuffer_Release(&f.view);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    PyBuffer_Release(&f.view);
    return NULL;
}

PyMethodDef model_input_methods[] = {
    {"model_input", model_input, METH_VARARGS, model_input_doc},
    {NULL, NULL, 0, NULL},
};
