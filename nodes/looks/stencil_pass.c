/* The stencil's full-resolution steps (nodes/looks/stencil.py) as passes over the figure's box, row by row,
 * with the interpreter's lock released: the wall darkened by the overspray haze (the haze spread to three
 * channels and multiplied in one), and the paint: each pixel's tone from the tone layers' cut (a threshold
 * per layer, counted, then the 3x3 median that takes the re-cut's slivers) and that tone's paint on the
 * wall's relief through the silhouette's cut. The OpenCV path makes ~12 box-size calls for these
 * (thresholds, adds, a median, compares, masked copies of three plates, a spread and a multiply). On one
 * chain frame's own boxes, caches hot: paint 0.29 ms against 0.41, shade 0.13 against 0.32.
 *
 * Integer for integer the OpenCV path's arithmetic: the haze multiply rounds as cv2.multiply's scale 1/255,
 * the threshold is cv2.threshold's (> 127), the median is cv2.medianBlur's 3x3 on the box alone (its border
 * replicated), so the pixels are the same.
 * Not for: the cut and the tone layers themselves, worked out and brought up by the look (cv2.resize).
 */
#include "frame_passes.h"

#define MAX_TONES 3

VECTOR_CLONES
static void shade_row(const uint8_t *wall, const uint8_t *shade3, uint8_t *out, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = (uint8_t)DIV255((uint16_t)(wall[i] * shade3[i]));
}

PyDoc_STRVAR(stencil_shade_doc,
"stencil_shade(wall, shade, out)\n\n"
"out = round(wall * shade / 255): uint8 wall and out (rows x cols x channels), uint8 rows x cols shade spread\n"
"to the channels, as cv2.multiply(wall, cvtColor(shade, GRAY2BGR), scale=1/255). out may be wall.");

static PyObject *stencil_shade(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[3];
    if (!PyArg_ParseTuple(args, "OOO:stencil_shade", &objs[0], &objs[1], &objs[2]))
        return NULL;
    Image im[3];
    const char *names[3] = {"wall", "shade", "out"};
    int got = 0;
    for (; got < 3; got++)
        if (get_image(objs[got], names[got], 'B', got == 2, &im[got]) < 0)
            goto fail;
    Image *wall = &im[0], *shade = &im[1], *out = &im[2];
    if (same_size(wall, "wall", out, "out", 1) < 0 || same_size(wall, "wall", shade, "shade", 0) < 0)
        goto fail;
    if (shade->channels != 1) {
        PyErr_Format(PyExc_ValueError, "shade: expected one channel, got %zd", shade->channels);
        goto fail;
    }
    Py_ssize_t rows = wall->rows, cols = wall->cols, channels = wall->channels, n = cols * channels;
    uint8_t *spread = PyMem_Malloc((size_t)n);
    if (spread == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < rows; y++)
        shade_row(wall->data + y * wall->row_stride,
                  spread_row(shade->data + y * shade->row_stride, cols, channels, spread),
                  out->data + y * out->row_stride, n);
    Py_END_ALLOW_THREADS
    PyMem_Free(spread);
    release(im, 3);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

/* a row's raw tone: how many layers' covers are above 127 (cv2.threshold(cover, 127, 1, THRESH_BINARY)) */
VECTOR_CLONES
static void raw_tone_row(const uint8_t *const *covers, int count, uint8_t *raw, Py_ssize_t n)
{
    memset(raw, 0, (size_t)n);
    for (int l = 0; l < count; l++) {
        const uint8_t *c = covers[l];
        for (Py_ssize_t i = 0; i < n; i++)
            raw[i] = (uint8_t)(raw[i] + (c[i] > 127));
    }
}

/* the 3x3 median of tones 0..count (count <= 2), border replicated: the median of nine is at least k exactly
 * when at least five of the nine are, so per level the three rows' votes are counted, then summed across
 * three columns. All in bytes (v >= 1 is (v + 1) >> 1 and v >= 2 is v >> 1 for v <= 2, sum >= 5 is
 * (sum + 3) >> 3 for sum <= 9), which the vectoriser keeps 32 to a step. */
VECTOR_CLONES
static void votes_row(const uint8_t *above, const uint8_t *here, const uint8_t *below, int level, uint8_t *column,
                      Py_ssize_t n)
{
    if (level == 1)
        for (Py_ssize_t i = 0; i < n; i++)
            column[i + 1] = (uint8_t)(((uint8_t)(above[i] + 1) >> 1) + ((uint8_t)(here[i] + 1) >> 1)
                                      + ((uint8_t)(below[i] + 1) >> 1));
    else
        for (Py_ssize_t i = 0; i < n; i++)
            column[i + 1] = (uint8_t)((above[i] >> 1) + (here[i] >> 1) + (below[i] >> 1));
}

VECTOR_CLONES
static void majority_row(const uint8_t *column, uint8_t *tone, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        tone[i] = (uint8_t)(tone[i] + ((uint8_t)(column[i] + column[i + 1] + column[i + 2] + 3) >> 3));
}

static void median_row(const uint8_t *above, const uint8_t *here, const uint8_t *below, int count, uint8_t *column,
                       uint8_t *tone, Py_ssize_t n)
{
    memset(tone, 0, (size_t)n);
    for (int k = 1; k <= count; k++) {
        votes_row(above, here, below, k, column, n);
        column[0] = column[1];
        column[n + 1] = column[n];
        majority_row(column, tone, n);
    }
}

/* a pixel's paint code: its tone where the cut is open, CLOSED where it is not (one byte to spread, not two) */
#define CLOSED 3
VECTOR_CLONES
static void code_row(const uint8_t *cut, uint8_t *tone, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        tone[i] = cut[i] ? tone[i] : CLOSED;
}

/* out = the tone's paint on the wall's relief, round(colour * relief / 255) (the plate the OpenCV path made
 * once), where the cut is open, else out as it is; the code and the relief spread to the channels, each
 * tone's colour repeated along a row (``colour0..2``): the relief is read once, not three plates */
VECTOR_CLONES
static void paint_row(const uint8_t *code3, const uint8_t *relief3, const uint8_t *colour0, const uint8_t *colour1,
                      const uint8_t *colour2, uint8_t *out, Py_ssize_t n)
{
    /* masks, not branches: the vectoriser makes each a compare and the selects ands and ors */
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t first = (uint8_t)-(code3[i] == 0), second = (uint8_t)-(code3[i] == 1);
        uint8_t closed = (uint8_t)-(code3[i] == CLOSED);
        uint8_t colour = (uint8_t)((colour0[i] & first) | (colour1[i] & second)
                                   | (colour2[i] & (uint8_t)~(first | second)));
        uint8_t paint = (uint8_t)DIV255((uint16_t)(colour * relief3[i]));
        out[i] = (uint8_t)((paint & (uint8_t)~closed) | (out[i] & closed));
    }
}

