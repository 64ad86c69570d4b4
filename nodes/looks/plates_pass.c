/* The person-on-a-plate looks' full-resolution steps, each one pass over the frame, row by row, with the
 * interpreter's lock released: the poster's and the replaced background's three-layer mix with their
 * weights worked out per pixel (the grade's table, the light, the edge colour's and the wrap's shares),
 * colour pop's grey scene and its person, the cut-out's BGRA assembly, and the mask's alpha with its boxes.
 * A layer that comes from a small grid arrives as its cells (box_blend.cells_to_grow) and is brought up
 * here, row by row and only where a row needs it, bit for bit as cv2.resize's bilinear does (Grown, in
 * frame_passes.h).
 *
 * Not for: deciding the weights' meaning (the looks: nodes/looks/poster.py, background_replace.py,
 * cutout.py; each keeps the OpenCV calls these stand for, where the extension is not built) or anything on
 * the small grid. Every shape and type is checked here and named in the error. The arithmetic is OpenCV's:
 * round(x * w / 255) as cv2.multiply's scale 1/255 (DIV255), saturated adds, cvtColor's BGR2GRAY in 15-bit
 * fixed point, cv2.resize's fixed point, so the pixels are the OpenCV path's exactly
 * (tests/nodes/test_plates_passes.py). */
#include "frame_passes.h"

/* cvtColor(COLOR_BGR2GRAY) for uint8, exactly (OpenCV's 15-bit fixed-point weights) */
#define LUMA(b, g, r) ((uint8_t)(((b) * 3735 + (g) * 19235 + (r) * 9798 + (1 << 14)) >> 15))

/* a table argument: ``entries`` x ``channels`` contiguous uint8 (a cv2.LUT table, (1, 256, C) or (256,)) */
static int get_table(PyObject *obj, const char *name, Py_ssize_t channels, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous uint8 numpy array, got %s", name,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *format = view->format ? view->format : "B";
    if (format[0] == '<' || format[0] == '=' || format[0] == '@' || format[0] == '|')
        format++;
    if (format[0] != 'B' || format[1] != '\0' || view->len != 256 * channels) {
        PyErr_Format(PyExc_ValueError, "%s: expected 256 x %zd uint8 entries (a cv2.LUT table), got %zd bytes"
                     " of format '%s'", name, channels, view->len, view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* a box argument: (top, bottom, left, right) inside rows x cols, not empty */
static int get_box(PyObject *obj, const char *name, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t box[4])
{
    if (!PyArg_ParseTuple(obj, "nnnn", &box[0], &box[1], &box[2], &box[3])) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected (top, bottom, left, right), got %s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (box[0] < 0 || box[1] > rows || box[0] >= box[1] || box[2] < 0 || box[3] > cols || box[2] >= box[3]) {
        PyErr_Format(PyExc_ValueError, "%s: expected a non-empty box inside %zd x %zd, got (%zd, %zd, %zd, %zd)",
                     name, rows, cols, box[0], box[1], box[2], box[3]);
        return -1;
    }
    return 0;
}

/* whether every one of ``n`` bytes is ``value`` (a branch-free reduction the compiler vectorises) */
static int all_are(const uint8_t *v, Py_ssize_t n, uint8_t value)
{
    uint8_t differ = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        differ |= (uint8_t)(v[i] ^ value);
    return differ == 0;
}

/* [from, to) narrowed to its first and last bytes that are not 0 (from == to: none), 16 bytes a step */
static void nonzero_extent(const uint8_t *v, Py_ssize_t *from, Py_ssize_t *to)
{
    Py_ssize_t x = *from, end = *to;
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128();
    while (x + 16 <= end && _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(v + x)), zero)) == 0xFFFF)
        x += 16;
#endif
    while (x < end && v[x] == 0)
        x++;
#ifdef __SSE2__
    while (end - 16 >= x && _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(v + end - 16)), zero))
                                == 0xFFFF)
        end -= 16;
#endif
    while (end > x && v[end - 1] == 0)
        end--;
    *from = x;
    *to = end;
}


/* the three layers' weights of one row of the box (see plates_mix's doc); ``light`` and ``reach`` always
 * given (255s and 0s stand for none: round(a * 255 / 255) = a), the layer's columns cut after (one
 * branch-free loop the compiler vectorises) */
VECTOR_CLONES
static void mix_weights(const uint8_t *restrict alpha, const uint8_t *restrict light, uint16_t edge_mask,
                        const uint8_t *restrict reach, uint8_t *restrict on_frame, uint8_t *restrict on_layer,
                        uint8_t *restrict behind, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++) {
        uint16_t a = alpha[x];
        uint16_t s = DIV255((uint16_t)(a * light[x]));
        uint16_t e = (uint16_t)(510 - 2 * a);
        e = e > 255 ? 255 : e;
        e = (uint16_t)((a == 0 ? 0 : e) & edge_mask);
        uint16_t w = DIV255((uint16_t)(reach[x] * a));
        uint16_t k = (uint16_t)(255 - DIV255((uint16_t)((255 - e) * (255 - w))));
        uint16_t l = DIV255((uint16_t)(s * k));
        on_frame[x] = (uint8_t)s;
        on_layer[x] = (uint8_t)l;
        behind[x] = (uint8_t)(255 - a);
    }
}

/* the layer's share only inside its columns [from, to), the person's the rest of s */
VECTOR_CLONES
static void cut_layer(uint8_t *on_frame, uint8_t *on_layer, Py_ssize_t from, Py_ssize_t to, Py_ssize_t n)
{
    memset(on_layer, 0, (size_t)from);
    memset(on_layer + to, 0, (size_t)(n - to));
    for (Py_ssize_t x = from; x < to; x++)
        on_frame[x] = (uint8_t)(on_frame[x] - on_layer[x]);
}

