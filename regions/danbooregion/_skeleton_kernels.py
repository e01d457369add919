"""Numba kernels behind `regions.danbooregion.skeleton`: the fused, temporally blocked Jacobi iteration.

Long because the vector-IR row update, the scalar border path and the group driver share one
padded row layout and one rounding order; split apart they would drift out of step.

The original DanbooRegion loop runs, 512 times over the whole map::

    h = cv2.filter2D(h, cv2.CV_32F, cross / 5)   # reflect-101 border
    h[skeleton] = 255; h[edges] = 0

Each round is a full pass over memory, and the two masked assignments cost more than the
convolution. Here:

* **Fused clamping.** Per block of `LANES` pixels two 16-bit masks (free, skeleton) select
  the new value: the cross average, 255 or 0 (edges win, as in the original's assignment
  order). 2 bits per pixel instead of two full-size masks to stream.
* **Temporal blocking.** One call runs a *group* of rounds as a wavefront over row pairs: at
  step ``s`` round ``k`` computes pair ``s - k + 1`` from round ``k - 1``'s rows around it,
  at most one step old. Only three pairs per round are alive (ring buffers sized to stay in
  L2), so the map is read and written once per group instead of once per round.
* **Explicit vectors.** Rows live in a padded, 64-byte aligned layout (`PAD` spare columns on
  the left, the width rounded up to whole `LANES`-float blocks plus one spare block). The row
  update is LLVM vector IR: aligned loads only, the left/right neighbours made by shuffling
  the centre row's blocks in registers, two output rows per pass (four row loads, not six).
  Letting LLVM vectorise a scalar loop instead gives cache-line-splitting unaligned loads
  (or gathers, through numba's negative-index wraparound) at about half the speed.
* **Row indices, not row views**, cross every call: a numba array view costs reference-count
  traffic comparable to a row of arithmetic.

Arithmetic follows OpenCV's `filter2D` so the result matches the reference bit for bit where
OpenCV runs its 8-lane AVX2 + FMA filter (checked on AMD EPYC with opencv 5.0): columns in the
8-aligned vector part of a row get ``s = t*k; s = fma(l,k,s); ...`` in the order top, left,
centre, right, bottom with k = float32(0.2); the tail columns get the same sum rounded after
every operation. Where OpenCV dispatches differently the two differ by float rounding only,
which the contracting iteration keeps far below one grey level.

Pixels the vector pass gets wrong are redone in scalar code: free pixels in columns 0 and
W-1 (the pass reads the pads there, not reflect-101); with an edge frame there are none.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

FIFTH = np.float32(0.2)
LANES = 16  # floats per vector block: one AVX-512 register, two AVX2 ones
PAD = LANES  # spare columns left of x = 0, so every block's left neighbour exists
_ALIGN = 64  # bytes
# OpenCV's filter2D vector width (AVX2, float32): columns below a multiple of it use FMA.
_OPENCV_LANES = 8


def padded_width(width: int) -> int:
    """Row length of the padded layout: PAD + whole blocks covering `width` + one spare block."""
    return PAD + LANES * (-(-width // LANES)) + LANES


def empty_aligned(shape: tuple[int, ...]) -> np.ndarray:
    """Uninitialised float32 array whose data starts on a 64-byte boundary."""
    count = int(np.prod(shape))
    spare = _ALIGN // 4
    raw = np.empty(count + spare, dtype=np.float32)
    start = (-(raw.ctypes.data % _ALIGN) // 4) % spare
    return raw[start : start + count].reshape(shape)


@intrinsic
def _fma(typingctx, a, b, c):
    """a*b + c rounded once (llvm.fma), as OpenCV's FMA vector path computes it."""
    sig = a(a, b, c)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


