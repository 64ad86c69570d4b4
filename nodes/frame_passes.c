/* The chain's last full-resolution steps, each fused into one pass over the frame, row by row, with the
 * interpreter's lock released: the alpha blend (two saturating multiplies and an add, OpenCV's rounding
 * to the level) and the mix. The blend's bottom may come as a small grid: it is grown here, row by row, bit
 * for bit as cv2.resize does (frame_passes.h's Grown), so the grown layer never exists at full size. The
 * guided filter's passes (its grey, fit and apply) are nodes/guide_pass.c's, the shared shrink's
 * nodes/shrink_pass.c's, the looks' their own (nodes/looks/NAME_pass.c).
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

static PyMethodDef methods[] = {
    {"blend", blend, METH_VARARGS, blend_doc},
    {"mix", mix, METH_VARARGS, mix_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_frame_passes",
    "The chain's full-resolution passes, compiled (see nodes/frame_passes.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* the looks' own passes (nodes/looks/NAME_pass.c) and the guided filter's (nodes/guide_pass.c), each file's
 * table added to the module: one line each */
extern PyMethodDef exposure_methods[];
extern PyMethodDef stencil_methods[];
extern PyMethodDef plates_methods[];
extern PyMethodDef shrink_methods[];
extern PyMethodDef model_input_methods[];
extern PyMethodDef guide_methods[];
extern PyMethodDef smooth_methods[];
static PyMethodDef *look_methods[] = {exposure_methods, stencil_methods, plates_methods, shrink_methods,
                                      model_input_methods, guide_methods, smooth_methods, NULL};

PyMODINIT_FUNC PyInit__frame_passes(void)
{
    PyObject *m = PyModule_Create(&module);
    for (PyMethodDef **table = look_methods; m != NULL && *table != NULL; table++)
        if (PyModule_AddFunctions(m, *table) < 0)
            Py_CLEAR(m);
    return m;
}