VECTOR_CLONES
static void mix3_row(const uint8_t *a, const uint8_t *wa, const uint8_t *b, const uint8_t *wb, const uint8_t *c,
                     const uint8_t *wc, uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t sum = (uint16_t)(DIV255((uint16_t)(a[i] * wa[i])) + DIV255((uint16_t)(b[i] * wb[i]))
                                  + DIV255((uint16_t)(c[i] * wc[i])));
        out[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

VECTOR_CLONES
static void luma_row(const uint8_t *frame, uint8_t *grey, Py_ssize_t cols)
{
    for (Py_ssize_t x = 0; x < cols; x++)
        grey[x] = LUMA((uint32_t)frame[3 * x], (uint32_t)frame[3 * x + 1], (uint32_t)frame[3 * x + 2]);
}

#if defined(__GNUC__) && defined(__x86_64__)
/* the 3-channel table with AVX2's gathers, 8 pixels a step: byte i's entry is at 3 v + (i mod 3) of a 32-bit
 * copy of the table (the scalar lookups were a third of the poster's pass) */
__attribute__((target("avx2")))
static Py_ssize_t grade_avx2(const uint8_t *frame, const int32_t *table32, uint8_t *out, Py_ssize_t n)
{
    const __m256i channel0 = _mm256_setr_epi32(0, 1, 2, 0, 1, 2, 0, 1);
    const __m256i channel1 = _mm256_setr_epi32(2, 0, 1, 2, 0, 1, 2, 0);
    const __m256i channel2 = _mm256_setr_epi32(1, 2, 0, 1, 2, 0, 1, 2);
    Py_ssize_t i = 0;
    for (; i + 24 <= n; i += 24) {
        __m256i v0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(frame + i)));
        __m256i v1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(frame + i + 8)));
        __m256i v2 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(frame + i + 16)));
        __m256i g0 = _mm256_i32gather_epi32((const int *)table32,
                                            _mm256_add_epi32(_mm256_add_epi32(v0, _mm256_slli_epi32(v0, 1)), channel0), 4);
        __m256i g1 = _mm256_i32gather_epi32((const int *)table32,
                                            _mm256_add_epi32(_mm256_add_epi32(v1, _mm256_slli_epi32(v1, 1)), channel1), 4);
        __m256i g2 = _mm256_i32gather_epi32((const int *)table32,
                                            _mm256_add_epi32(_mm256_add_epi32(v2, _mm256_slli_epi32(v2, 1)), channel2), 4);
        /* 24 entries back to bytes in order: the packs work per 128-bit lane, the permutes put them back */
        __m256i words01 = _mm256_permute4x64_epi64(_mm256_packus_epi32(g0, g1), 0xD8);
        __m256i words2 = _mm256_permute4x64_epi64(_mm256_packus_epi32(g2, g2), 0xD8);
        __m256i bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(words01, words2), 0xD8);
        _mm_storeu_si128((__m128i *)(out + i), _mm256_castsi256_si128(bytes));
        _mm_storel_epi64((__m128i *)(out + i + 16), _mm256_extracti128_si256(bytes, 1));
    }
    return i;
}
#endif

/* the person's grade of one row: a 3-channel table on the colour (``table32``: its 32-bit copy, for the
 * gathers), or on its luma (grey: duotone) */
static void grade_row(const uint8_t *frame, const uint8_t *table, const int32_t *table32, int grey, uint8_t *out,
                      Py_ssize_t cols)
{
    if (grey) {
        luma_row(frame, out, cols);   /* the first third of out, read before its pixel is written */
        for (Py_ssize_t x = cols - 1; x >= 0; x--) {
            const uint8_t *entry = table + 3 * out[x];
            out[3 * x] = entry[0];
            out[3 * x + 1] = entry[1];
            out[3 * x + 2] = entry[2];
        }
        return;
    }
    Py_ssize_t x = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    if (cpu_has(CPU_AVX2))
        x = grade_avx2(frame, table32, out, 3 * cols) / 3;
#else
    (void)table32;
#endif
    for (; x < cols; x++) {
        out[3 * x] = table[3 * frame[3 * x]];
        out[3 * x + 1] = table[3 * frame[3 * x + 1] + 1];
        out[3 * x + 2] = table[3 * frame[3 * x + 2] + 2];
    }
}

PyDoc_STRVAR(plates_mix_doc,
"plates_mix(frame, alpha, plate, out, box, *, table=None, grey=False, light=None, edge=False, reach=None,\n"
"           reach_box=None, layer=None, layer_box=None)\n\n"
"The person (frame, graded by ``table``) and a small-grid layer over a plate, in one pass: inside ``box``\n"
"(top, bottom, left, right; the alpha's, outside it the plate), with s = round(a * light / 255) (or a),\n"
"e = the edge colour's share (255 for alpha 1..127, 510 - 2a above, 0 at 0; when ``edge``), w = round(reach\n"
"* a / 255), k = 255 - round((255 - e)(255 - w) / 255), on_layer = round(s * k / 255) inside layer_box\n"
"(else 0): out = round(G(frame) * (s - on_layer) / 255) + round(layer * on_layer / 255) +\n"
"round(plate * (255 - a) / 255), saturated. uint8 frame, plate, out (rows x cols x 3), alpha, light\n"
"(rows x cols); table 256 x 3 (a cv2.LUT table; ``grey``: applied to the luma); reach and layer: small\n"
"grids' cells (box_blend.cells_to_grow) brought up to reach_box and layer_box here as cv2.resize would.");

