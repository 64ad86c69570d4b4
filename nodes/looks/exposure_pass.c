/* The double exposure's composite (nodes/looks/double_exposure.py) as one pass over the silhouette's box,
 * row by row, with the interpreter's lock released: the decontaminated edge blended into the portrait's
 * grey, the portrait's tone curve (a lookup), the silhouette's bottom fade, the screen / multiply /
 * lighten blend of the prepared fill and the composite onto the paper ground, all in one, where the
 * OpenCV path makes ~9 calls a 32-row strip (LUT, spreads, four multiplies, an add and a subtract) after
 * writing the edge-blended grey. On one chain frame's own box (852 x 720), caches hot: 0.51 ms against
 * the strips' 1.28; in the running chain the pass waits on memory (ground, fill: 6 bytes a pixel).
 *
 * The arithmetic is the OpenCV path's own, integer for integer: every cv2.multiply(..., scale=1/255) is
 * DIV255 (OpenCV's rounding of x / 255), every add and subtract saturates, so the pixels are the same.
 * Not for: the silhouette itself (grown and feathered at working size by the look) or the fill's weighting
 * over the head (made once per head position by the look).
 */
#include "frame_passes.h"

enum { SCREEN, MULTIPLY, LIGHTEN };

/* the toned portrait's row, one channel (a lookup: no vector form, and one channel only) */
static void tone_row(const uint8_t *grey, const uint8_t *lut, Py_ssize_t n, uint8_t *tone)
{
    for (Py_ssize_t i = 0; i < n; i++)
        tone[i] = lut[grey[i]];
}

/* the portrait's decontaminated edge blended into its grey, as the OpenCV path's blend_in_box(up, grey,
 * weight) makes it: round(up * w / 255) + round(grey * (255 - w) / 255), saturated (into ``edged``) */