def _stencil_codegen(rows: int):
    """LLVM IR for one clamped Jacobi round over `rows` adjacent output rows, block by block.

    Arguments (after the typing context): src, then rows+2 src row indices (the row above the
    first output row, the output rows' own rows, the row below the last), code, `rows` code row
    indices, dst, `rows` dst row indices, nblocks, plain. `src` and `dst` are 2-D padded
    float32 arrays (64-byte aligned rows, length >= PAD + LANES*(nblocks+1)), `code` the
    matching (H, P // LANES, 2) clamp bit masks. Rows are picked by index rather than passed
    as row views: each numba view costs reference-count traffic comparable to a whole row of
    arithmetic. Padded columns >= `plain` get OpenCV's plain (unfused) arithmetic, the rest
    FMA; `plain` must lie in the last block or beyond. Columns 0 and width-1 see the pads, not
    reflect-101: the caller redoes them where free.
    """

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        vec = ir.VectorType(f32, LANES)
        vptr = vec.as_pointer()
        i64 = ir.IntType(64)
        bits_ty = ir.IntType(LANES)
        mask_ty = ir.VectorType(ir.IntType(1), LANES)
        lane_ty = ir.VectorType(ir.IntType(32), LANES)

        def pointer(array_at, row_at, pointer_type=vptr):
            return _row_pointer_at(
                context, builder, signature.args[array_at], args[array_at], args[row_at],
                pointer_type,
            )  # fmt: skip

        at = 0
        p_in = [pointer(at, at + 1 + i) for i in range(rows + 2)]
        at += rows + 3
        p_code = [pointer(at, at + 1 + i, bits_ty.as_pointer()) for i in range(rows)]
        at += rows + 1
        p_out = [pointer(at, at + 1 + i) for i in range(rows)]
        at += rows + 1
        count = builder.sext(args[at], i64)
        plain_from = builder.sext(args[at + 1], i64)
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec, vec, vec]), f"llvm.fma.v{LANES}f32"
        )
        fifth = ir.Constant(vec, [float(FIFTH)] * LANES)
        zero = ir.Constant(vec, [0.0] * LANES)
        top = ir.Constant(vec, [255.0] * LANES)
        left_mask = ir.Constant(lane_ty, [LANES - 1 + i for i in range(LANES)])
        right_mask = ir.Constant(lane_ty, [1 + i for i in range(LANES)])
        one = ir.Constant(i64, 1)
        two = ir.Constant(i64, 2)

        def load(ptr, index):
            return builder.load(builder.gep(ptr, [index]), align=_ALIGN)

        def cross(up, prev, cur, nxt, down, fused):
            left = builder.shuffle_vector(prev, cur, left_mask)
            right = builder.shuffle_vector(cur, nxt, right_mask)
            s = builder.fmul(up, fifth)
            for term in (left, cur, right, down):
                if fused:
                    s = builder.call(fma, [term, fifth, s])
                else:
                    s = builder.fadd(s, builder.fmul(term, fifth))
            return s

        def clamp_and_store(i, here, s):
            # Two bit masks per block: free pixels, then skeleton pixels (edges are neither).
            at = builder.mul(here, two)
            free = builder.bitcast(builder.load(builder.gep(p_code[i], [at]), align=2), mask_ty)
            at = builder.add(at, one)
            skel = builder.bitcast(builder.load(builder.gep(p_code[i], [at]), align=2), mask_ty)
            clamp = builder.select(skel, top, zero)
            builder.store(
                builder.select(free, s, clamp), builder.gep(p_out[i], [here]), align=_ALIGN
            )

        def block_round(here, prevs, curs, nxts, fused):
            # Output row i: centre row i+1 of the inputs, above it input i, below it i+2. The
            # outer input rows are needed at the block only, the centre rows at three blocks.
            outer_up = load(p_in[0], here)
            outer_down = load(p_in[rows + 1], here)
            results = []
            for i in range(rows):
                up = outer_up if i == 0 else curs[i - 1]
                down = outer_down if i == rows - 1 else curs[i + 1]
                results.append(cross(up, prevs[i], curs[i], nxts[i], down, fused))
            return results

        # The centre rows' previous and current blocks ride along in registers (allocas that
        # LLVM promotes), so each block costs one load of each instead of three.
        prev_slots = [cgutils.alloca_once(builder, vec) for _ in range(rows)]
        cur_slots = [cgutils.alloca_once(builder, vec) for _ in range(rows)]
        for i in range(rows):
            builder.store(load(p_in[i + 1], ir.Constant(i64, 0)), prev_slots[i])
            builder.store(load(p_in[i + 1], one), cur_slots[i])
        with cgutils.for_range(builder, count) as loop:
            here = builder.add(loop.index, one)
            prevs = [builder.load(slot) for slot in prev_slots]
            curs = [builder.load(slot) for slot in cur_slots]
            nxts = [load(p_in[i + 1], builder.add(loop.index, two)) for i in range(rows)]
            for i, s in enumerate(block_round(here, prevs, curs, nxts, fused=True)):
                clamp_and_store(i, here, s)
            for i in range(rows):
                builder.store(curs[i], prev_slots[i])
                builder.store(nxts[i], cur_slots[i])

        # OpenCV's scalar tail (< 8 columns) lies in one block: redo it unfused, lane-masked.
        block = builder.udiv(plain_from, ir.Constant(i64, LANES))
        in_range = builder.and_(
            builder.icmp_signed(">=", block, one), builder.icmp_signed("<=", block, count)
        )
        with builder.if_then(in_range):
            prevs = [load(p_in[i + 1], builder.sub(block, one)) for i in range(rows)]
            curs = [load(p_in[i + 1], block) for i in range(rows)]
            nxts = [load(p_in[i + 1], builder.add(block, one)) for i in range(rows)]
            fused = block_round(block, prevs, curs, nxts, fused=True)
            plain = block_round(block, prevs, curs, nxts, fused=False)
            start = builder.sub(plain_from, builder.mul(block, ir.Constant(i64, LANES)))
            start = builder.trunc(start, ir.IntType(32))
            start_vec = builder.insert_element(
                ir.Constant(lane_ty, ir.Undefined), start, ir.Constant(ir.IntType(32), 0)
            )
            start_vec = builder.shuffle_vector(
                start_vec, ir.Constant(lane_ty, ir.Undefined), ir.Constant(lane_ty, [0] * LANES)
            )
            use_plain = builder.icmp_signed(
                ">=", ir.Constant(lane_ty, list(range(LANES))), start_vec
            )
            for i in range(rows):
                clamp_and_store(i, block, builder.select(use_plain, plain[i], fused[i]))
        return context.get_dummy_value()

    return codegen