static PyObject *plates_mix(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *keywords[] = {"frame", "alpha", "plate", "out", "box", "table", "grey", "light", "edge", "reach",
                               "reach_box", "layer", "layer_box", NULL};
    PyObject *objs[4], *box_obj, *table_obj = Py_None, *light_obj = Py_None, *reach_obj = Py_None;
    PyObject *reach_box_obj = Py_None, *layer_obj = Py_None, *layer_box_obj = Py_None;
    int grey = 0, edge = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOO|$OpOpOOOO:plates_mix", keywords, &objs[0], &objs[1],
                                     &objs[2], &objs[3], &box_obj, &table_obj, &grey, &light_obj, &edge,
                                     &reach_obj, &reach_box_obj, &layer_obj, &layer_box_obj))
        return NULL;
    Image im[7];
    Grown reach = {0}, layer = {0};
    const char *names[4] = {"frame", "alpha", "plate", "out"};
    int got = 0, have_table = 0;
    Py_buffer table_view;
    for (; got < 4; got++)
        if (get_image(objs[got], names[got], 'B', got == 3, &im[got]) < 0)
            goto fail;
    Image *frame = &im[0], *alpha = &im[1], *plate = &im[2], *out = &im[3];
    Image *light = NULL;
    if (frame->channels != 3) {
        PyErr_Format(PyExc_ValueError, "frame: expected 3 channels (BGR), got %zd", frame->channels);
        goto fail;
    }
    if (same_size(frame, "frame", out, "out", 1) < 0 || same_size(frame, "frame", plate, "plate", 1) < 0
            || same_size(frame, "frame", alpha, "alpha", 0) < 0)
        goto fail;
    if (alpha->channels != 1) {
        PyErr_Format(PyExc_ValueError, "alpha: expected one channel, got %zd", alpha->channels);
        goto fail;
    }
    Py_ssize_t rows = frame->rows, cols = frame->cols, box[4];
    if (get_box(box_obj, "box", rows, cols, box) < 0)
        goto fail;
    if (light_obj != Py_None) {
        if (get_image(light_obj, "light", 'B', 0, &im[got]) < 0)
            goto fail;
        light = &im[got++];
        if (same_size(alpha, "alpha", light, "light", 1) < 0)
            goto fail;
    }
    if ((reach_obj == Py_None) != (reach_box_obj == Py_None) || (layer_obj == Py_None) != (layer_box_obj == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "reach_box, layer_box: expected with reach and layer, and only with them");
        goto fail;
    }
    if (reach_obj != Py_None) {
        if (get_image(reach_obj, "reach", 'B', 0, &im[got]) < 0)
            goto fail;
        reach.image = &im[got++];
        if (get_box(reach_box_obj, "reach_box", rows, cols, reach.box) < 0 || setup_grown(&reach, "reach", 1) < 0)
            goto fail;
        if (reach.box[0] > box[0] || reach.box[1] < box[1] || reach.box[2] > box[2] || reach.box[3] < box[3]) {
            PyErr_SetString(PyExc_ValueError, "reach_box: expected to cover box");
            goto fail;
        }
    }
    if (layer_obj != Py_None) {
        if (get_image(layer_obj, "layer", 'B', 0, &im[got]) < 0)
            goto fail;
        layer.image = &im[got++];
        if (get_box(layer_box_obj, "layer_box", rows, cols, layer.box) < 0 || setup_grown(&layer, "layer", 3) < 0)
            goto fail;
    }
    if (table_obj != Py_None) {
        if (get_table(table_obj, "table", 3, &table_view) < 0)
            goto fail;
        have_table = 1;
    }
    Py_ssize_t x0 = box[2], x1 = box[3], width = x1 - x0, n = 3 * width;
    /* row buffers: three 1-channel weights, three spread, the graded person, the layer and the reach across the
     * row's extent (indexed from its left end), 255s for no light and 0s for no reach */
    uint8_t *buffers = PyMem_Calloc((size_t)(6 * width + 5 * n), 1);
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *on_frame = buffers, *on_layer = on_frame + width, *behind = on_layer + width;
    uint8_t *frame_w = behind + width, *layer_w = frame_w + n, *behind_w = layer_w + n, *graded = behind_w + n;
    uint8_t *layer_cols = graded + n, *reach_row = layer_cols + n, *full_light = reach_row + width;
    uint8_t *no_reach = full_light + width;
    memset(full_light, 255, (size_t)width);
    const uint8_t *table = have_table ? (const uint8_t *)table_view.buf : NULL;
    int32_t table32[768];
    for (int i = 0; table && i < 768; i++)
        table32[i] = table[i];
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        const uint8_t *p = plate->data + y * plate->row_stride;
        uint8_t *o = out->data + y * out->row_stride;
        const uint8_t *a = alpha->data + y * alpha->row_stride;
        /* this row's extent of the person (beside it the plate: 0 shares but its own) */
        Py_ssize_t xs = x0, xe = x0;
        if (y >= box[0] && y < box[1]) {
            xe = x1;
            nonzero_extent(a, &xs, &xe);
        }
        if (xs == xe) {
            memcpy(o, p, (size_t)(3 * cols));
            continue;
        }
        memcpy(o, p, (size_t)(3 * xs));
        memcpy(o + 3 * xe, p + 3 * xe, (size_t)(3 * (cols - xe)));
        Py_ssize_t w = xe - xs, m = 3 * w;
        const uint8_t *r = no_reach;
        if (reach.image) {
            Rows under = grown_rows(&reach, y);
            grown_span(&reach, &under, xs - reach.box[2], xe - reach.box[2], reach_row);
            r = reach_row;
        }
        mix_weights(a + xs, light ? light->data + y * light->row_stride + xs : full_light, edge ? 0xFFFF : 0, r,
                    on_frame, on_layer, behind, w);
        Py_ssize_t from = 0, to = 0;
        if (layer.image && y >= layer.box[0] && y < layer.box[1]) {
            from = (layer.box[2] > xs ? layer.box[2] : xs) - xs;
            to = (layer.box[3] < xe ? layer.box[3] : xe) - xs;
            if (to < from)
                to = from;
        }
        cut_layer(on_frame, on_layer, from, to, w);
        if (to > from) {
            /* the layer grown only in the blocks where it has a share (the soft edge: most of a row has none) */
            Rows under = grown_rows(&layer, y);
            for (Py_ssize_t start = from; start < to; start += BLOCK) {
                Py_ssize_t stop = start + BLOCK < to ? start + BLOCK : to;
                if (!all_are(on_layer + start, stop - start, 0))
                    grown_span(&layer, &under, xs + start - layer.box[2], xs + stop - layer.box[2],
                               layer_cols + 3 * start);
            }
        }
        const uint8_t *f = frame->data + y * frame->row_stride + 3 * xs;
        if (table) {
            /* graded only where the person has a share (a table is a lookup per byte, not vectorised);
             * elsewhere it is multiplied by 0 */
            Py_ssize_t first = 0, last = w;
            nonzero_extent(on_frame, &first, &last);
            grade_row(f + 3 * first, table, table32, grey, graded + 3 * first, last - first);
            f = graded;
        }
        /* the person's solid inside (all of its share, nothing else: on_frame 255) is its graded colour as
         * it is; the rest is mixed, in runs of blocks alike */
        for (Py_ssize_t start = 0; start < w;) {
            Py_ssize_t stop = start + BLOCK < w ? start + BLOCK : w;
            int solid = all_are(on_frame + start, stop - start, 255);
            while (stop < w) {
                Py_ssize_t next = stop + BLOCK < w ? stop + BLOCK : w;
                if (all_are(on_frame + stop, next - stop, 255) != solid)
                    break;
                stop = next;
            }
            Py_ssize_t run = stop - start;
            if (solid)
                memcpy(o + 3 * (xs + start), f + 3 * start, (size_t)(3 * run));
            else
                mix3_row(f + 3 * start, spread_row(on_frame + start, run, 3, frame_w), layer_cols + 3 * start,
                         spread_row(on_layer + start, run, 3, layer_w), p + 3 * (xs + start),
                         spread_row(behind + start, run, 3, behind_w), o + 3 * (xs + start), 3 * run);
            start = stop;
        }
        (void)m;
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    if (have_table)
        PyBuffer_Release(&table_view);
    free_grown(&reach);
    free_grown(&layer);
    release(im, got);
    Py_RETURN_NONE;
