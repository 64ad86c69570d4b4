/* The frame's small copy (nodes/shared_shrink.py) in one pass over the frame, row by row, with the
 * interpreter's lock released: cv2.resize's bilinear to twice the size, then the exact 2x INTER_AREA average,
 * fused (each output row is the average of two bilinear rows made for it; the twice-size image never exists),
 * bit for bit what the two cv2.resize calls give (the bilinear's fixed point is frame_passes.h's, the one the
 * grown layers use; tests/nodes/test_shrink_pass.py).
 *
 * Not for: any other resize (a grow is frame_passes.h's Grown), nor a frame at most twice the size either
 * way (the caller keeps cv2.resize there). Every shape and type is checked here and named in the error.
 */
#include "frame_passes.h"

/* cv2.resize(INTER_AREA) of two rows to half their width, uint8: (a + b + c + d + 2) >> 2 (OpenCV's fast area
 * average for an exact 2x), the two rows added first, contiguous, so the compiler vectorises it */
VECTOR_CLONES
static void area_row(const uint8_t *l0, const uint8_t *l1, uint16_t *pairs, uint8_t *out, Py_ssize_t cols,
                     Py_ssize_t channels)
{
    Py_ssize_t n = 2 * cols * channels;
    for (Py_ssize_t i = 0; i < n; i++)
        pairs[i] = (uint16_t)(l0[i] + l1[i]);
    if (channels == 3) {
        for (Py_ssize_t x = 0; x < cols; x++)
            for (Py_ssize_t c = 0; c < 3; c++)
                out[3 * x + c] = (uint8_t)((pairs[6 * x + c] + pairs[6 * x + 3 + c] + 2) >> 2);
    } else {
        for (Py_ssize_t x = 0; x < cols; x++)
            for (Py_ssize_t c = 0; c < 4; c++)
                out[4 * x + c] = (uint8_t)((pairs[8 * x + c] + pairs[8 * x + 4 + c] + 2) >> 2);
    }
}

/* the slot of ``sums`` holding source row ``sy`` resized across, made if need be in the slot not ``keep`` */
static int across_slot(const Image *frame, const Across *across, int16_t *sums[2], Py_ssize_t cached[2],
                       Py_ssize_t sy, int keep)
{
    for (int slot = 0; slot < 2; slot++)
        if (cached[slot] == sy)
            return slot;
    int slot = keep == 0 ? 1 : 0;
    cached[slot] = sy;
    resize_across_u8(across, frame->data + sy * frame->row_stride, 0, across->size, sums[slot]);
    return slot;
}

PyDoc_STRVAR(shrink_twice_then_area_doc,
"shrink_twice_then_area(frame, out)\n\n"
"out (rows x cols x C) = cv2.resize(cv2.resize(frame, (2 cols, 2 rows), INTER_LINEAR), (cols, rows),\n"
"INTER_AREA), bit for bit, in one pass: uint8 frame and out of 3 or 4 channels, the frame more than twice\n"
"out's size both ways.");

static PyObject *shrink_twice_then_area(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *frame_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO:shrink_twice_then_area", &frame_obj, &out_obj))
        return NULL;
    Image im[2];
    int got = 0;
    if (get_image(frame_obj, "frame", 'B', 0, &im[0]) < 0)
        return NULL;
    got = 1;
    if (get_image(out_obj, "out", 'B', 1, &im[1]) < 0)
        goto fail;
    got = 2;
    Image *frame = &im[0], *out = &im[1];
    Py_ssize_t channels = frame->channels;
    if ((channels != 3 && channels != 4) || out->channels != channels) {
        PyErr_Format(PyExc_ValueError, "frame, out: expected 3 or 4 channels, the same in both, got %zd and %zd",
                     channels, out->channels);
        goto fail;
    }
    if (frame->rows <= 2 * out->rows || frame->cols <= 2 * out->cols) {
        PyErr_Format(PyExc_ValueError, "frame: expected more than twice out's %zd x %zd both ways, got %zd x %zd",
                     out->rows, out->cols, frame->rows, frame->cols);
        goto fail;
    }
    Py_ssize_t rows = 2 * out->rows, cols = 2 * out->cols, n = cols * channels;
    /* two source rows resized across; their two rows' sums; two bilinear rows */
    Across across = {0};
    char *memory = PyMem_Malloc((size_t)n * (2 * sizeof(int16_t) + sizeof(uint16_t) + 2));
    if (memory == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    if (setup_across(&across, cols, frame->cols, channels) < 0) {
        PyMem_Free(memory);
        goto fail;
    }
    int16_t *sums[2] = {(int16_t *)memory, (int16_t *)memory + n};
    uint16_t *pairs = (uint16_t *)(sums[1] + n);
    uint8_t *lines = (uint8_t *)(pairs + n);
    Py_ssize_t cached[2] = {-1, -1};
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < out->rows; y++) {
        for (int k = 0; k < 2; k++) {
            Py_ssize_t sy0, sy1;
            int16_t b0, b1;
            resize_row_u8(2 * y + k, rows, frame->rows, &sy0, &sy1, &b0, &b1);
            int s0 = across_slot(frame, &across, sums, cached, sy0, -1);
            int s1 = across_slot(frame, &across, sums, cached, sy1, s0);
            resize_down_row(sums[s0], sums[s1], b0, b1, lines + k * n, n);
        }
        area_row(lines, lines + n, pairs, out->data + y * out->row_stride, out->cols, channels);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(memory);
    free_across(&across);
    release(im, 2);
    Py_RETURN_NONE;
fail:
    release(im, got);
    return NULL;
}

PyMethodDef shrink_methods[] = {
    {"shrink_twice_then_area", shrink_twice_then_area, METH_VARARGS, shrink_twice_then_area_doc},
    {NULL, NULL, 0, NULL},
};