@intrinsic
def _stencil_row(typingctx, src, up, mid, down, code, code_row, dst, dst_row, nblocks, plain):
    """dst[dst_row] = one clamped round of src rows up/mid/down (see `_stencil_codegen`)."""
    sig = types.void(src, up, mid, down, code, code_row, dst, dst_row, nblocks, plain)
    return sig, _stencil_codegen(1)


@intrinsic
def _stencil_pair(
    typingctx, src, a, b, c, d, code, code_b, code_c, dst, dst_b, dst_c, nblocks, plain
):
    """dst[dst_b], dst[dst_c] = one clamped round of src rows b and c, which have a above and
    d below (see `_stencil_codegen`): four row loads per block for two output rows."""
    sig = types.void(src, a, b, c, d, code, code_b, code_c, dst, dst_b, dst_c, nblocks, plain)
    return sig, _stencil_codegen(2)


def _row_pointer_at(context, builder, array_type, array, row, pointer_type):
    ary = context.make_array(array_type)(context, builder, array)
    stride = cgutils.unpack_tuple(builder, ary.strides)[0]
    base = builder.bitcast(ary.data, ir.IntType(8).as_pointer())
    offset = builder.mul(builder.sext(row, ir.IntType(64)), stride)
    return builder.bitcast(builder.gep(base, [offset]), pointer_type)