fail:
    if (have_table)
        PyBuffer_Release(&table_view);
    free_grown(&reach);
    free_grown(&layer);
    release(im, got);
    return NULL;
}

PyDoc_STRVAR(grey_scene_doc,
"grey_scene(frame, table, grey, out)\n\n"
"grey = table[luma(frame)] (cvtColor's BGR2GRAY, then cv2.LUT) and out = grey in all three channels, in one\n"
"pass: uint8 frame, out rows x cols x 3, grey rows x cols, table 256 entries.");

static PyObject *grey_scene(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *frame_obj, *table_obj, *grey_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOOO:grey_scene", &frame_obj, &table_obj, &grey_obj, &out_obj))
        return NULL;
    Image im[3];
    Py_buffer table_view;
    int got = 0, have_table = 0;
    if (get_image(frame_obj, "frame", 'B', 0, &im[0]) < 0)
        goto fail;
    got = 1;
    if (get_image(grey_obj, "grey", 'B', 1, &im[1]) < 0)
        goto fail;
    got = 2;
    if (get_image(out_obj, "out", 'B', 1, &im[2]) < 0)
        goto fail;
    got = 3;
    Image *frame = &im[0], *grey = &im[1], *out = &im[2];
    if (frame->channels != 3) {
        PyErr_Format(PyExc_ValueError, "frame: expected 3 channels (BGR), got %zd", frame->channels);
        goto fail;
    }
    if (same_size(frame, "frame", out, "out", 1) < 0 || same_size(frame, "frame", grey, "grey", 0) < 0)
        goto fail;
    if (grey->channels != 1) {
        PyErr_Format(PyExc_ValueError, "grey: expected one channel, got %zd", grey->channels);
        goto fail;
    }
    if (get_table(table_obj, "table", 1, &table_view) < 0)
        goto fail;
    have_table = 1;
    const uint8_t *table = table_view.buf;
    Py_ssize_t rows = frame->rows, cols = frame->cols;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        const uint8_t *f = frame->data + y * frame->row_stride;
        uint8_t *g = grey->data + y * grey->row_stride;
        luma_row(f, g, cols);
        for (Py_ssize_t x = 0; x < cols; x++)
            g[x] = table[g[x]];
        spread_row(g, cols, 3, out->data + y * out->row_stride);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&table_view);
    release(im, got);
    Py_RETURN_NONE;
fail:
    if (have_table)
        PyBuffer_Release(&table_view);
    release(im, got);
    return NULL;
}

