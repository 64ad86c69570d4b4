/* The smooth node's work after the optical flow (nodes/smooth.py) in one pass over the mask's grid: the
 * previous mask and the previous grey warped by the flow, the change test, MediaPipe's uncertainty and the
 * blend, written into the new mask; and the flow warp alone (the carried frame's step).
 *
 * The warps are cv2.remap's (OpenCV 5.x) INTER_LINEAR with BORDER_REPLICATE to the bit: it takes the float
 * map positions as they are (no 1/32 px table any more: warp_common.scalar.hpp, floor, fraction, then
 * p00 + fx * (p01 - p00) per row and v0 + fy * (v1 - v0) between them, each a fused multiply-add in its
 * vector path; uint8 rounded to nearest, ties to even). The change test, the polynomial and the blend are
 * numpy's float32 operations in numpy's order (no contraction: -std=c99 keeps a * b + c two roundings), so
 * those are bit for bit too (tests/nodes/test_smooth_pass.py).
 *
 * Not for: the flow itself (cv2.DISOpticalFlow) or the small grey frame (nodes/shared_shrink.py). Every
 * shape and type is checked here and named in the error.
 */
#include "frame_passes.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
/* fmaf must be the processor's instruction: the library's exact fallback costs tens of ns a call */
#define FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define FMA_CLONES
#endif
#if defined(__GNUC__)
/* the helpers below take the target of the row they are in (a called helper would be the default
 * target's, its fmaf the library's) */
#define IN_ROW __attribute__((always_inline)) inline
#else
#define IN_ROW inline
#endif

/* min(v, top) as the ternary (v > top ? top : v; a NaN v stays NaN, as np.minimum), without a branch */
static IN_ROW float at_most(float v, float top)
{
#if defined(__SSE2__)
    return _mm_cvtss_f32(_mm_min_ss(_mm_set_ss(top), _mm_set_ss(v)));
#else
    return v > top ? top : v;
#endif
}

/* MediaPipe's polynomial of (p - 0.5)^2 (nodes/smooth.py's _C1.._C5, the same float32 values) */
static const float C1 = 5.68842f, C2 = -0.748699f, C3 = -57.8051f, C4 = 291.309f, C5 = -624.717f;

/* one map position as cv2.remap places it: the two source taps (clamped: BORDER_REPLICATE) and the
 * fraction. A position more than a pixel off the image reads the edge pixel with both taps, whatever its
 * fraction (p + f * (p - p) = p), so it is pulled in first: no float-to-int overflow for wild flow. */
static IN_ROW void place(float position, int size, int *i0, int *i1, float *fraction)
{
    /* min and max written so the compiler makes them minss / maxss, not branches (a NaN ends at -1) */
    position = position > -1.0f ? position : -1.0f;
    float top = (float)size;
    position = position < top ? position : top;
    int i = (int)position;
    i -= (float)i > position;                 /* floor, without the library's floorf */
    *fraction = position - (float)i;
    int last = size - 1;
    int j = i + 1;
    i = i < 0 ? 0 : i;
    i = i > last ? last : i;
    j = j < 0 ? 0 : j;
    j = j > last ? last : j;
    *i0 = i;
    *i1 = j;
}

typedef struct {
    int x0, x1, y0, y1;
    float fx, fy;
} Tap;

static IN_ROW Tap tap_at(const float *flow_row, Py_ssize_t x, Py_ssize_t y, Py_ssize_t rows, Py_ssize_t cols)
{
    Tap t;
    place((float)x + flow_row[2 * x], (int)cols, &t.x0, &t.x1, &t.fx);
    place((float)y + flow_row[2 * x + 1], (int)rows, &t.y0, &t.y1, &t.fy);
    return t;
}

static IN_ROW float lerp_f32(const Image *im, const Tap *t)
{
    const float *r0 = (const float *)(im->data + t->y0 * im->row_stride);
    const float *r1 = (const float *)(im->data + t->y1 * im->row_stride);
    float v0 = fmaf(t->fx, r0[t->x1] - r0[t->x0], r0[t->x0]);
    float v1 = fmaf(t->fx, r1[t->x1] - r1[t->x0], r1[t->x0]);
    return fmaf(t->fy, v1 - v0, v0);
}