PyDoc_STRVAR(stencil_paint_doc,
"stencil_paint(covers, cut, colours, relief, out)\n\n"
"The stencil's paint inside a box: each pixel's tone is the 3x3 median (cv2.medianBlur on the box, its border\n"
"replicated) of how many of ``covers`` (0 to 2 uint8 rows x cols layers) are above 127; where ``cut`` (uint8\n"
"rows x cols, 0 or 255) is not 0, out takes that tone's colour on the wall's relief, round(colour * relief\n"
"/ 255) (``colours``: uint8 tones x channels, one tone more than covers; ``relief``: uint8 rows x cols),\n"
"elsewhere out is left as it is.");

static PyObject *stencil_paint(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *covers_obj, *cut_obj, *colours_obj, *relief_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOOOO:stencil_paint", &covers_obj, &cut_obj, &colours_obj, &relief_obj, &out_obj))
        return NULL;
    PyObject *covers = PySequence_Fast(covers_obj, "covers: expected a sequence of images");
    if (covers == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(covers);
    Image im[4 + MAX_TONES];
    int got = 0;
    uint8_t *buffers = NULL;
    if (count > MAX_TONES - 1) {
        PyErr_Format(PyExc_ValueError, "covers: expected 0 to %d covers, got %zd", MAX_TONES - 1, count);
        goto fail;
    }
    const char *names[4] = {"out", "cut", "relief", "colours"};
    PyObject *objs[4] = {out_obj, cut_obj, relief_obj, colours_obj};
    for (; got < 4; got++)
        if (get_image(objs[got], names[got], 'B', got == 0, &im[got]) < 0)
            goto fail;
    Image *out = &im[0], *cut = &im[1], *relief = &im[2], *colours = &im[3];
    if (same_size(out, "out", cut, "cut", 0) < 0 || same_size(out, "out", relief, "relief", 0) < 0)
        goto fail;
    if (cut->channels != 1 || relief->channels != 1) {
        PyErr_Format(PyExc_ValueError, "%s: expected one channel, got %zd", cut->channels != 1 ? "cut" : "relief",
                     cut->channels != 1 ? cut->channels : relief->channels);
        goto fail;
    }
    if (colours->rows != count + 1 || colours->cols != out->channels || colours->channels != 1) {
        PyErr_Format(PyExc_ValueError, "colours: expected %zd tones x %zd channels (one tone more than covers), "
                     "got %zd x %zd x %zd", count + 1, out->channels, colours->rows, colours->cols, colours->channels);
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        char name[32];
        PyOS_snprintf(name, sizeof name, "covers[%zd]", i);
        if (get_image_like(PySequence_Fast_GET_ITEM(covers, i), name, 'B', out, "out", 1, &im[got]) < 0)
            goto fail;
        got++;
    }
    Image *cover_images = &im[4];
    Py_ssize_t rows = out->rows, cols = out->cols, channels = out->channels, n = cols * channels;
    /* three raw tone rows (a ring), the median's column counts, the tone; the spreads of the tone, the cut
     * and the relief; each tone's colour along a row */
    buffers = PyMem_Malloc((size_t)cols * 6 + 2 + (size_t)n * (3 + MAX_TONES));
    if (buffers == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    uint8_t *ring[3] = {buffers, buffers + cols, buffers + 2 * cols};
    uint8_t *column = buffers + 3 * cols, *tone = column + cols + 2, *tone3 = tone + cols, *cut3 = tone3 + n;
    uint8_t *relief3 = cut3 + n, *colour_rows = relief3 + n;
    for (Py_ssize_t t = 0; t < MAX_TONES; t++) {
        const uint8_t *colour = colours->data + (t <= count ? t : count) * colours->row_stride;
        for (Py_ssize_t i = 0; i < n; i++)
            colour_rows[t * n + i] = colour[i % channels];
    }
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *cover_rows[MAX_TONES];
    /* raw row r lives in ring[r % 3]; rows -1 and ``rows`` are the border rows replicated */
#define RAW_ROW(r) do { \
        for (Py_ssize_t l = 0; l < count; l++) \
            cover_rows[l] = cover_images[l].data + (r) * cover_images[l].row_stride; \
        raw_tone_row(cover_rows, (int)count, ring[(r) % 3], cols); \
    } while (0)
    RAW_ROW(0);
    if (rows > 1)
        RAW_ROW(1);
    for (Py_ssize_t y = 0; y < rows; y++) {
        if (y + 1 < rows && y >= 1)
            RAW_ROW(y + 1);
        const uint8_t *here = ring[y % 3];
        const uint8_t *above = y > 0 ? ring[(y - 1) % 3] : here;
        const uint8_t *below = y + 1 < rows ? ring[(y + 1) % 3] : here;
        const uint8_t *c = cut->data + y * cut->row_stride;
        /* the row's extent where the cut is open: elsewhere nothing is painted */
        Py_ssize_t left = 0, right = cols;
        while (left < right && c[left] == 0)
            left++;
        while (right > left && c[right - 1] == 0)
            right--;
        if (right == left)
            continue;
        Py_ssize_t span = right - left;
        if (count > 0)
            median_row(above + left, here + left, below + left, (int)count, column, tone, span);
        else
            memset(tone, 0, (size_t)span);
        /* the median's border is the box's, not the span's: the columns beside the span count too */
        if (count > 0 && (left > 0 || right < cols)) {
            Py_ssize_t edges[2] = {left, right - 1};
            for (int e = 0; e < 2; e++) {
                Py_ssize_t x = edges[e];
                uint8_t value = 0;
                for (int k = 1; k <= count; k++) {
                    int votes = 0;
                    for (Py_ssize_t dx = -1; dx <= 1; dx++) {
                        Py_ssize_t xx = x + dx < 0 ? 0 : x + dx >= cols ? cols - 1 : x + dx;
                        votes += (above[xx] >= k) + (here[xx] >= k) + (below[xx] >= k);
                    }
                    value = (uint8_t)(value + (votes >= 5));
                }
                tone[x - left] = value;
            }
        }
        Py_ssize_t offset = left * channels;
        code_row(c + left, tone, span);
        paint_row(spread_row(tone, span, channels, tone3),
                  spread_row(relief->data + y * relief->row_stride + left, span, channels, relief3),
                  colour_rows + offset, colour_rows + n + offset, colour_rows + 2 * n + offset,
                  out->data + y * out->row_stride + offset, span * channels);
    }
#undef RAW_ROW
    Py_END_ALLOW_THREADS
    PyMem_Free(buffers);
    release(im, got);
    Py_DECREF(covers);
    Py_RETURN_NONE;
fail:
    release(im, got);
    Py_DECREF(covers);
    return NULL;
}

PyMethodDef stencil_methods[] = {
    {"stencil_shade", stencil_shade, METH_VARARGS, stencil_shade_doc},
    {"stencil_paint", stencil_paint, METH_VARARGS, stencil_paint_doc},
    {NULL, NULL, 0, NULL},
};