VECTOR_CLONES
static void keep_add_row(const uint8_t *frame, const uint8_t *keep, const uint8_t *light, uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t sum = (uint16_t)(DIV255((uint16_t)(frame[i] * keep[i])) + light[i]);
        out[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

/* colour pop's shares of one row: keep = a - wrapped, light = round((255 - a) grey / 255) + round(wrapped
 * glow / 255) saturated, wrapped = round(round(reach a / 255) a / 255) (0 without a wrap) */
VECTOR_CLONES
static void pop_weights(const uint8_t *alpha, const uint8_t *grey, const uint8_t *reach, const uint8_t *glow,
                        uint8_t *keep, uint8_t *light, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++) {
        uint16_t a = alpha[x];
        uint16_t wrapped = reach ? DIV255((uint16_t)(DIV255((uint16_t)(reach[x] * a)) * a)) : 0;
        uint16_t l = (uint16_t)(DIV255((uint16_t)((255 - a) * grey[x])) + (glow ? DIV255((uint16_t)(wrapped * glow[x])) : 0));
        keep[x] = (uint8_t)(a - wrapped);
        light[x] = (uint8_t)(l > 255 ? 255 : l);
    }
}

PyDoc_STRVAR(pop_person_doc,
"pop_person(frame, alpha, grey, out, box, *, reach=None, glow=None, grown_box=None, keep=None, light=None)\n\n"
"Colour pop's person over its grey scene inside ``box`` (top, bottom, left, right; out holds the grey scene,\n"
"which is left as it is beside the box and where alpha is 0), in one pass: out = round(frame * keep / 255)\n"
"+ light, saturated, with keep and light as pop_weights says (background_replace.py's _colour_pop); reach\n"
"and glow: one-channel small grids' cells brought up to grown_box here as cv2.resize would. keep and light\n"
"(rows x cols): where the shares are written too, inside the box, when given (a still scene's next frames\n"
"reuse them).");

static PyObject *pop_person(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *keywords[] = {"frame", "alpha", "grey", "out", "box", "reach", "glow", "grown_box", "keep", "light",
                               NULL};
    PyObject *objs[4], *box_obj, *reach_obj = Py_None, *glow_obj = Py_None, *grown_obj = Py_None;
    PyObject *keep_obj = Py_None, *light_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOO|$OOOOO:pop_person", keywords, &objs[0], &objs[1], &objs[2],
                                     &objs[3], &box_obj, &reach_obj, &glow_obj, &grown_obj, &keep_obj, &light_obj))
        return NULL;
    Image im[8];
    Grown reach = {0}, glow = {0};
    const char *names[4] = {"frame", "alpha", "grey", "out"};
    int got = 0;
    for (; got < 4; got++)
        if (get_image(objs[got], names[got], 'B', got == 3, &im[got]) < 0)
            goto fail;
    Image *frame = &im[0], *alpha = &im[1], *grey = &im[2], *out = &im[3], *keep = NULL, *light = NULL;
    if (frame->channels != 3 || alpha->channels != 1 || grey->channels != 1) {
        PyErr_Format(PyExc_ValueError, "frame, alpha, grey: expected 3, 1 and 1 channels, got %zd, %zd and %zd",
                     frame->channels, alpha->channels, grey->channels);
        goto fail;
    }
    if (same_size(frame, "frame", out, "out", 1) < 0 || same_size(alpha, "alpha", grey, "grey", 1) < 0
            || same_size(frame, "frame", alpha, "alpha", 0) < 0)
        goto fail;
    Py_ssize_t rows = frame->rows, cols = frame->cols, box[4];
    if (get_box(box_obj, "box", rows, cols, box) < 0)
        goto fail;
    if ((reach_obj == Py_None) != (glow_obj == Py_None) || (reach_obj == Py_None) != (grown_obj == Py_None)
            || (keep_obj == Py_None) != (light_obj == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "reach, glow, grown_box: expected all three or none; keep, light: both "
                        "or neither");
        goto fail;
    }
    if (reach_obj != Py_None) {
        if (get_image(reach_obj, "reach", 'B', 0, &im[got]) < 0)
            goto fail;
        reach.image = &im[got++];
        if (get_image(glow_obj, "glow", 'B', 0, &im[got]) < 0)
            goto fail;
        glow.image = &im[got++];
        if (get_box(grown_obj, "grown_box", rows, cols, reach.box) < 0)
            goto fail;
        memcpy(glow.box, reach.box, sizeof reach.box);
        if (setup_grown(&reach, "reach", 1) < 0 || setup_grown(&glow, "glow", 1) < 0)
            goto fail;
        if (reach.box[0] > box[0] || reach.box[1] < box[1] || reach.box[2] > box[2] || reach.box[3] < box[3]) {
            PyErr_SetString(PyExc_ValueError, "grown_box: expected to cover box");
            goto fail;
        }
    }
    if (keep_obj != Py_None) {
        if (get_image(keep_obj, "keep", 'B', 1, &im[got]) < 0)
            goto fail;
        keep = &im[got++];
        if (get_image(light_obj, "light", 'B', 1, &im[got]) < 0)
            goto fail;
        light = &im[got++];
        if (same_size(alpha, "alpha", keep, "keep", 1) < 0 || same_size(alpha, "alpha", light, "light", 1) < 0)
            goto fail;
    }
    Py_ssize_t x0 = box[2], width = box[3] - box[2], n = 3 * width;
    Py_ssize_t grown_cols = reach.image ? reach.box[3] - reach.box[2] : 0;
    uint8_t *buffers = PyMem_Malloc((size_t)(2 * width + 2 * n + 2 * grown_cols + 1));
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *keep_row = buffers, *light_row = keep_row + width, *keep3 = light_row + width, *light3 = keep3 + n;
    uint8_t *reach_row = light3 + n, *glow_row = reach_row + grown_cols;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = box[0]; y < box[1]; y++) {
        const uint8_t *a = alpha->data + y * alpha->row_stride, *gr = grey->data + y * grey->row_stride;
        /* the row's extent of the person: beside it out holds the grey scene already (keep 0, light the grey) */
        Py_ssize_t xs = x0, xe = box[3];
        nonzero_extent(a, &xs, &xe);
        if (keep) {   /* the kept shares there too, for keep_add over the whole box */
            uint8_t *kr = keep->data + y * keep->row_stride, *lr = light->data + y * light->row_stride;
            memset(kr + x0, 0, (size_t)(xs - x0));
            memset(kr + xe, 0, (size_t)(box[3] - xe));
            memcpy(lr + x0, gr + x0, (size_t)(xs - x0));
            memcpy(lr + xe, gr + xe, (size_t)(box[3] - xe));
        }
        if (xs == xe)
            continue;
        Py_ssize_t w = xe - xs;
        const uint8_t *r = NULL, *g = NULL;
        if (reach.image) {
            Rows under = grown_rows(&reach, y);
            grown_span(&reach, &under, xs - reach.box[2], xe - reach.box[2], reach_row);
            /* the glow only where the reach is not 0 (elsewhere its share is) */
            under = grown_rows(&glow, y);
            for (Py_ssize_t start = 0; start < w; start += BLOCK) {
                Py_ssize_t stop = start + BLOCK < w ? start + BLOCK : w;
                if (!all_are(reach_row + start, stop - start, 0))
                    grown_span(&glow, &under, xs + start - glow.box[2], xs + stop - glow.box[2], glow_row + start);
            }
            r = reach_row;
            g = glow_row;
        }
        uint8_t *k = keep ? keep->data + y * keep->row_stride + xs : keep_row;
        uint8_t *l = light ? light->data + y * light->row_stride + xs : light_row;
        pop_weights(a + xs, gr + xs, r, g, k, l, w);
        keep_add_row(frame->data + y * frame->row_stride + 3 * xs, spread_row(k, w, 3, keep3),
                     spread_row(l, w, 3, light3), out->data + y * out->row_stride + 3 * xs, 3 * w);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    free_grown(&reach);
    free_grown(&glow);
    release(im, got);
    Py_RETURN_NONE;
fail:
    free_grown(&reach);
    free_grown(&glow);
    release(im, got);
    return NULL;
}