static IN_ROW int lerp_u8(const Image *im, const Tap *t)
{
    const uint8_t *r0 = im->data + t->y0 * im->row_stride, *r1 = im->data + t->y1 * im->row_stride;
    float a = r0[t->x0], b = r0[t->x1], c = r1[t->x0], d = r1[t->x1];
    float v0 = fmaf(t->fx, b - a, a);
    float v1 = fmaf(t->fx, d - c, c);
    /* to nearest, ties to even, as cvRound: adding 1.5 * 2^23 leaves no fraction bits (|v| < 2^22) */
    /* no clamp needed: each fused step lands between its two ends (both floats), so v is within 0..255 */
    float v = fmaf(t->fy, v1 - v0, v0);
    return (int)((v + 12582912.0f) - 12582912.0f);
}

FMA_CLONES
static void smooth_row(const Image *mask, const Image *previous, const Image *previous_grey, const Image *grey,
                       const Image *flow, float ratio, const float keep_of[256], Image *out, Py_ssize_t y)
{
    const float *m = (const float *)(mask->data + y * mask->row_stride);
    const uint8_t *g = grey->data + y * grey->row_stride;
    const float *f = (const float *)(flow->data + y * flow->row_stride);
    float *o = (float *)(out->data + y * out->row_stride);
    for (Py_ssize_t x = 0; x < mask->cols; x++) {
        Tap t = tap_at(f, x, y, mask->rows, mask->cols);
        float warped = lerp_f32(previous, &t);
        int difference = g[x] - lerp_u8(previous_grey, &t);
        float keep = keep_of[difference < 0 ? -difference : difference];
        float p = m[x];
        float d = p - 0.5f;
        float s = d * d;
        float poly = s * (C1 + s * (C2 + s * (C3 + s * (C4 + s * C5))));
        float weight = 1.0f - at_most(poly, 1.0f);
        weight *= ratio;
        weight *= keep;
        o[x] = (warped - p) * weight + p;
    }
}

FMA_CLONES
static void warp_row(const Image *image, const Image *flow, Image *out, Py_ssize_t y)
{
    const float *f = (const float *)(flow->data + y * flow->row_stride);
    if (image->view.itemsize == 4) {
        float *o = (float *)(out->data + y * out->row_stride);
        for (Py_ssize_t x = 0; x < image->cols; x++) {
            Tap t = tap_at(f, x, y, image->rows, image->cols);
            o[x] = lerp_f32(image, &t);
        }
    } else {
        uint8_t *o = out->data + y * out->row_stride;
        for (Py_ssize_t x = 0; x < image->cols; x++) {
            Tap t = tap_at(f, x, y, image->rows, image->cols);
            o[x] = (uint8_t)lerp_u8(image, &t);
        }
    }
}

/* ``flow`` as rows x cols x 2 float32 of ``like``'s size */
static int get_flow(PyObject *obj, const Image *like, const char *like_name, Image *flow)
{
    if (get_image(obj, "flow", 'f', 0, flow) < 0)
        return -1;
    if (flow->channels != 2 || flow->view.ndim != 3 || flow->rows != like->rows || flow->cols != like->cols) {
        PyErr_Format(PyExc_ValueError, "flow: expected %zd x %zd x 2 (the size of %s), got %zd x %zd x %zd",
                     like->rows, like->cols, like_name, flow->rows, flow->cols, flow->channels);
        PyBuffer_Release(&flow->view);
        return -1;
    }
    return 0;
}

