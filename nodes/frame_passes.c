/* The chain's last full-resolution steps, each fused into one pass over the frame, row by row, with the
 * interpreter's lock released: the alpha blend (two saturating multiplies and an add, OpenCV's rounding
 * to the level) and the guided filter's apply (a * grey + b, clipped). The blend's bottom may come as a small
 * grid: it is grown here, row by row, bit for bit as cv2.resize does (frame_passes.h's Grown), so the grown
 * layer never exists at full size. The guided apply's a and b arrive grown only across (cv2.resize to the
 * frame's width, cheap: a few rows); their rows are interpolated here as cv2.resize's bilinear places them.
 *
 * Not for: anything that is not one pass over a frame; the Python side (nodes/frame_passes.py) checks
 * nothing twice, so every shape and type is checked here and named in the error.
 * Built by pip as an optional extension (setup.py): without a C compiler the same steps run as the OpenCV
 * calls they stand for. The loops are written for the compiler's vectoriser (contiguous rows, 16-bit
 * integer arithmetic, no branches in the inner loops) and built for AVX2 and a baseline, picked at load.
 */
#include "frame_passes.h"

VECTOR_CLONES
static void blend_row(const uint8_t *top, const uint8_t *top_w, const uint8_t *bottom, const uint8_t *bottom_a,
                      uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t kept = (uint16_t)(top[i] * top_w[i]);
        uint16_t under = (uint16_t)(bottom[i] * (uint16_t)(255 - bottom_a[i]));
        uint16_t sum = (uint16_t)(DIV255(kept) + DIV255(under));
        out[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

PyDoc_STRVAR(blend_doc,
"blend(top, top_weight, bottom, bottom_alpha, out)\n\n"
"out = round(top * top_weight / 255) + round(bottom * (255 - bottom_alpha) / 255), saturated: uint8 layers\n"
"(rows x cols [x channels]), uint8 rows x cols weights. bottom may be smaller than top (a small grid, or one\n"
"already grown to the frame's width): it is grown to top's size row by row, bit for bit what\n"
"cv2.resize(bottom, (cols, rows), interpolation=INTER_LINEAR) gives. out may be top, or bottom when it is\n"
"top's size.");

static PyObject *blend(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[5];
    if (!PyArg_ParseTuple(args, "OOOOO:blend", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4]))
        return NULL;
    Image im[5];
    const char *names[5] = {"top", "top_weight", "bottom", "bottom_alpha", "out"};
    const char kinds[5] = {'B', 'B', 'B', 'B', 'B'};
    int got = 0;
    for (; got < 5; got++)
        if (get_image(objs[got], names[got], kinds[got], got == 4, &im[got]) < 0)
            goto fail;
    Image *top = &im[0], *top_w = &im[1], *bottom = &im[2], *bottom_a = &im[3], *out = &im[4];
    if (same_size(top, "top", out, "out", 1) < 0 || same_size(top, "top", top_w, "top_weight", 0) < 0
            || same_size(top, "top", bottom_a, "bottom_alpha", 0) < 0)
        goto fail;
    if (top_w->channels != 1 || bottom_a->channels != 1) {
        PyErr_SetString(PyExc_ValueError, "top_weight, bottom_alpha: expected one channel");
        goto fail;
    }
    if (bottom->cols > top->cols || bottom->channels != top->channels || bottom->rows > top->rows) {
        PyErr_Format(PyExc_ValueError, "bottom: expected at most %zd x %zd x %zd (a smaller grid is grown), got "
                     "%zd x %zd x %zd", top->rows, top->cols, top->channels, bottom->rows, bottom->cols,
                     bottom->channels);
        goto fail;
    }
    Py_ssize_t rows = top->rows, cols = top->cols, channels = top->channels, n = cols * channels;
    /* a smaller bottom is grown as cv2.resize does, a row at a time (frame_passes.h's Grown) */
    int grown = bottom->rows != rows || bottom->cols != cols;
    Grown bottom_grown = {0};
    bottom_grown.image = bottom;
    bottom_grown.box[1] = rows;
    bottom_grown.box[3] = cols;
    if (grown && setup_grown(&bottom_grown, "bottom", channels) < 0) {
        free_grown(&bottom_grown);
        goto fail;
    }
    uint8_t *buffers = PyMem_Malloc((size_t)n * (grown ? 3 : 2));
    if (buffers == NULL) {
        free_grown(&bottom_grown);
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *top_weights = buffers, *bottom_alphas = buffers + n, *bottom_row = buffers + 2 * n;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        const uint8_t *b;
        if (grown) {
            Rows under = grown_rows(&bottom_grown, y);
            grown_span(&bottom_grown, &under, 0, cols, bottom_row);
            b = bottom_row;
        } else {
            b = bottom->data + y * bottom->row_stride;
        }
        const uint8_t *w = top_w->data + y * top_w->row_stride, *a = bottom_a->data + y * bottom_a->row_stride;
        const uint8_t *top_spread = spread_row(w, cols, channels, top_weights);
        /* one alpha for both layers (a plain blend): spread once */
        const uint8_t *bottom_spread = a == w ? top_spread : spread_row(a, cols, channels, bottom_alphas);
        blend_row(top->data + y * top->row_stride, top_spread, b, bottom_spread, out->data + y * out->row_stride, n);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    free_grown(&bottom_grown);
    release(im, 5);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

VECTOR_CLONES
static void add_share_row(const uint8_t *layer, const uint8_t *weight, uint16_t *sum, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t share = (uint16_t)(layer[i] * weight[i]);
        sum[i] = (uint16_t)(sum[i] + DIV255(share));
    }
}

VECTOR_CLONES
static void saturate_row(const uint16_t *sum, uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (uint8_t)(sum[i] > 255 ? 255 : sum[i]);
}

#define MAX_LAYERS 8

PyDoc_STRVAR(mix_doc,
"mix(layers, weights, out)\n\n"
"out = sum of round(layer * weight / 255), saturated: up to 8 uint8 layers of out's size, one uint8\n"
"rows x cols weight each. out may be one of the layers.");

static PyObject *mix(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *layers_obj, *weights_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOO:mix", &layers_obj, &weights_obj, &out_obj))
        return NULL;
    PyObject *layers = PySequence_Fast(layers_obj, "layers: expected a sequence of images");
    if (layers == NULL)
        return NULL;
    PyObject *weights = PySequence_Fast(weights_obj, "weights: expected a sequence of images");
    if (weights == NULL) {
        Py_DECREF(layers);
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(layers);
    Image im[2 * MAX_LAYERS + 1];
    int got = 0;
    if (count < 1 || count > MAX_LAYERS || PySequence_Fast_GET_SIZE(weights) != count) {
        PyErr_Format(PyExc_ValueError, "layers, weights: expected 1 to %d of each, as many weights as layers, "
                     "got %zd and %zd", MAX_LAYERS, count, PySequence_Fast_GET_SIZE(weights));
        goto fail;
    }
    if (get_image(out_obj, "out", 'B', 1, &im[0]) < 0)
        goto fail;
    got = 1;
    Image *out = &im[0];
    for (Py_ssize_t i = 0; i < count; i++) {
        char name[32];
        PyOS_snprintf(name, sizeof name, "layers[%zd]", i);
        if (get_image_like(PySequence_Fast_GET_ITEM(layers, i), name, 'B', out, "out", 0, &im[got]) < 0)
            goto fail;
        got++;
        PyOS_snprintf(name, sizeof name, "weights[%zd]", i);
        if (get_image_like(PySequence_Fast_GET_ITEM(weights, i), name, 'B', out, "out", 1, &im[got]) < 0)
            goto fail;
        got++;
    }
    Py_ssize_t rows = out->rows, cols = out->cols, channels = out->channels, n = cols * channels;
    uint8_t *buffers = PyMem_Malloc((size_t)n * 3);
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *spread = buffers;
    uint16_t *sum = (uint16_t *)(buffers + n);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        memset(sum, 0, (size_t)n * sizeof *sum);
        for (Py_ssize_t i = 0; i < count; i++) {
            const Image *layer = &im[1 + 2 * i], *weight = &im[2 + 2 * i];
            const uint8_t *w = spread_row(weight->data + y * weight->row_stride, cols, channels, spread);
            add_share_row(layer->data + y * layer->row_stride, w, sum, n);
        }
        saturate_row(sum, out->data + y * out->row_stride, n);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    release(im, got);
    Py_DECREF(layers);
    Py_DECREF(weights);
    Py_RETURN_NONE;
fail:
    release(im, got);
    Py_DECREF(layers);
    Py_DECREF(weights);
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
"guided_apply(a_rows, b_rows, grey, out, taps=None)\n\n"
"out = clip(a * grey + b, 0, 1): float32 rows x cols out, uint8 rows x cols grey, a and b float32 grids\n"
"already grown to the frame's width (at most as many rows as the frame), their rows interpolated as\n"
"cv2.resize's bilinear would. taps (float32, an odd count up to 63, e.g. cv2.getGaussianKernel): the\n"
"result then blurred by them across and down, ends replicated, as cv2.sepFilter2D would, in the same pass.");

static PyObject *guided_apply(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[4], *taps_obj = Py_None;
    if (!PyArg_ParseTuple(args, "OOOO|O:guided_apply", &objs[0], &objs[1], &objs[2], &objs[3], &taps_obj))
        return NULL;
    Image im[4];
    const char *names[4] = {"a_rows", "b_rows", "grey", "out"};
    const char kinds[4] = {'f', 'f', 'B', 'f'};
    Py_buffer taps_view = {0};
    int got = 0, have_taps = 0;
    for (; got < 4; got++)
        if (get_image(objs[got], names[got], kinds[got], got == 3, &im[got]) < 0)
            goto fail;
    Image *a = &im[0], *b = &im[1], *grey = &im[2], *out = &im[3];
    if (same_size(grey, "grey", out, "out", 1) < 0 || same_size(a, "a_rows", b, "b_rows", 1) < 0)
        goto fail;
    if (grey->channels != 1 || a->channels != 1 || a->cols != grey->cols || a->rows > grey->rows) {
        PyErr_Format(PyExc_ValueError, "a_rows: expected one channel, at most %zd rows of %zd, got %zd x %zd x %zd"
                     " (grey: %zd channels)", grey->rows, grey->cols, a->rows, a->cols, a->channels,
                     grey->channels);
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
    Py_ssize_t rows = grey->rows, cols = grey->cols, radius = count / 2;
    /* with taps: a ring of ``count`` rows already blurred across, and one padded row to blur from */
    float *ring = NULL, *padded = NULL;
    if (count > 1) {
        ring = PyMem_Malloc(sizeof(float) * (size_t)(count * cols + cols + 2 * radius));
        if (ring == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        padded = ring + count * cols;
    }
    const float *taps = have_taps ? (const float *)taps_view.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (ring == NULL) {
        for (Py_ssize_t y = 0; y < rows; y++) {
            Py_ssize_t y0, y1;
            float w;
            bilinear_source(y, rows, a->rows, &y0, &y1, &w);
            float *row = (float *)(out->data + y * out->row_stride);
            guided_row((const float *)(a->data + y0 * a->row_stride), (const float *)(a->data + y1 * a->row_stride),
                       (const float *)(b->data + y0 * b->row_stride), (const float *)(b->data + y1 * b->row_stride),
                       w, grey->data + y * grey->row_stride, row, cols);
            if (count == 1)
                for (Py_ssize_t x = 0; x < cols; x++)
                    row[x] *= taps[0];
        }
    } else {
        Py_ssize_t made = 0;   /* source rows [0, made) have been blurred across into the ring */
        for (Py_ssize_t y = 0; y < rows; y++) {
            Py_ssize_t last = y + radius < rows ? y + radius : rows - 1;
            for (; made <= last; made++) {
                Py_ssize_t y0, y1;
                float w;
                bilinear_source(made, rows, a->rows, &y0, &y1, &w);
                guided_row((const float *)(a->data + y0 * a->row_stride),
                           (const float *)(a->data + y1 * a->row_stride),
                           (const float *)(b->data + y0 * b->row_stride),
                           (const float *)(b->data + y1 * b->row_stride),
                           w, grey->data + made * grey->row_stride, padded + radius, cols);
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
    PyMem_Free(ring);
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

static PyMethodDef methods[] = {
    {"blend", blend, METH_VARARGS, blend_doc},
    {"mix", mix, METH_VARARGS, mix_doc},
    {"guided_apply", guided_apply, METH_VARARGS, guided_apply_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_frame_passes",
    "The chain's full-resolution passes, compiled (see nodes/frame_passes.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* the looks' own passes (nodes/looks/NAME_pass.c), each file's table added to the module: one line each */
extern PyMethodDef exposure_methods[];
extern PyMethodDef stencil_methods[];
extern PyMethodDef plates_methods[];
extern PyMethodDef shrink_methods[];
extern PyMethodDef model_input_methods[];
static PyMethodDef *look_methods[] = {exposure_methods, stencil_methods, plates_methods, shrink_methods,
                                      model_input_methods, NULL};

PyMODINIT_FUNC PyInit__frame_passes(void)
{
    PyObject *m = PyModule_Create(&module);
    for (PyMethodDef **table = look_methods; m != NULL && *table != NULL; table++)
        if (PyModule_AddFunctions(m, *table) < 0)
            Py_CLEAR(m);
    return m;
}