PyDoc_STRVAR(keep_add_doc,
"keep_add(frame, keep, light, out)\n\n"
"out = round(frame * keep / 255) + light, saturated, keep and light (rows x cols) spread to frame's\n"
"channels: uint8, out of frame's size (colour pop's person: its share of itself plus the grey light over it).");

static PyObject *keep_add(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[4];
    if (!PyArg_ParseTuple(args, "OOOO:keep_add", &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    Image im[4];
    const char *names[4] = {"frame", "keep", "light", "out"};
    int got = 0;
    for (; got < 4; got++)
        if (get_image(objs[got], names[got], 'B', got == 3, &im[got]) < 0)
            goto fail;
    Image *frame = &im[0], *keep = &im[1], *light = &im[2], *out = &im[3];
    if (same_size(frame, "frame", out, "out", 1) < 0 || same_size(frame, "frame", keep, "keep", 0) < 0
            || same_size(frame, "frame", light, "light", 0) < 0)
        goto fail;
    if (keep->channels != 1 || light->channels != 1) {
        PyErr_SetString(PyExc_ValueError, "keep, light: expected one channel");
        goto fail;
    }
    Py_ssize_t rows = frame->rows, cols = frame->cols, channels = frame->channels, n = cols * channels;
    uint8_t *buffers = PyMem_Malloc((size_t)(2 * n));
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        const uint8_t *k = spread_row(keep->data + y * keep->row_stride, cols, channels, buffers);
        const uint8_t *l = spread_row(light->data + y * light->row_stride, cols, channels, buffers + n);
        keep_add_row(frame->data + y * frame->row_stride, k, l, out->data + y * out->row_stride, n);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    release(im, 4);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

VECTOR_CLONES
static void blend_same_row(const uint8_t *top, const uint8_t *bottom, const uint8_t *w, uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t sum = (uint16_t)(DIV255((uint16_t)(top[i] * w[i])) + DIV255((uint16_t)(bottom[i] * (255 - w[i]))));
        out[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
/* 16 pixels a step: four 12-byte colour groups and their four alphas shuffled into 64 bytes (the compiler's
 * own loop moved a byte at a time) */
__attribute__((target("ssse3")))
static Py_ssize_t bgra_ssse3(const uint8_t *colour, const uint8_t *alpha, uint8_t *out, Py_ssize_t cols)
{
    const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    const __m128i take[4] = {
        _mm_setr_epi8(-1, -1, -1, 0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3),
        _mm_setr_epi8(-1, -1, -1, 4, -1, -1, -1, 5, -1, -1, -1, 6, -1, -1, -1, 7),
        _mm_setr_epi8(-1, -1, -1, 8, -1, -1, -1, 9, -1, -1, -1, 10, -1, -1, -1, 11),
        _mm_setr_epi8(-1, -1, -1, 12, -1, -1, -1, 13, -1, -1, -1, 14, -1, -1, -1, 15),
    };
    Py_ssize_t x = 0;
    for (; x + 18 <= cols; x += 16) {   /* the last colour load reads 16 bytes from pixel x + 12 */
        __m128i a = _mm_loadu_si128((const __m128i *)(alpha + x));
        for (int group = 0; group < 4; group++) {
            __m128i c = _mm_loadu_si128((const __m128i *)(colour + 3 * (x + 4 * group)));
            _mm_storeu_si128((__m128i *)(out + 4 * (x + 4 * group)),
                             _mm_or_si128(_mm_shuffle_epi8(c, spread), _mm_shuffle_epi8(a, take[group])));
        }
    }
    return x;
}
#endif

/* BGR + A -> BGRA, one row */
static void bgra_row(const uint8_t *colour, const uint8_t *alpha, uint8_t *out, Py_ssize_t cols)
{
    Py_ssize_t x = 0;
#if defined(__GNUC__) && defined(__x86_64__)
    if (cpu_has(CPU_SSSE3))
        x = bgra_ssse3(colour, alpha, out, cols);
#endif
    for (; x < cols; x++) {
        out[4 * x] = colour[3 * x];
        out[4 * x + 1] = colour[3 * x + 1];
        out[4 * x + 2] = colour[3 * x + 2];
        out[4 * x + 3] = alpha[x];
    }
}

PyDoc_STRVAR(bgra_doc,
"bgra(frame, alpha, out, *, layer=None, layer_box=None, box=None, weight=None)\n\n"
"out (rows x cols x 4) = the frame's colour with alpha as its fourth channel, in one pass. With ``layer`` (a\n"
"small grid's cells that come up to layer_box as cv2.resize would: cells_to_grow) blended in by ``weight``\n"
"(rows x cols) inside ``box`` (top, bottom, left, right, within layer_box; weight is read there only):\n"
"round(layer * w / 255) + round(frame * (255 - w) / 255), saturated (the cut-out's decontaminated edge).\n"
"weight None: the edge colour's weight with its rim, from alpha (255 where alpha is 0 or 1..127, 510 - 2a\n"
"above: edge_colour.py's weight and rim).");

/* the edge colour's weight with its rim (EdgeColour.weight, then 255 where alpha is 0) */
VECTOR_CLONES
static void rim_weight_row(const uint8_t *restrict alpha, uint8_t *restrict weight, Py_ssize_t n)
{
    for (Py_ssize_t x = 0; x < n; x++) {
        uint16_t a = alpha[x], e = (uint16_t)(510 - 2 * a);
        weight[x] = (uint8_t)(a == 0 || e > 255 ? 255 : e);
    }
}

static PyObject *bgra(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *keywords[] = {"frame", "alpha", "out", "layer", "layer_box", "box", "weight", NULL};
    PyObject *frame_obj, *alpha_obj, *out_obj, *layer_obj = Py_None, *layer_box_obj = Py_None;
    PyObject *weight_obj = Py_None, *box_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|$OOOO:bgra", keywords, &frame_obj, &alpha_obj, &out_obj,
                                     &layer_obj, &layer_box_obj, &box_obj, &weight_obj))
        return NULL;
    Image im[5];
    Grown layer = {0};
    int got = 0;
    const char *names[3] = {"frame", "alpha", "out"};
    PyObject *objs[3] = {frame_obj, alpha_obj, out_obj};
    for (; got < 3; got++)
        if (get_image(objs[got], names[got], 'B', got == 2, &im[got]) < 0)
            goto fail;
    Image *frame = &im[0], *alpha = &im[1], *out = &im[2], *weight = NULL;
    if (frame->channels != 3 || out->channels != 4 || alpha->channels != 1) {
        PyErr_Format(PyExc_ValueError, "frame, alpha, out: expected 3, 1 and 4 channels, got %zd, %zd and %zd",
                     frame->channels, alpha->channels, out->channels);
        goto fail;
    }
    if (same_size(frame, "frame", out, "out", 0) < 0 || same_size(frame, "frame", alpha, "alpha", 0) < 0)
        goto fail;
    int given = (layer_obj != Py_None) + (layer_box_obj != Py_None) + (box_obj != Py_None);
    if ((given != 0 && given != 3) || (given == 0 && weight_obj != Py_None)) {
        PyErr_SetString(PyExc_ValueError, "layer, layer_box, box: expected all three or none (weight only with them)");
        goto fail;
    }
    Py_ssize_t rows = frame->rows, cols = frame->cols, box[4] = {0, 0, 0, 0};
    if (given) {
        if (get_image(layer_obj, "layer", 'B', 0, &im[got]) < 0)
            goto fail;
        layer.image = &im[got++];
        if (weight_obj != Py_None) {
            if (get_image(weight_obj, "weight", 'B', 0, &im[got]) < 0)
                goto fail;
            weight = &im[got++];
            if (same_size(alpha, "alpha", weight, "weight", 1) < 0)
                goto fail;
        }
        if (get_box(layer_box_obj, "layer_box", rows, cols, layer.box) < 0
                || get_box(box_obj, "box", rows, cols, box) < 0 || setup_grown(&layer, "layer", 3) < 0)
            goto fail;
        if (box[0] < layer.box[0] || box[1] > layer.box[1] || box[2] < layer.box[2] || box[3] > layer.box[3]) {
            PyErr_Format(PyExc_ValueError, "box: expected inside layer_box (%zd, %zd, %zd, %zd), got (%zd, %zd, %zd, "
                         "%zd)", layer.box[0], layer.box[1], layer.box[2], layer.box[3], box[0], box[1], box[2], box[3]);
            goto fail;
        }
    }
    Py_ssize_t grown = layer.box[3] - layer.box[2], x0 = box[2], x1 = box[3], width = x1 - x0;
    uint8_t *buffers = PyMem_Malloc((size_t)(6 * width + 3 * grown + cols + 1));
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *colour = buffers, *spread = colour + 3 * width, *layer_row = spread + 3 * width;
    uint8_t *rim_row = layer_row + 3 * grown;   /* the weight worked out from alpha (no weight given), by column */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        const uint8_t *f = frame->data + y * frame->row_stride, *a = alpha->data + y * alpha->row_stride;
        uint8_t *o = out->data + y * out->row_stride;
        if (y < box[0] || y >= box[1]) {
            bgra_row(f, a, o, cols);
            continue;
        }
        /* beside the box the frame's own colour, and inside it where the weight is 0 (most of it: the
         * edge colour's share is the soft edge's); the blend in runs of blocks where it is not */
        const uint8_t *wt;
        if (weight) {
            wt = weight->data + y * weight->row_stride;
        } else {
            rim_weight_row(a + x0, rim_row + x0, width);
            wt = rim_row;
        }
        Rows under = grown_rows(&layer, y);
        bgra_row(f, a, o, x0);
        for (Py_ssize_t start = x0; start < x1;) {
            Py_ssize_t stop = start + BLOCK < x1 ? start + BLOCK : x1;
            int none = all_are(wt + start, stop - start, 0);
            while (stop < x1) {
                Py_ssize_t next = stop + BLOCK < x1 ? stop + BLOCK : x1;
                if (all_are(wt + stop, next - stop, 0) != none)
                    break;
                stop = next;
            }
            Py_ssize_t run = stop - start;
            if (none) {
                bgra_row(f + 3 * start, a + start, o + 4 * start, run);
            } else {
                grown_span(&layer, &under, start - layer.box[2], stop - layer.box[2], layer_row);
                blend_same_row(layer_row, f + 3 * start, spread_row(wt + start, run, 3, spread), colour, 3 * run);
                bgra_row(colour, a + start, o + 4 * start, run);
            }
            start = stop;
        }
        bgra_row(f + 3 * x1, a + x1, o + 4 * x1, cols - x1);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    free_grown(&layer);
    release(im, got);
    Py_RETURN_NONE;
fail:
    free_grown(&layer);
    release(im, got);
    return NULL;
}


/* convertScaleAbs(mask, alpha=255) for float32, exactly: |m * 255| rounded to nearest even, saturated (NaN,
 * infinities and huge values: 0, as cvRound's INT_MIN saturates) */
static void alpha_row(const float *mask, uint8_t *alpha, Py_ssize_t n)
{
    Py_ssize_t x = 0;
#ifdef __SSE2__
    const __m128 scale = _mm_set1_ps(255.0f), sign = _mm_set1_ps(-0.0f);
    for (; x + 16 <= n; x += 16) {
        __m128i q[4];
        for (int k = 0; k < 4; k++)
            q[k] = _mm_cvtps_epi32(_mm_andnot_ps(sign, _mm_mul_ps(_mm_loadu_ps(mask + x + 4 * k), scale)));
        _mm_storeu_si128((__m128i *)(alpha + x),
                         _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3])));
    }
#endif
    for (; x < n; x++) {
        float v = fabsf(mask[x] * 255.0f);
        alpha[x] = !(v < 2147483648.0f) ? 0 : v >= 255.0f ? 255 : (uint8_t)lrintf(v);
    }
}

