/* The smooth node's work after the optical flow (nodes/smooth.py) in one pass over the mask's grid: the
 * previous mask and the previous grey warped by the flow, the change test, MediaPipe's uncertainty and the
 * blend, written into the new mask; and the flow warp alone (warp_by_flow: what the tests check the fused
 * warp against cv2.remap through; the node warps a carried frame with cv2.remap, quicker for one image).
 *
 * The warps are cv2.remap's (OpenCV 5.x) INTER_LINEAR with BORDER_REPLICATE to the bit: it takes the float
 * map positions as they are (no 1/32 px table any more: warp_common.scalar.hpp, floor, fraction, then
 * p00 + fx * (p01 - p00) per row and v0 + fy * (v1 - v0) between them, each a fused multiply-add in its
 * vector path; uint8 rounded to nearest, ties to even; OpenCV 4.x's remapBilinear quantised to 1/32 px and
 * gives other pixels). The change test, the polynomial and the blend are
 * numpy's float32 operations in numpy's order (no contraction: -std=c99 keeps a * b + c two roundings), so
 * those are bit for bit too (tests/nodes/test_smooth_pass.py).
 *
 * Not for: the flow itself (cv2.DISOpticalFlow) or the small grey frame (nodes/shared_shrink.py). Every
 * shape and type is checked here and named in the error.
 */
#include "frame_passes.h"

/* Floating-point exceptions are never trapped here, so the compiler may turn the clamps' ternaries into
 * min / max and vectorise the loops (it changes no result) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
/* fmaf must be the processor's instruction: the library's exact fallback costs tens of ns a call (a processor
 * without FMA runs the default clone: the same values through the library, slower) */
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

/* MediaPipe's polynomial of (p - 0.5)^2 (nodes/smooth.py's _C1.._C5, the same float32 values) */
static const float C1 = 5.68842f, C2 = -0.748699f, C3 = -57.8051f, C4 = 291.309f, C5 = -624.717f;

/* A row's taps and what they read, in scratch rows: the positions are placed and the arithmetic done in
 * loops the compiler vectorises; only the reads at the flow's positions (a gather) are a plain loop. */
typedef struct {
    float *fx, *fy;                 /* the fractions */
    int *x0, *x1, *y0, *y1;         /* the taps, clamped (BORDER_REPLICATE) */
    float *a, *b, *c, *d;           /* a float image's four taps: (y0, x0), (y0, x1), (y1, x0), (y1, x1) */
    float *ga, *gb, *gc, *gd;       /* a uint8 image's, as floats */
} Scratch;