static int one_channel(const Image *im, const char *name)
{
    if (im->channels != 1 || im->view.ndim != 2) {
        PyErr_Format(PyExc_ValueError, "%s: expected a rows x cols array, got %d dimensions of %zd channels",
                     name, im->view.ndim, im->channels);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(smooth_step_doc,
"smooth_step(mask, previous, previous_grey, grey, flow, ratio, inverse_threshold, out)\n\n"
"out = nodes/smooth.py's numpy path after the flow, bit for bit: previous (float32) and previous_grey\n"
"(uint8) warped by cv2.remap(INTER_LINEAR, BORDER_REPLICATE) to x + flow[..., 0], y + flow[..., 1];\n"
"keep = clip(2 - |grey - warped grey| * inverse_threshold, 0, 1); out = mask + (warped - mask) *\n"
"uncertainty(mask) * ratio * keep. mask, previous, out float32 HxW; grey, previous_grey uint8 HxW;\n"
"flow float32 HxWx2; ratio and inverse_threshold taken as float32.");

static PyObject *smooth_step(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[6];
    double ratio, inverse_threshold;
    if (!PyArg_ParseTuple(args, "OOOOOddO:smooth_step", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &ratio, &inverse_threshold, &objs[5]))
        return NULL;
    Image im[6];
    int got = 0;
    if (get_image(objs[0], "mask", 'f', 0, &im[0]) < 0)
        return NULL;
    got = 1;
    if (one_channel(&im[0], "mask") < 0)
        goto fail;
    if (get_image_like(objs[1], "previous", 'f', &im[0], "mask", 1, &im[1]) < 0)
        goto fail;
    got = 2;
    if (get_image_like(objs[2], "previous_grey", 'B', &im[0], "mask", 1, &im[2]) < 0)
        goto fail;
    got = 3;
    if (get_image_like(objs[3], "grey", 'B', &im[0], "mask", 1, &im[3]) < 0)
        goto fail;
    got = 4;
    if (get_flow(objs[4], &im[0], "mask", &im[4]) < 0)
        goto fail;
    got = 5;
    if (get_image(objs[5], "out", 'f', 1, &im[5]) < 0)
        goto fail;
    got = 6;
    if (same_size(&im[0], "mask", &im[5], "out", 1) < 0)
        goto fail;
    float r = (float)ratio, inv = (float)inverse_threshold;
    /* the past kept for each grey difference: np.clip(2 - d * inv, 0, 1), the same float ops, once */
    float keep_of[256];
    for (int d = 0; d < 256; d++) {
        float keep = 2.0f - (float)d * inv;
        keep_of[d] = keep < 0.0f ? 0.0f : (keep > 1.0f ? 1.0f : keep);
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < im[0].rows; y++)
        smooth_row(&im[0], &im[1], &im[2], &im[3], &im[4], r, keep_of, &im[5], y);
    Py_END_ALLOW_THREADS
    release(im, got);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

PyDoc_STRVAR(warp_by_flow_doc,
"warp_by_flow(image, flow, out)\n\n"
"out = cv2.remap(image, x + flow[..., 0], y + flow[..., 1], INTER_LINEAR, borderMode=BORDER_REPLICATE),\n"
"bit for bit: image and out HxW, both float32 or both uint8; flow float32 HxWx2.");

static PyObject *warp_by_flow(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *image_obj, *flow_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOO:warp_by_flow", &image_obj, &flow_obj, &out_obj))
        return NULL;
    Image im[3];
    int got = 0;
    if (get_image(image_obj, "image", 'f', 0, &im[0]) < 0) {
        PyObject *type, *value, *trace;
        PyErr_Fetch(&type, &value, &trace);
        if (get_image(image_obj, "image", 'B', 0, &im[0]) < 0) {
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(trace);
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "image: expected a float32 or uint8 numpy array, got %s",
                         Py_TYPE(image_obj)->tp_name);
            return NULL;
        }
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(trace);
    }
    got = 1;
    if (one_channel(&im[0], "image") < 0)
        goto fail;
    if (get_flow(flow_obj, &im[0], "image", &im[1]) < 0)
        goto fail;
    got = 2;
    if (get_image(out_obj, "out", im[0].view.itemsize == 4 ? 'f' : 'B', 1, &im[2]) < 0) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "out: expected a writable %s array like image",
                         im[0].view.itemsize == 4 ? "float32" : "uint8");
        }
        goto fail;
    }
    got = 3;
    if (same_size(&im[0], "image", &im[2], "out", 1) < 0)
        goto fail;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < im[0].rows; y++)
        warp_row(&im[0], &im[1], &im[2], y);
    Py_END_ALLOW_THREADS
    release(im, got);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

PyMethodDef smooth_methods[] = {
    {"smooth_step", smooth_step, METH_VARARGS, smooth_step_doc},
    {"warp_by_flow", warp_by_flow, METH_VARARGS, warp_by_flow_doc},
    {NULL, NULL, 0, NULL},
};