PyDoc_STRVAR(alpha_from_mask_doc,
"alpha_from_mask(mask, alpha) -> (box, soft_box)\n\n"
"alpha = the float32 rows x cols mask as uint8 (blend.mask_to_alpha's convertScaleAbs, exactly), and in the\n"
"same pass the boxes (top, bottom, left, right) of its pixels that are not 0 and of those strictly between 0\n"
"and 255 (the soft edge), each None when there are none.");

static PyObject *alpha_from_mask(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *mask_obj, *alpha_obj;
    if (!PyArg_ParseTuple(args, "OO:alpha_from_mask", &mask_obj, &alpha_obj))
        return NULL;
    Image im[2];
    int got = 0;
    if (get_image(mask_obj, "mask", 'f', 0, &im[0]) < 0)
        return NULL;
    got = 1;
    if (get_image(alpha_obj, "alpha", 'B', 1, &im[1]) < 0)
        goto fail;
    got = 2;
    Image *mask = &im[0], *alpha = &im[1];
    if (same_size(mask, "mask", alpha, "alpha", 1) < 0)
        goto fail;
    if (mask->channels != 1) {
        PyErr_Format(PyExc_ValueError, "mask: expected one channel, got %zd", mask->channels);
        goto fail;
    }
    Py_ssize_t rows = mask->rows, cols = mask->cols;
    Py_ssize_t box[4] = {rows, 0, cols, 0}, soft[4] = {rows, 0, cols, 0};
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        uint8_t *a = alpha->data + y * alpha->row_stride;
        alpha_row((const float *)(mask->data + y * mask->row_stride), a, cols);
        Py_ssize_t from = 0, to = cols;
        nonzero_extent(a, &from, &to);
        if (from == to)
            continue;
        if (y < box[0]) box[0] = y;
        box[1] = y + 1;
        if (from < box[2]) box[2] = from;
        if (to > box[3]) box[3] = to;
        /* the soft edge: from each end inwards to its first pixel neither 0 nor 255 */
        Py_ssize_t s0 = from, s1 = to;
        while (s0 < s1 && (a[s0] == 0 || a[s0] == 255))
            s0++;
        while (s1 > s0 && (a[s1 - 1] == 0 || a[s1 - 1] == 255))
            s1--;
        if (s0 == s1)
            continue;
        if (y < soft[0]) soft[0] = y;
        soft[1] = y + 1;
        if (s0 < soft[2]) soft[2] = s0;
        if (s1 > soft[3]) soft[3] = s1;
    }
    Py_END_ALLOW_THREADS
    release(im, 2);
    PyObject *b = box[1] > box[0] ? Py_BuildValue("(nnnn)", box[0], box[1], box[2], box[3]) : Py_NewRef(Py_None);
    PyObject *sb = soft[1] > soft[0] ? Py_BuildValue("(nnnn)", soft[0], soft[1], soft[2], soft[3]) : Py_NewRef(Py_None);
    if (b == NULL || sb == NULL) {
        Py_XDECREF(b);
        Py_XDECREF(sb);
        return NULL;
    }
    return Py_BuildValue("(NN)", b, sb);
fail:
    release(im, got);
    return NULL;
}

PyMethodDef plates_methods[] = {
    {"plates_mix", (PyCFunction)(void (*)(void))plates_mix, METH_VARARGS | METH_KEYWORDS, plates_mix_doc},
    {"grey_scene", grey_scene, METH_VARARGS, grey_scene_doc},
    {"keep_add", keep_add, METH_VARARGS, keep_add_doc},
    {"pop_person", (PyCFunction)(void (*)(void))pop_person, METH_VARARGS | METH_KEYWORDS, pop_person_doc},
    {"bgra", (PyCFunction)(void (*)(void))bgra, METH_VARARGS | METH_KEYWORDS, bgra_doc},
    {"alpha_from_mask", alpha_from_mask, METH_VARARGS, alpha_from_mask_doc},
    {NULL, NULL, 0, NULL},
};