@njit(cache=True, nogil=True, inline="always")
def _cross_fused(t, l, c, r, b):  # noqa: E741 - top/left/centre/right/bottom
    return _fma(b, FIFTH, _fma(r, FIFTH, _fma(c, FIFTH, _fma(l, FIFTH, t * FIFTH))))


@njit(cache=True, nogil=True)
def _cross_plain(t, l, c, r, b):  # noqa: E741
    # Every product and sum rounded, as OpenCV's scalar tail loop does.
    s = t * FIFTH
    s = s + l * FIFTH
    s = s + c * FIFTH
    s = s + r * FIFTH
    s = s + b * FIFTH
    return s


@njit(cache=True, nogil=True)
def _reflect101(i, n):
    # OpenCV BORDER_REFLECT_101 for an index at most one step outside [0, n).
    if n == 1:
        return 0
    if i < 0:
        return 1
    if i >= n:
        return n - 2
    return i


@njit(cache=True, nogil=True)
def _update_column(src, up, mid, down, code, code_row, dst, dst_row, x, width):
    # One pixel, with reflect-101 left/right neighbours and OpenCV's split between fused
    # (vector part) and plain (tail) arithmetic.
    xl = _reflect101(x - 1, width) + PAD
    xr = _reflect101(x + 1, width) + PAD
    i = x + PAD
    t = src[up, i]
    l = src[mid, xl]  # noqa: E741
    c = src[mid, i]
    r = src[mid, xr]
    b = src[down, i]
    if x < (width // _OPENCV_LANES) * _OPENCV_LANES:
        s = _cross_fused(t, l, c, r, b)
    else:
        s = _cross_plain(t, l, c, r, b)
    block = i // LANES
    bit = np.uint16(1) << np.uint16(i % LANES)
    if code[code_row, block, 0] & bit:
        dst[dst_row, i] = s
    elif code[code_row, block, 1] & bit:
        dst[dst_row, i] = np.float32(255)
    else:
        dst[dst_row, i] = np.float32(0)


@njit(cache=True, nogil=True, inline="always")
def _is_free(code, row, x):
    i = x + PAD
    return (code[row, i // LANES, 0] >> np.uint16(i % LANES)) & np.uint16(1) != 0


@njit(cache=True, nogil=True)
def _plain_from(width):
    # First padded column of OpenCV's plain-arithmetic tail, or -1 when there is none.
    fused_end = (width // _OPENCV_LANES) * _OPENCV_LANES
    return fused_end + PAD if fused_end < width else -1


@njit(cache=True, nogil=True)
def _fix_borders(src, up, mid, down, code, code_row, dst, dst_row, width):
    # The vector pass read the pads beside columns 0 and width-1, not reflect-101: redo them
    # where free (clamped pixels came out right).
    if _is_free(code, code_row, 0):
        _update_column(src, up, mid, down, code, code_row, dst, dst_row, 0, width)
    if width > 1 and _is_free(code, code_row, width - 1):
        _update_column(src, up, mid, down, code, code_row, dst, dst_row, width - 1, width)


@njit(cache=True, nogil=True)
def jacobi_group(state, code, border_free, width, levels, ring):
    """Advance `state` by `levels` clamped Jacobi rounds, in place, as one wavefront of row pairs.

    state : (H, P) float32 padded rows (see `padded_width`), updated in place
    code  : (H, P // LANES, 2) uint16 clamp bit masks, see `clamp_code`
    border_free : (H,) bool, whether column 0 or width-1 of the row is free (`clamp_code`)
    width : W, the map's width
    levels : rounds in this group, >= 1
    ring  : (6 * levels, P) float32 scratch, 64-byte aligned; round k keeps its last three
            row pairs in ring rows 6(k-1) .. 6(k-1)+5, pair q at 2 * (q % 3)

    At step s round k computes rows 2q, 2q+1 with q = s - k + 1 from round k-1's rows 2q-1 ..
    2q+2, the last two of which round k-1 produced earlier in the same step. Computing two
    rows per pass reads four rows instead of six.
    """
    h = state.shape[0]
    pitch = state.shape[1]
    pairs = (h + 1) // 2
    nblocks = (width + LANES - 1) // LANES
    plain = _plain_from(width)
    for s in range(pairs + levels):
        for k in range(1, levels + 1):
            q = s - k + 1
            if q < 0 or q >= pairs:
                continue
            r0 = 2 * q
            r1 = r0 + 1
            a = _reflect101(r0 - 1, h)
            d = _reflect101(r1 + 1, h)
            slot = q % 3
            out = 6 * (k - 1) + 2 * slot
            if k == 1:
                src = state
                sa, s0, s1, sd = a, r0, r1, d
            else:
                # Round k-1's ring: pair q at `slot`, q-1 and q+1 next to it cyclically.
                src = ring
                base = 6 * (k - 2)
                s0 = base + 2 * slot
                s1 = s0 + 1
                below = base + 2 * (slot + 1 if slot < 2 else 0)
                above = base + 2 * (slot - 1 if slot > 0 else 2) + 1
                # reflect-101 at the top (row -1 is row 1; h == 1: row 0) and at the bottom
                sa = s1 if a == r1 else (s0 if a == r0 else above)
                sd = s0 if d == r0 else below
            if r1 < h:
                _stencil_pair(src, sa, s0, s1, sd, code, r0, r1, ring, out, out + 1, nblocks, plain)
                if border_free[r0]:
                    _fix_borders(src, sa, s0, s1, code, r0, ring, out, width)
                if border_free[r1]:
                    _fix_borders(src, s0, s1, sd, code, r1, ring, out + 1, width)
            else:  # the last row of an odd height: above and below are both row h-2
                _stencil_row(src, sa, s0, sa, code, r0, ring, out, nblocks, plain)
                if border_free[r0]:
                    _fix_borders(src, sa, s0, sa, code, r0, ring, out, width)
        # Round 1 reads rows >= 2s + 1 of `state` from now on, so pair s - levels is free to
        # take the group's result (it is still in the last round's ring).
        q = s - levels
        if 0 <= q < pairs:
            last = 6 * (levels - 1) + 2 * (q % 3)
            for r in range(2 * q, min(2 * q + 2, h)):
                for i in range(pitch):
                    state[r, i] = ring[last + r - 2 * q, i]


@njit(cache=True, nogil=True)
def clamp_code(edges, skeleton, code, border_free):
    """Fill `code` (H, P // LANES, 2) uint16: per block of LANES padded columns, bit i of
    [.., 0] marks a free pixel, of [.., 1] a skeleton pixel (edges win); pads are edge.
    `border_free` (H,) bool: whether the row's first or last pixel is free."""
    h, w = edges.shape
    code[:, :, :] = 0
    for y in range(h):
        for x in range(w):
            i = x + PAD
            bit = np.uint16(1) << np.uint16(i % LANES)
            if edges[y, x] != 0:
                continue
            if skeleton[y, x] != 0:
                code[y, i // LANES, 1] |= bit
            else:
                code[y, i // LANES, 0] |= bit
        border_free[y] = (
            edges[y, 0] == 0
            and skeleton[y, 0] == 0
            or edges[y, w - 1] == 0
            and skeleton[y, w - 1] == 0
        )


@njit(cache=True, nogil=True)
def to_grey(state, width, out):
    """`out` = clip(field, 0, 255) truncated to uint8, as `.clip(0, 255).astype(np.uint8)`."""
    h = out.shape[0]
    for y in range(h):
        for x in range(width):
            v = state[y, x + PAD]
            if v < 0:
                v = 0.0
            elif v > 255:
                v = 255.0
            out[y, x] = np.uint8(v)