static int make_scratch(Scratch *s, Py_ssize_t cols)
{
    float *memory = PyMem_Malloc((size_t)cols * 14 * sizeof(float));
    if (memory == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    float **floats[] = {&s->fx, &s->fy, &s->a, &s->b, &s->c, &s->d, &s->ga, &s->gb, &s->gc, &s->gd};
    for (int k = 0; k < 10; k++)
        *floats[k] = memory + k * cols;
    int *ints = (int *)(memory + 10 * cols);
    s->x0 = ints;
    s->x1 = ints + cols;
    s->y0 = ints + 2 * cols;
    s->y1 = ints + 3 * cols;
    return 0;
}

/* each pixel's position x + flow, y + flow as cv2.remap places it: floor, fraction, the two taps each way.
 * A position more than a pixel off the image reads the edge pixel with both taps whatever its fraction
 * (p + f * (p - p) = p), so it is pulled in first: no float-to-int overflow for a wild flow (a NaN ends
 * at -1). The min, max and floor are written branch-free so the loop vectorises. */
FMA_CLONES
static void place_taps(const float *restrict flow_row, Py_ssize_t y, Py_ssize_t rows, Py_ssize_t cols,
                       float *restrict fx, float *restrict fy, int *restrict x0, int *restrict x1,
                       int *restrict y0, int *restrict y1)
{
    const float yf = (float)y, top_x = (float)cols, top_y = (float)rows;
    const int last_x = (int)cols - 1, last_y = (int)rows - 1, n = (int)cols;
    for (int x = 0; x < n; x++) {           /* an int: its float conversion vectorises, a 64-bit one not */
        float px = (float)x + flow_row[2 * x], py = yf + flow_row[2 * x + 1];
        px = px > -1.0f ? px : -1.0f;
        px = px < top_x ? px : top_x;
        py = py > -1.0f ? py : -1.0f;
        py = py < top_y ? py : top_y;
        int ix = (int)px, iy = (int)py;
        ix -= (float)ix > px;                    /* floor of -0.5 is -1, (int) gave 0 */
        iy -= (float)iy > py;
        fx[x] = px - (float)ix;
        fy[x] = py - (float)iy;
        int jx = ix + 1, jy = iy + 1;          /* ix in -1..cols, jx in 0..cols + 1 */
        ix = ix < 0 ? 0 : ix;
        jx = jx > last_x ? last_x : jx;
        iy = iy < 0 ? 0 : iy;
        jy = jy > last_y ? last_y : jy;
        x0[x] = ix > last_x ? last_x : ix;
        x1[x] = jx;
        y0[x] = iy > last_y ? last_y : iy;
        y1[x] = jy;
    }
}

static IN_ROW void place_row(const float *flow_row, Py_ssize_t y, Py_ssize_t rows, Py_ssize_t cols,
                             const Scratch *s)
{
    place_taps(flow_row, y, rows, cols, s->fx, s->fy, s->x0, s->x1, s->y0, s->y1);
}

static IN_ROW void read_f32(const Image *im, Py_ssize_t cols, const Scratch *s)
{
    for (Py_ssize_t x = 0; x < cols; x++) {
        const float *r0 = (const float *)(im->data + s->y0[x] * im->row_stride);
        const float *r1 = (const float *)(im->data + s->y1[x] * im->row_stride);
        s->a[x] = r0[s->x0[x]];
        s->b[x] = r0[s->x1[x]];
        s->c[x] = r1[s->x0[x]];
        s->d[x] = r1[s->x1[x]];
    }
}

static IN_ROW void read_u8(const Image *im, Py_ssize_t cols, const Scratch *s)
{
    for (Py_ssize_t x = 0; x < cols; x++) {
        const uint8_t *r0 = im->data + s->y0[x] * im->row_stride, *r1 = im->data + s->y1[x] * im->row_stride;
        s->ga[x] = r0[s->x0[x]];
        s->gb[x] = r0[s->x1[x]];
        s->gc[x] = r1[s->x0[x]];
        s->gd[x] = r1[s->x1[x]];
    }
}

/* both images' taps in one loop (the same positions: the offsets are worked out once) */
static IN_ROW void read_both(const Image *im, const Image *grey, Py_ssize_t cols, const Scratch *s)
{
    for (Py_ssize_t x = 0; x < cols; x++) {
        Py_ssize_t y0 = s->y0[x], y1 = s->y1[x], x0 = s->x0[x], x1 = s->x1[x];
        const float *r0 = (const float *)(im->data + y0 * im->row_stride);
        const float *r1 = (const float *)(im->data + y1 * im->row_stride);
        const uint8_t *g0 = grey->data + y0 * grey->row_stride, *g1 = grey->data + y1 * grey->row_stride;
        s->a[x] = r0[x0];
        s->b[x] = r0[x1];
        s->c[x] = r1[x0];
        s->d[x] = r1[x1];
        s->ga[x] = g0[x0];
        s->gb[x] = g0[x1];
        s->gc[x] = g1[x0];
        s->gd[x] = g1[x1];
    }
}

/* cv2.remap's blend of the four taps: along the row, then between the rows, each a fused multiply-add */
static IN_ROW float lerp(float fx, float fy, float a, float b, float c, float d)
{
    float v0 = fmaf(fx, b - a, a);
    float v1 = fmaf(fx, d - c, c);
    return fmaf(fy, v1 - v0, v0);
}

/* to nearest, ties to even, as cvRound: adding 1.5 * 2^23 leaves no fraction bits (|v| < 2^22). No clamp
 * is needed: each fused step lands between its two ends (both floats), so a blend of uint8 is in 0..255. */
static IN_ROW float round_even(float v)
{
    return (v + 12582912.0f) - 12582912.0f;
}

/* the blend of one row from its taps (a loop the compiler vectorises: plain arrays, no aliasing) */
FMA_CLONES
static void blend_row(Py_ssize_t cols, const float *restrict fx, const float *restrict fy,
                      const float *restrict a, const float *restrict b, const float *restrict c,
                      const float *restrict d, const float *restrict ga, const float *restrict gb,
                      const float *restrict gc, const float *restrict gd, const float *restrict m,
                      const uint8_t *restrict g, float ratio, float inverse_threshold, float *restrict o)
{
    for (Py_ssize_t x = 0; x < cols; x++) {
        float warped = lerp(fx[x], fy[x], a[x], b[x], c[x], d[x]);
        float warped_grey = round_even(lerp(fx[x], fy[x], ga[x], gb[x], gc[x], gd[x]));
        float difference = fabsf((float)g[x] - warped_grey);      /* cv2.absdiff, exact in float */
        float keep = 2.0f - difference * inverse_threshold;
        keep = keep > 0.0f ? keep : 0.0f;          /* np.clip(keep, 0, 1): keep is never NaN */
        keep = keep < 1.0f ? keep : 1.0f;
        float p = m[x];
        float t = p - 0.5f;
        float q = t * t;
        float poly = q * (C1 + q * (C2 + q * (C3 + q * (C4 + q * C5))));
        poly = poly > 1.0f ? 1.0f : poly;          /* np.minimum(1, poly): a NaN stays NaN */
        float weight = 1.0f - poly;
        weight *= ratio;
        weight *= keep;
        o[x] = (warped - p) * weight + p;
    }
}

FMA_CLONES
static void smooth_row(const Image *mask, const Image *previous, const Image *previous_grey, const Image *grey,
                       const Image *flow, float ratio, float inverse_threshold, Image *out, Py_ssize_t y,
                       const Scratch *s)
{
    Py_ssize_t cols = mask->cols;
    place_row((const float *)(flow->data + y * flow->row_stride), y, mask->rows, cols, s);
    read_both(previous, previous_grey, cols, s);
    blend_row(cols, s->fx, s->fy, s->a, s->b, s->c, s->d, s->ga, s->gb, s->gc, s->gd,
              (const float *)(mask->data + y * mask->row_stride), grey->data + y * grey->row_stride, ratio,
              inverse_threshold, (float *)(out->data + y * out->row_stride));
}

FMA_CLONES
static void warp_row(const Image *image, const Image *flow, Image *out, Py_ssize_t y, const Scratch *s)
{
    Py_ssize_t cols = image->cols;
    place_row((const float *)(flow->data + y * flow->row_stride), y, image->rows, cols, s);
    const float *restrict fx = s->fx, *restrict fy = s->fy;
    if (image->view.itemsize == 4) {
        read_f32(image, cols, s);
        const float *restrict a = s->a, *restrict b = s->b, *restrict c = s->c, *restrict d = s->d;
        float *restrict o = (float *)(out->data + y * out->row_stride);
        for (Py_ssize_t x = 0; x < cols; x++)
            o[x] = lerp(fx[x], fy[x], a[x], b[x], c[x], d[x]);
    } else {
        read_u8(image, cols, s);
        const float *restrict a = s->ga, *restrict b = s->gb, *restrict c = s->gc, *restrict d = s->gd;
        uint8_t *restrict o = out->data + y * out->row_stride;
        for (Py_ssize_t x = 0; x < cols; x++)
            o[x] = (uint8_t)(int)round_even(lerp(fx[x], fy[x], a[x], b[x], c[x], d[x]));
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
    /* positions in float are exact to 2^24, and the taps are ints */
    if (im->rows > (1 << 24) || im->cols > (1 << 24)) {
        PyErr_Format(PyExc_ValueError, "%s: expected at most 16777216 rows and columns, got %zd x %zd", name,
                     im->rows, im->cols);
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
    Scratch scratch;
    if (make_scratch(&scratch, im[0].cols) < 0)
        goto fail;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < im[0].rows; y++)
        smooth_row(&im[0], &im[1], &im[2], &im[3], &im[4], r, inv, &im[5], y, &scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch.fx);
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
    Scratch scratch;
    if (make_scratch(&scratch, im[0].cols) < 0)
        goto fail;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < im[0].rows; y++)
        warp_row(&im[0], &im[1], &im[2], y, &scratch);
    Py_END_ALLOW_THREADS
    PyMem_Free(scratch.fx);
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