VECTOR_CLONES
static void edge_row(const uint8_t *grey, const uint8_t *up, const uint8_t *weight, uint8_t *edged, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t sum = (uint16_t)(DIV255((uint16_t)(up[i] * weight[i]))
                                  + DIV255((uint16_t)(grey[i] * (uint8_t)(255 - weight[i]))));
        edged[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

/* the silhouette's row faded: round(grown * fade / 255), as the OpenCV path's multiply by the fade */
VECTOR_CLONES
static void fade_row(const uint8_t *grown, uint16_t fade, uint8_t *weight, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        weight[i] = (uint8_t)DIV255((uint16_t)(grown[i] * fade));
}

/* screen's portrait share s (255 - t) / 255, multiply's s t / 255 (one channel, into ``tone``) */
VECTOR_CLONES
static void portrait_row(const uint8_t *weight, uint8_t *tone, int invert, Py_ssize_t n)
{
    uint8_t flip = invert ? 255 : 0;
    for (Py_ssize_t i = 0; i < n; i++)
        tone[i] = (uint8_t)DIV255((uint16_t)(weight[i] * (uint8_t)(tone[i] ^ flip)));
}

/* screen: g + s (255 - g) / 255 - m p / 255, each step rounded and saturated as cv2's */
VECTOR_CLONES
static void screen_row(const uint8_t *ground, const uint8_t *fill, const uint8_t *weight3, const uint8_t *portrait3,
                       uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t lit = (uint16_t)(ground[i] + DIV255((uint16_t)((uint8_t)(255 - ground[i]) * weight3[i])));
        lit = lit > 255 ? 255 : lit;
        uint16_t dark = DIV255((uint16_t)(fill[i] * portrait3[i]));
        out[i] = (uint8_t)(lit > dark ? lit - dark : 0);
    }
}

/* multiply: g - g s / 255 + m p / 255 */
VECTOR_CLONES
static void multiply_row(const uint8_t *ground, const uint8_t *fill, const uint8_t *weight3, const uint8_t *portrait3,
                         uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint16_t kept = DIV255((uint16_t)(ground[i] * weight3[i]));
        uint16_t under = (uint16_t)(ground[i] > kept ? ground[i] - kept : 0);
        uint16_t sum = (uint16_t)(under + DIV255((uint16_t)(fill[i] * portrait3[i])));
        out[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

/* lighten: max(t, m) s / 255 + g (255 - s) / 255 (the exposure, then the plain alpha blend) */
VECTOR_CLONES
static void lighten_row(const uint8_t *ground, const uint8_t *fill, const uint8_t *weight3, const uint8_t *tone3,
                        uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t exposed = tone3[i] > fill[i] ? tone3[i] : fill[i];
        uint16_t sum = (uint16_t)(DIV255((uint16_t)(exposed * weight3[i]))
                                  + DIV255((uint16_t)(ground[i] * (uint8_t)(255 - weight3[i]))));
        out[i] = (uint8_t)(sum > 255 ? 255 : sum);
    }
}

PyDoc_STRVAR(exposure_compose_doc,
"exposure_compose(grey, tone_lut, silhouette, fade, ground, fill, out, blend[, edge, edge_weight])\n\n"
"The double exposure inside a box: t = tone_lut[grey], s = round(silhouette * fade / 255), then for blend\n"
"'screen' out = g + s (255 - g) / 255 - m s (255 - t) / 255, 'multiply' g - g s / 255 + m s t / 255,\n"
"'lighten' max(t, m) s / 255 + g (255 - s) / 255, with m the prepared fill and g the ground (uint8 BGR),\n"
"each product rounded as cv2.multiply's scale 1/255 and each sum saturated. grey and silhouette: uint8\n"
"rows x cols; tone_lut: 256 uint8 levels; fade: uint8 rows x 1 (one level a row); out may not be an input.\n"
"With edge and edge_weight (uint8 rows x cols: the decontaminated edge's grey and its share) the grey is\n"
"first round(edge * w / 255) + round(grey * (255 - w) / 255), saturated (the edge blended in).");

static PyObject *exposure_compose(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[9] = {NULL};
    const char *blend_name;
    if (!PyArg_ParseTuple(args, "OOOOOOOs|OO:exposure_compose", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6], &blend_name, &objs[7], &objs[8]))
        return NULL;
    int edged = objs[7] != NULL && objs[7] != Py_None;
    if (edged != (objs[8] != NULL && objs[8] != Py_None)) {
        PyErr_SetString(PyExc_TypeError, "edge, edge_weight: expected both or neither");
        return NULL;
    }
    int blend;
    if (strcmp(blend_name, "screen") == 0)
        blend = SCREEN;
    else if (strcmp(blend_name, "multiply") == 0)
        blend = MULTIPLY;
    else if (strcmp(blend_name, "lighten") == 0)
        blend = LIGHTEN;
    else {
        PyErr_Format(PyExc_ValueError, "blend: expected 'screen', 'multiply' or 'lighten', got '%s'", blend_name);
        return NULL;
    }
    Image im[9];
    const char *names[9] = {"grey", "tone_lut", "silhouette", "fade", "ground", "fill", "out", "edge", "edge_weight"};
    int got = 0, images = edged ? 9 : 7;
    for (; got < images; got++)
        if (get_image(objs[got], names[got], 'B', got == 6, &im[got]) < 0)
            goto fail;
    Image *grey = &im[0], *lut = &im[1], *silhouette = &im[2], *fade = &im[3], *ground = &im[4], *fill = &im[5],
          *out = &im[6];
    if (lut->rows * lut->cols * lut->channels != 256 || lut->rows * lut->row_stride < 256
            || (lut->rows > 1 && lut->row_stride != lut->cols * lut->channels)) {
        PyErr_Format(PyExc_ValueError, "tone_lut: expected 256 contiguous uint8 levels, got %zd x %zd x %zd",
                     lut->rows, lut->cols, lut->channels);
        goto fail;
    }
    if (grey->channels != 1) {
        PyErr_Format(PyExc_ValueError, "grey: expected one channel, got %zd", grey->channels);
        goto fail;
    }
    if (same_size(grey, "grey", silhouette, "silhouette", 1) < 0 || same_size(ground, "ground", fill, "fill", 1) < 0
            || same_size(ground, "ground", out, "out", 1) < 0 || same_size(ground, "ground", grey, "grey", 0) < 0)
        goto fail;
    if (edged && (same_size(grey, "grey", &im[7], "edge", 1) < 0 || same_size(grey, "grey", &im[8], "edge_weight", 1) < 0))
        goto fail;
    if (fade->rows != grey->rows || fade->cols != 1 || fade->channels != 1) {
        PyErr_Format(PyExc_ValueError, "fade: expected %zd x 1 (one level a row), got %zd x %zd x %zd", grey->rows,
                     fade->rows, fade->cols, fade->channels);
        goto fail;
    }
    if (out->data == ground->data || out->data == fill->data) {
        PyErr_SetString(PyExc_ValueError, "out: expected a buffer of its own (not ground or fill)");
        goto fail;
    }
    Py_ssize_t rows = ground->rows, cols = ground->cols, channels = ground->channels;
    uint8_t *buffers = PyMem_Malloc((size_t)cols * (3 + 2 * (size_t)channels));
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *weight = buffers, *tone = buffers + cols, *weight3 = tone + cols, *tone3 = weight3 + cols * channels;
    uint8_t *edged_grey = tone3 + cols * channels;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++) {
        const uint8_t *g = ground->data + y * ground->row_stride;
        uint8_t *o = out->data + y * out->row_stride;
        const uint8_t *s = silhouette->data + y * silhouette->row_stride;
        uint16_t row_fade = fade->data[y * fade->row_stride];
        /* the row's extent where the silhouette is not 0: elsewhere every blend is the ground itself */
        Py_ssize_t left = 0, right = cols;
        if (row_fade == 0)
            left = right;
        while (left < right && s[left] == 0)
            left++;
        while (right > left && s[right - 1] == 0)
            right--;
        memcpy(o, g, (size_t)(left * channels));
        memcpy(o + right * channels, g + right * channels, (size_t)((cols - right) * channels));
        Py_ssize_t span = right - left;
        if (span == 0)
            continue;
        const uint8_t *gl = g + left * channels, *ml = fill->data + y * fill->row_stride + left * channels;
        uint8_t *ol = o + left * channels;
        fade_row(s + left, row_fade, weight, span);
        const uint8_t *grey_row = grey->data + y * grey->row_stride + left;
        if (edged) {
            edge_row(grey_row, im[7].data + y * im[7].row_stride + left, im[8].data + y * im[8].row_stride + left,
                     edged_grey, span);
            grey_row = edged_grey;
        }
        tone_row(grey_row, lut->data, span, tone);
        const uint8_t *w3 = spread_row(weight, span, channels, weight3);
        if (blend == LIGHTEN) {
            lighten_row(gl, ml, w3, spread_row(tone, span, channels, tone3), ol, span * channels);
            continue;
        }
        portrait_row(weight, tone, blend == SCREEN, span);
        const uint8_t *p3 = spread_row(tone, span, channels, tone3);
        if (blend == SCREEN)
            screen_row(gl, ml, w3, p3, ol, span * channels);
        else
            multiply_row(gl, ml, w3, p3, ol, span * channels);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    release(im, images);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

PyMethodDef exposure_methods[] = {
    {"exposure_compose", exposure_compose, METH_VARARGS, exposure_compose_doc},
    {NULL, NULL, 0, NULL},
};
