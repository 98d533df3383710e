//! Distance kernels for Chroma's three spaces over `f32` vectors.
//!
//! Semantics follow Chroma (hnswlib):
//! * `l2`     — squared euclidean distance `Σ (a_i − b_i)²`, no square root;
//! * `ip`     — `1 − Σ a_i b_i` (negative when the inner product exceeds 1);
//! * `cosine` — `1 − Σ a_i b_i` on vectors the caller has already L2-normalised with [`normalize`].
//!
//! The SIMD kernel set is chosen once, at run time, from what the CPU offers, so a prebuilt generic
//! x86-64 binary still uses AVX-512F or AVX2+FMA where present:
//! x86_64 → `avx512f`, else `avx2+fma`, else `scalar`; aarch64 → `neon`; anything else → `scalar`.
//! The choice is cached in a [`OnceLock`]; afterwards each call costs one indirect call.
//!
//! `CHROMALITE_KERNEL=scalar|avx2|avx512|neon` forces a kernel set (for tests and benchmarks); a forced
//! set the CPU does not support, or an unknown value, falls back to `scalar`. Unset, empty or `auto`
//! means detection. The variable is read once, at the first distance call.
//!
//! Callers pass slices of equal length (checked with `debug_assert!`). In release builds every kernel
//! works on the shorter of the two lengths, so no input can make it read out of bounds.
//!
//! `unsafe` here is confined to the SIMD loads and prefetches (each within a slice of checked length),
//! to the calls through the kernel table, whose entries only exist for target features detected on the
//! running CPU, to one memory hint to the kernel (`madvise`, [`collapse_into_huge_pages`]) within a
//! borrowed slice, and to one allocator setting (`mallopt`, [`return_large_blocks_to_the_system`]).
//! Every block carries a `SAFETY:` comment.
//!
//! The SIMD kernels peel a masked head so that loads from the second operand (`b`, the stored row)
//! are aligned; [`distances_to_rows`] also gives the query the rows' alignment for long scans.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::sync::OnceLock;

/// Chroma's three spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    L2,
    Cosine,
    Ip,
}

impl Space {
    /// Parses Chroma's names, `"l2"`, `"cosine"` and `"ip"` (exactly, lower case).
    pub fn parse(s: &str) -> Option<Space> {
        match s {
            "l2" => Some(Space::L2),
            "cosine" => Some(Space::Cosine),
            "ip" => Some(Space::Ip),
            _ => None,
        }
    }

    /// The Chroma name of the space; [`Space::parse`] reads it back.
    pub fn as_str(self) -> &'static str {
        match self {
            Space::L2 => "l2",
            Space::Cosine => "cosine",
            Space::Ip => "ip",
        }
    }
}

/// `Σ (a_i − b_i)²` (squared euclidean, no sqrt — Chroma's `l2`).
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "l2_squared: vectors of different lengths");
    let k = kernels();
    // SAFETY: `k` was built by `Kernels::select`, which only returns kernel sets whose target features
    // were detected on this CPU. The kernel reads `min(a.len(), b.len())` elements of each slice.
    unsafe { (k.l2)(a, b) }
}

/// `Σ a_i b_i`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "dot: vectors of different lengths");
    let k = kernels();
    // SAFETY: as in `l2_squared`: the set's target features were detected on this CPU, and the kernel
    // stays within the shorter slice.
    unsafe { (k.dot)(a, b) }
}

/// Squared L2 from a query to an 8-bit code vector, both in code units: `Σ w_i (q_i − c_i)²` over the
/// shortest length. With `q_i = (x_i − lo_i) / step_i` and `w_i = step_i²` this is the squared L2 from
/// `x` to the decoded vector `lo + step ⊙ c` (see `crate::codes`).
#[inline]
pub fn code_l2(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
    debug_assert!(q.len() == w.len() && q.len() == codes.len(), "code_l2: lengths differ");
    let k = kernels();
    // SAFETY: as in `l2_squared`: the set's target features were detected on this CPU, and the kernel
    // stays within the shortest slice.
    unsafe { (k.code_l2)(q, w, codes) }
}

/// Dot product of a query with an 8-bit code vector, `Σ q_i c_i` over the shorter length.
#[inline]
pub fn code_dot(q: &[f32], codes: &[u8]) -> f32 {
    debug_assert_eq!(q.len(), codes.len(), "code_dot: lengths differ");
    let k = kernels();
    // SAFETY: as in `l2_squared`.
    unsafe { (k.code_dot)(q, &[], codes) }
}

/// Bytes of a 4-bit code vector of `dimension` values: blocks of 32 values in 16 bytes, byte `k` of a
/// block holding value `k` of the block in its low nibble and value `16 + k` in its high nibble (zero
/// past the last value). The layout lets a SIMD kernel widen 16 consecutive values from one mask.
pub const fn nibble_code_len(dimension: usize) -> usize {
    dimension.div_ceil(32) * 16
}

/// Value `j` of a 4-bit code vector (layout: [`nibble_code_len`]).
#[inline]
pub fn nibble(codes: &[u8], j: usize) -> u8 {
    let byte = codes[j / 32 * 16 + j % 16];
    if j % 32 < 16 {
        byte & 0x0F
    } else {
        byte >> 4
    }
}

/// Stores `value` (< 16) as value `j` of a 4-bit code vector whose nibble for `j` is still zero.
#[inline]
pub fn set_nibble(codes: &mut [u8], j: usize, value: u8) {
    debug_assert!(value < 16, "a nibble holds 0..16");
    codes[j / 32 * 16 + j % 16] |= if j % 32 < 16 { value } else { value << 4 };
}

/// [`code_l2`] for a 4-bit code vector (layout: [`nibble_code_len`]): `Σ w_i (q_i − c_i)²` over the
/// values that `q`, `w` and the codes' whole blocks all hold.
#[inline]
pub fn nibble_code_l2(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
    debug_assert!(q.len() == w.len() && codes.len() == nibble_code_len(q.len()), "nibble_code_l2: lengths differ");
    let k = kernels();
    // SAFETY: as in `l2_squared`.
    unsafe { (k.nibble_l2)(q, w, codes) }
}

/// [`code_dot`] for a 4-bit code vector: `Σ q_i c_i`.
#[inline]
pub fn nibble_code_dot(q: &[f32], codes: &[u8]) -> f32 {
    debug_assert_eq!(codes.len(), nibble_code_len(q.len()), "nibble_code_dot: lengths differ");
    let k = kernels();
    // SAFETY: as in `l2_squared`.
    unsafe { (k.nibble_dot)(q, &[], codes) }
}

/// Chroma's distance for a space: `l2` → [`l2_squared`]; `ip` → `1 − dot`; `cosine` → `1 − dot`, where
/// BOTH inputs are already L2-normalised by the caller (see [`normalize`]).
#[inline]
pub fn distance(space: Space, a: &[f32], b: &[f32]) -> f32 {
    match space {
        Space::L2 => l2_squared(a, b),
        Space::Cosine | Space::Ip => 1.0 - dot(a, b),
    }
}

/// Normalises `v` in place to unit L2 norm and returns its original norm. A zero (or empty) vector is
/// left as it is and `0.0` is returned — no NaN. Vectors whose squared norm under- or overflows `f32`
/// (elements below ~1e-19 or above ~1e19) are handled with an `f64` norm, so they are normalised too.
/// Non-finite elements give non-finite results.
pub fn normalize(v: &mut [f32]) -> f32 {
    // Below this the f32 sum may have lost terms to underflow; the f64 path is exact enough anywhere.
    const MIN_FAST_SQUARED_NORM: f32 = 1e-30;
    let squared = dot(v, v);
    if squared.is_finite() && squared >= MIN_FAST_SQUARED_NORM {
        let norm = squared.sqrt();
        let inv = 1.0 / norm;
        for x in v.iter_mut() {
            *x *= inv;
        }
        return norm;
    }
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm == 0.0 {
        return 0.0;
    }
    let inv = 1.0 / norm;
    for x in v.iter_mut() {
        *x = (f64::from(*x) * inv) as f32;
    }
    norm as f32
}

/// Distances from `query` to every row of `rows` (row-major, `rows.len() / query.len()` rows) into
/// `out`, which is cleared first and ends with one distance per row. A trailing partial row is
/// ignored (and trips a `debug_assert!`); an empty `query` gives no distances.
///
/// This is the brute-force search loop: one pass over `rows` with the kernel inlined per row, so for
/// row sets larger than the caches it runs at memory bandwidth.
pub fn distances_to_rows(space: Space, query: &[f32], rows: &[f32], out: &mut Vec<f32>) {
    out.clear();
    let dim = query.len();
    if dim == 0 {
        return;
    }
    debug_assert_eq!(rows.len() % dim, 0, "distances_to_rows: rows.len() is not a multiple of the dimension");
    let n = rows.len() / dim;
    out.resize(n, 0.0);
    let rows = &rows[..n * dim];
    // The SIMD kernels peel a head so that loads from the row start on a 64-byte boundary. Give the
    // query the same phase, so that its loads are aligned too (for every row when `dim % 16 == 0`).
    let phase = |p: *const f32| (p as usize % 64) / 4;
    let shifted: Vec<f32>;
    // Only worth the copy when the scan is long (≥ 64 KiB of rows).
    let query = if rows.len() >= 16 * 1024 && phase(query.as_ptr()) != phase(rows.as_ptr()) {
        let mut buf = Vec::with_capacity(dim + 15);
        let start = (phase(rows.as_ptr()) + 16 - phase(buf.as_ptr())) % 16;
        buf.resize(start, 0.0);
        buf.extend_from_slice(query);
        shifted = buf;
        &shifted[start..]
    } else {
        query
    };
    let k = kernels();
    let rows_fn = match space {
        Space::L2 => k.l2_rows,
        Space::Cosine | Space::Ip => k.ip_rows,
    };
    // SAFETY: the set's target features were detected on this CPU (`Kernels::select`); the rows kernel
    // only visits whole rows of `rows` and entries of `out` (zipped, so the shorter one bounds it).
    unsafe { rows_fn(query, rows, out) }
}

/// Hints the CPU to start loading the first cache lines of `data` (a vector about to be compared, or a
/// node's link block about to be read). A hint only: no effect on results, a no-op where unsupported.
#[inline]
pub fn prefetch<T>(data: &[T]) {
    // The first three cache lines (192 bytes): a 128-byte vector prefix or a whole link block of M = 16;
    // longer vectors stream in behind the kernel's loads.
    let prefix = (192 / std::mem::size_of::<T>().max(1)).max(1);
    prefetch_all(&data[..data.len().min(prefix)]);
}

/// Hints the CPU to start loading all of `data`, one request per 64-byte line (for a few vectors that
/// are all about to be compared, e.g. a re-rank). A hint only, like [`prefetch`].
#[inline]
pub fn prefetch_all<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for offset in (0..std::mem::size_of_val(data)).step_by(64) {
            // SAFETY: `offset < size_of_val(data)`, so the pointer is inside the slice; a prefetch never
            // faults and reads nothing observable. SSE is part of the x86_64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().cast::<i8>().add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Asks the kernel to back `data` with 2 MiB pages now (`MADV_COLLAPSE`, Linux 6.1+, whatever the system's
/// transparent-huge-page mode), unless `CHROMALITE_HUGE_PAGES=0` (read once). For the large arrays a search
/// reads at random (vectors, codes, links): on 4 KiB pages most such reads also miss the TLB. A hint only:
/// the contents stay as they are, and failure (an older kernel, no free huge pages) is ignored.
pub fn collapse_into_huge_pages<T>(data: &[T]) {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    if !*ENABLED.get_or_init(|| std::env::var("CHROMALITE_HUGE_PAGES").map_or(true, |v| v.trim() != "0")) {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Some((first, end)) = huge_page_span(data.as_ptr() as usize, std::mem::size_of_val(data)) {
        const MADV_COLLAPSE: libc::c_int = 25;
        // SAFETY: `[first, end)` lies inside the memory `data` borrows (`huge_page_span`); `MADV_COLLAPSE`
        // only changes which physical pages back it (their contents are copied as they are) and touches no
        // other memory. The result is ignored: the advice may fail and nothing depends on it.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, MADV_COLLAPSE) };
    }
}

/// Blocks of `LARGE_BLOCK` bytes and more get pages of their own from the kernel and give them back when
/// freed (glibc only; once per process). glibc's default moves that threshold up to the size of the
/// largest block freed so far, after which blocks of up to that size come from its heap and, once freed,
/// mostly stay resident: a batch's transient copies (15.7 MB for 5,000 × 784 floats, two per batch) then
/// add 0–800 B per stored vector after a bulk load, varying with when V8 frees its copy. A fixed threshold
/// keeps them out of the heap; the cost is mapping pages anew for each such block, microseconds against
/// the milliseconds of work that fills one. A threshold the user set (`GLIBC_TUNABLES=...mmap_threshold`)
/// is left alone.
pub fn return_large_blocks_to_the_system() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if !std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("mmap_threshold")) {
            const LARGE_BLOCK: libc::c_int = 1 << 20;
            // SAFETY: `mallopt` only sets an allocator parameter (glibc takes its own lock); it reads and
            // writes no memory of ours. A failure (it returns 0) leaves glibc's default in place.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK) };
        }
    });
}

/// The whole 2 MiB pages inside `bytes` bytes from address `start`, as `[first, end)`; none for spans
/// under 4 MiB (too few pages to matter) or with no whole huge page.
fn huge_page_span(start: usize, bytes: usize) -> Option<(usize, usize)> {
    const HUGE: usize = 2 << 20;
    let first = start.checked_next_multiple_of(HUGE)?;
    let end = start.checked_add(bytes)? & !(HUGE - 1);
    (bytes >= 2 * HUGE && end > first).then_some((first, end))
}

/// Which kernel set was selected at run time: `"avx512f"`, `"avx2+fma"`, `"neon"` or `"scalar"`.
pub fn active_kernel() -> &'static str {
    kernels().name
}

// ---------------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------------

type PairFn = unsafe fn(&[f32], &[f32]) -> f32;
type RowsFn = unsafe fn(&[f32], &[f32], &mut [f32]);
/// `(q, w, codes)`: `code_l2` reads `min(q, w, codes)` elements; `code_dot` ignores `w`. The nibble
/// kernels read as many values as `q`, `w` (for l2) and the whole 16-byte blocks of `codes` all hold.
type CodeFn = unsafe fn(&[f32], &[f32], &[u8]) -> f32;

/// One kernel set.
///
/// Invariant: a `Kernels` value exists only for target features that the running CPU supports — the
/// SIMD sets are built solely by the constructors below, after run-time detection. Calling its function
/// pointers is therefore sound; they are `unsafe fn` only because `#[target_feature]` functions cannot
/// become safe function pointers. Pair kernels read `min(a.len(), b.len())` elements; rows kernels
/// write `min(rows.len() / query.len(), out.len())` distances (`l2` or `1 − dot`).
#[derive(Clone, Copy)]
struct Kernels {
    name: &'static str,
    l2: PairFn,
    dot: PairFn,
    l2_rows: RowsFn,
    ip_rows: RowsFn,
    code_l2: CodeFn,
    code_dot: CodeFn,
    nibble_l2: CodeFn,
    nibble_dot: CodeFn,
}

impl Kernels {
    const SCALAR: Kernels = Kernels {
        name: "scalar",
        l2: scalar::l2_squared,
        dot: scalar::dot,
        l2_rows: scalar::rows::<true>,
        ip_rows: scalar::rows::<false>,
        code_l2: scalar::code::<true>,
        code_dot: scalar::code::<false>,
        nibble_l2: scalar::nibble_code::<true>,
        nibble_dot: scalar::nibble_code::<false>,
    };

    #[cfg(target_arch = "x86_64")]
    fn avx512() -> Option<Kernels> {
        if !is_x86_feature_detected!("avx512f") {
            return None;
        }
        Some(Kernels {
            name: "avx512f",
            l2: x86::pair_avx512::<true>,
            dot: x86::pair_avx512::<false>,
            l2_rows: x86::rows_avx512::<true>,
            ip_rows: x86::rows_avx512::<false>,
            code_l2: x86::code_avx512::<true>,
            code_dot: x86::code_avx512::<false>,
            nibble_l2: x86::nibble_code_avx512::<true>,
            nibble_dot: x86::nibble_code_avx512::<false>,
        })
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn avx512() -> Option<Kernels> {
        None
    }

    #[cfg(target_arch = "x86_64")]
    fn avx2() -> Option<Kernels> {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return None;
        }
        Some(Kernels {
            name: "avx2+fma",
            l2: x86::pair_avx2::<true>,
            dot: x86::pair_avx2::<false>,
            l2_rows: x86::rows_avx2::<true>,
            ip_rows: x86::rows_avx2::<false>,
            code_l2: x86::code_avx2::<true>,
            code_dot: x86::code_avx2::<false>,
            nibble_l2: x86::nibble_code_avx2::<true>,
            nibble_dot: x86::nibble_code_avx2::<false>,
        })
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn avx2() -> Option<Kernels> {
        None
    }

    #[cfg(target_arch = "aarch64")]
    fn neon() -> Option<Kernels> {
        if !std::arch::is_aarch64_feature_detected!("neon") {
            return None;
        }
        Some(Kernels {
            name: "neon",
            l2: arm::pair_neon::<true>,
            dot: arm::pair_neon::<false>,
            l2_rows: arm::rows_neon::<true>,
            ip_rows: arm::rows_neon::<false>,
            // Baseline NEON: the scalar code loop is vectorised by the compiler on aarch64.
            code_l2: scalar::code::<true>,
            code_dot: scalar::code::<false>,
            nibble_l2: scalar::nibble_code::<true>,
            nibble_dot: scalar::nibble_code::<false>,
        })
    }

    #[cfg(not(target_arch = "aarch64"))]
    fn neon() -> Option<Kernels> {
        None
    }

    /// The best set this CPU supports.
    fn detect() -> Kernels {
        Self::avx512().or_else(Self::avx2).or_else(Self::neon).unwrap_or(Self::SCALAR)
    }

    /// Applies a `CHROMALITE_KERNEL` value: `None`, empty or `auto` detects; a known name forces that
    /// set if supported, else scalar; anything else is scalar.
    fn select_from(choice: Option<&str>) -> Kernels {
        let choice = choice.map(|c| c.trim().to_ascii_lowercase());
        match choice.as_deref() {
            None | Some("") | Some("auto") => Self::detect(),
            Some("avx512") | Some("avx512f") => Self::avx512().unwrap_or(Self::SCALAR),
            Some("avx2") | Some("avx2+fma") => Self::avx2().unwrap_or(Self::SCALAR),
            Some("neon") => Self::neon().unwrap_or(Self::SCALAR),
            Some(_) => Self::SCALAR,
        }
    }

    fn select() -> Kernels {
        Self::select_from(std::env::var("CHROMALITE_KERNEL").ok().as_deref())
    }

    /// Every set this CPU supports, scalar first (for tests).
    #[cfg(test)]
    fn available() -> Vec<Kernels> {
        let mut all = vec![Self::SCALAR];
        all.extend(Self::avx2());
        all.extend(Self::avx512());
        all.extend(Self::neon());
        all
    }
}

static KERNELS: OnceLock<Kernels> = OnceLock::new();

#[inline]
fn kernels() -> &'static Kernels {
    KERNELS.get_or_init(Kernels::select)
}

// ---------------------------------------------------------------------------------------------------
// Scalar
// ---------------------------------------------------------------------------------------------------

/// The scalar reference kernels: always compiled, the fallback on CPUs without a SIMD set, and the
/// reference the SIMD kernels are tested against. Eight independent accumulators keep the rounding
/// error low and let the compiler use the baseline SIMD of the target.
pub mod scalar {
    const LANES: usize = 8;

    /// `Σ (a_i − b_i)²` over the shorter length.
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        pair::<true>(a, b)
    }

    /// `Σ a_i b_i` over the shorter length.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        pair::<false>(a, b)
    }

    #[inline]
    fn pair<const L2: bool>(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        let mut acc = [0.0f32; LANES];
        for (x, y) in ca.zip(cb) {
            for i in 0..LANES {
                acc[i] += term::<L2>(x[i], y[i]);
            }
        }
        for (i, (&x, &y)) in ta.iter().zip(tb).enumerate() {
            acc[i] += term::<L2>(x, y);
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }

    #[inline(always)]
    fn term<const L2: bool>(x: f32, y: f32) -> f32 {
        if L2 {
            let d = x - y;
            d * d
        } else {
            x * y
        }
    }

    /// Code kernel: `Σ w_i (q_i − c_i)²` (`L2 = true`, over the shortest of the three) or `Σ q_i c_i`
    /// (over the shorter of `q` and `codes`; `w` unused).
    pub fn code<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
        let n = if L2 { q.len().min(w.len()).min(codes.len()) } else { q.len().min(codes.len()) };
        let mut acc = [0.0f32; LANES];
        for (i, (&x, &c)) in q[..n].iter().zip(&codes[..n]).enumerate() {
            let c = f32::from(c);
            acc[i % LANES] += if L2 {
                let d = x - c;
                w[i] * d * d
            } else {
                x * c
            };
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }

    /// How many values a nibble kernel reads: those that `q`, `w` (for l2) and the whole 16-byte blocks
    /// of `codes` all hold.
    #[inline]
    pub(super) fn nibble_len<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> usize {
        let coded = codes.len() / 16 * 32;
        if L2 {
            q.len().min(w.len()).min(coded)
        } else {
            q.len().min(coded)
        }
    }

    /// Nibble code kernel: [`code`] over 4-bit codes (layout: [`super::nibble_code_len`]).
    pub fn nibble_code<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
        nibble_code_from::<L2>(q, w, codes, 0, nibble_len::<L2>(q, w, codes))
    }

    /// [`nibble_code`] over values `from..n` (`n` at most [`nibble_len`]).
    pub(super) fn nibble_code_from<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8], from: usize, n: usize) -> f32 {
        let mut acc = [0.0f32; LANES];
        for j in from..n {
            let (x, c) = (q[j], f32::from(super::nibble(codes, j)));
            acc[j % LANES] += if L2 {
                let d = x - c;
                w[j] * d * d
            } else {
                x * c
            };
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }

    /// Rows kernel: `l2` (`L2 = true`) or `1 − dot` per whole row.
    pub(super) fn rows<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        if dim == 0 {
            out.fill(if L2 { 0.0 } else { 1.0 });
            return;
        }
        for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
            let s = pair::<L2>(query, row);
            *o = if L2 { s } else { 1.0 - s };
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// x86_64: AVX-512F and AVX2+FMA
// ---------------------------------------------------------------------------------------------------

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    // The kernels are safe `#[target_feature]` functions: calling them from code without those features
    // needs `unsafe`, which only the dispatch table does, after detection. Inside, the only unsafe
    // operations are the loads from slices of checked length, and prefetches within a slice.

    /// Row sets at least this large (bytes) are software-prefetched: they are unlikely to be in the
    /// private caches, and the hardware prefetcher alone stops at 4 KiB page boundaries. Smaller sets
    /// skip it, as the extra instructions cost ~10–20% when the rows are already cached.
    const PREFETCH_MIN_BYTES: usize = 2 << 20;
    /// How far ahead of the row being read to prefetch, in f32 (4 KiB; measured best of 1–16 KiB).
    const PREFETCH_AHEAD: usize = 4096 / 4;

    /// Sequential software prefetch over a row set, one request per 64-byte line.
    struct Prefetcher<'a> {
        data: &'a [f32],
        /// Next f32 index to prefetch; `usize::MAX` when the set is too small to bother.
        next: usize,
    }

    impl<'a> Prefetcher<'a> {
        #[inline]
        fn new(data: &'a [f32]) -> Prefetcher<'a> {
            let next = if std::mem::size_of_val(data) >= PREFETCH_MIN_BYTES { PREFETCH_AHEAD } else { usize::MAX };
            Prefetcher { data, next }
        }

        /// Prefetches `data[..until]` (clamped to the slice) from where the last call stopped.
        #[inline]
        fn up_to(&mut self, until: usize) {
            let until = until.min(self.data.len());
            while self.next < until {
                // SAFETY: `self.next < self.data.len()`, so the pointer is inside the slice (a prefetch
                // is only a hint and never faults, but we stay in bounds regardless). SSE, which
                // `_mm_prefetch` needs, is part of the x86_64 baseline.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(self.data.as_ptr().add(self.next).cast::<i8>()) };
                self.next += 16;
            }
        }
    }

    /// AVX-512F pair kernel (`L2`: squared euclidean, else dot), 4 × 16 lanes per step, masked head
    /// (aligning `b`) and masked tail.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn pair_avx512<const L2: bool>(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [_mm512_setzero_ps(); 4];
        // Peel so that the loads from `b` start on a 64-byte boundary (no cache-line splits).
        let head = ((64 - (b.as_ptr() as usize) % 64) % 64 / 4).min(n);
        if head > 0 {
            let mask: __mmask16 = ((1u32 << head) - 1) as __mmask16;
            // SAFETY: `a` and `b` hold at least `head` < 16 f32; only those lanes are enabled, and a masked
            // load neither reads nor faults on disabled lanes (which are zero and add nothing).
            let (vx, vy) =
                unsafe { (_mm512_maskz_loadu_ps(mask, a.as_ptr()), _mm512_maskz_loadu_ps(mask, b.as_ptr())) };
            acc[2] = step512::<L2>(acc[2], vx, vy);
        }
        let (a, b) = (&a[head..], &b[head..]);
        let (ca, cb) = (a.chunks_exact(64), b.chunks_exact(64));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `x` and `y` hold 64 f32, so lanes 16k..16k+16 (k < 4) are in bounds; `loadu`
                // has no alignment requirement.
                let (vx, vy) =
                    unsafe { (_mm512_loadu_ps(x.as_ptr().add(16 * k)), _mm512_loadu_ps(y.as_ptr().add(16 * k))) };
                *acc = step512::<L2>(*acc, vx, vy);
            }
        }
        let (ca, cb) = (ra.chunks_exact(16), rb.chunks_exact(16));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        // At most 3 whole 16-lane chunks remain: one per accumulator (constant indices keep `acc` in
        // registers).
        let mut rest = ca.zip(cb);
        for k in [0, 1, 2] {
            let Some((x, y)) = rest.next() else { break };
            // SAFETY: `x` and `y` hold 16 f32.
            let (vx, vy) = unsafe { (_mm512_loadu_ps(x.as_ptr()), _mm512_loadu_ps(y.as_ptr())) };
            acc[k] = step512::<L2>(acc[k], vx, vy);
        }
        if !ta.is_empty() {
            let mask: __mmask16 = ((1u32 << ta.len()) - 1) as __mmask16;
            // SAFETY: `ta` and `tb` hold `ta.len()` < 16 f32; the mask enables exactly those lanes, and a
            // masked load neither reads nor faults on disabled lanes. Disabled lanes are zero, which
            // adds nothing to either sum.
            let (vx, vy) =
                unsafe { (_mm512_maskz_loadu_ps(mask, ta.as_ptr()), _mm512_maskz_loadu_ps(mask, tb.as_ptr())) };
            acc[3] = step512::<L2>(acc[3], vx, vy);
        }
        let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(sum)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn step512<const L2: bool>(acc: __m512, x: __m512, y: __m512) -> __m512 {
        if L2 {
            let d = _mm512_sub_ps(x, y);
            _mm512_fmadd_ps(d, d, acc)
        } else {
            _mm512_fmadd_ps(x, y, acc)
        }
    }

    /// AVX-512F rows kernel: `l2` or `1 − dot` for each whole row.
    #[target_feature(enable = "avx512f")]
    pub(super) fn rows_avx512<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        if dim == 0 {
            out.fill(if L2 { 0.0 } else { 1.0 });
            return;
        }
        let mut prefetch = Prefetcher::new(rows);
        for (i, (row, o)) in rows.chunks_exact(dim).zip(out.iter_mut()).enumerate() {
            prefetch.up_to((i + 1) * dim + PREFETCH_AHEAD);
            let s = pair_avx512::<L2>(query, row);
            *o = if L2 { s } else { 1.0 - s };
        }
    }

    /// AVX-512F code kernel (see `scalar::code`): 16 codes widened to f32 per step, two accumulators,
    /// scalar tail.
    #[target_feature(enable = "avx512f")]
    pub(super) fn code_avx512<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
        let n = if L2 { q.len().min(w.len()).min(codes.len()) } else { q.len().min(codes.len()) };
        let whole = n - n % 16;
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn step<const L2: bool>(acc: __m512, q: &[f32], w: &[f32], codes: &[u8], i: usize) -> __m512 {
            let codes = &codes[i..i + 16];
            // SAFETY: `codes` holds 16 bytes (checked by the slicing above).
            let vc = unsafe { _mm_loadu_si128(codes.as_ptr().cast()) };
            lanes16::<L2>(acc, q, w, vc, i)
        }
        let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        while i + 32 <= whole {
            acc0 = step::<L2>(acc0, q, w, codes, i);
            acc1 = step::<L2>(acc1, q, w, codes, i + 16);
            i += 32;
        }
        if i < whole {
            acc0 = step::<L2>(acc0, q, w, codes, i);
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + code_tail::<L2>(q, w, codes, whole, n)
    }

    /// AVX2+FMA code kernel (see `scalar::code`): 8 codes widened to f32 per step, two accumulators,
    /// scalar tail.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn code_avx2<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
        let n = if L2 { q.len().min(w.len()).min(codes.len()) } else { q.len().min(codes.len()) };
        let whole = n - n % 8;
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn step<const L2: bool>(acc: __m256, q: &[f32], w: &[f32], codes: &[u8], i: usize) -> __m256 {
            let codes = &codes[i..i + 8];
            // SAFETY: `codes` holds 8 bytes (checked by the slicing above); `_mm_loadl_epi64` reads
            // exactly 8 bytes, unaligned.
            let vc = unsafe { _mm_loadl_epi64(codes.as_ptr().cast()) };
            lanes8::<L2>(acc, q, w, vc, i)
        }
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= whole {
            acc0 = step::<L2>(acc0, q, w, codes, i);
            acc1 = step::<L2>(acc1, q, w, codes, i + 8);
            i += 16;
        }
        if i < whole {
            acc0 = step::<L2>(acc0, q, w, codes, i);
        }
        hsum256(_mm256_add_ps(acc0, acc1)) + code_tail::<L2>(q, w, codes, whole, n)
    }

    /// One AVX-512 step of a code kernel: the 16 codes in `codes` against values `i..i + 16` of `q`
    /// (and `w` for l2), added to `acc`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn lanes16<const L2: bool>(acc: __m512, q: &[f32], w: &[f32], codes: __m128i, i: usize) -> __m512 {
        let q = &q[i..i + 16];
        // SAFETY: `q` holds 16 f32 (checked by the slicing above).
        let vq = unsafe { _mm512_loadu_ps(q.as_ptr()) };
        let vc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes));
        if L2 {
            let w = &w[i..i + 16];
            let d = _mm512_sub_ps(vq, vc);
            // SAFETY: `w` holds 16 f32 (checked by the slicing above).
            let vw = unsafe { _mm512_loadu_ps(w.as_ptr()) };
            _mm512_fmadd_ps(_mm512_mul_ps(d, d), vw, acc)
        } else {
            _mm512_fmadd_ps(vq, vc, acc)
        }
    }

    /// One AVX2 step of a code kernel: the 8 codes in the low half of `codes` against values `i..i + 8`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn lanes8<const L2: bool>(acc: __m256, q: &[f32], w: &[f32], codes: __m128i, i: usize) -> __m256 {
        let q = &q[i..i + 8];
        // SAFETY: `q` holds 8 f32 (checked by the slicing above).
        let vq = unsafe { _mm256_loadu_ps(q.as_ptr()) };
        let vc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(codes));
        if L2 {
            let w = &w[i..i + 8];
            let d = _mm256_sub_ps(vq, vc);
            // SAFETY: `w` holds 8 f32 (checked by the slicing above).
            let vw = unsafe { _mm256_loadu_ps(w.as_ptr()) };
            _mm256_fmadd_ps(_mm256_mul_ps(d, d), vw, acc)
        } else {
            _mm256_fmadd_ps(vq, vc, acc)
        }
    }

    /// The low and high nibbles of the 16-byte block `block` of a nibble code vector: the block's values
    /// 0..16 and 16..32, one per byte. (SSE2 only: part of the x86_64 baseline, so of every set.)
    #[inline]
    #[target_feature(enable = "sse2")]
    fn nibbles(codes: &[u8], block: usize) -> (__m128i, __m128i) {
        let bytes = &codes[block * 16..block * 16 + 16];
        // SAFETY: `bytes` holds 16 bytes (checked by the slicing above); `loadu` has no alignment need.
        let v = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
        let low = _mm_set1_epi8(0x0F);
        (_mm_and_si128(v, low), _mm_and_si128(_mm_srli_epi16::<4>(v), low))
    }

    /// AVX-512F nibble code kernel (see `scalar::nibble_code`): a block of 32 values per step, one
    /// accumulator per half, scalar tail.
    #[target_feature(enable = "avx512f")]
    pub(super) fn nibble_code_avx512<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
        let n = super::scalar::nibble_len::<L2>(q, w, codes);
        let whole = n - n % 32;
        let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for block in 0..whole / 32 {
            let (low, high) = nibbles(codes, block);
            acc0 = lanes16::<L2>(acc0, q, w, low, block * 32);
            acc1 = lanes16::<L2>(acc1, q, w, high, block * 32 + 16);
        }
        // The first half of a last, partial block (784 = 24 × 32 + 16).
        let mut done = whole;
        if n - whole >= 16 {
            acc0 = lanes16::<L2>(acc0, q, w, nibbles(codes, whole / 32).0, whole);
            done += 16;
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + super::scalar::nibble_code_from::<L2>(q, w, codes, done, n)
    }

    /// AVX2+FMA nibble code kernel (see `scalar::nibble_code`): a block of 32 values in four steps of 8,
    /// two accumulators, scalar tail.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn nibble_code_avx2<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8]) -> f32 {
        let n = super::scalar::nibble_len::<L2>(q, w, codes);
        let whole = n - n % 32;
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for block in 0..whole / 32 {
            let (low, high) = nibbles(codes, block);
            let i = block * 32;
            acc0 = lanes8::<L2>(acc0, q, w, low, i);
            acc1 = lanes8::<L2>(acc1, q, w, _mm_srli_si128::<8>(low), i + 8);
            acc0 = lanes8::<L2>(acc0, q, w, high, i + 16);
            acc1 = lanes8::<L2>(acc1, q, w, _mm_srli_si128::<8>(high), i + 24);
        }
        // The first half of a last, partial block.
        let mut done = whole;
        if n - whole >= 16 {
            let low = nibbles(codes, whole / 32).0;
            acc0 = lanes8::<L2>(acc0, q, w, low, whole);
            acc1 = lanes8::<L2>(acc1, q, w, _mm_srli_si128::<8>(low), whole + 8);
            done += 16;
        }
        hsum256(_mm256_add_ps(acc0, acc1)) + super::scalar::nibble_code_from::<L2>(q, w, codes, done, n)
    }

    /// The scalar kernel over elements `whole..n` (the part shorter than one SIMD step).
    #[inline]
    fn code_tail<const L2: bool>(q: &[f32], w: &[f32], codes: &[u8], whole: usize, n: usize) -> f32 {
        // `w` is empty for the dot kernel, which never reads it.
        super::scalar::code::<L2>(&q[whole..n], w.get(whole..n).unwrap_or(&[]), &codes[whole..n])
    }

    /// `MASK_WINDOW[8 - k..16 - k]` enables the first `k` (0 ≤ k ≤ 8) of 8 lanes.
    static MASK_WINDOW: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    /// Loads the first `len` (< 8) f32 of `a` and `b`, other lanes zero.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn masked_pair256(a: &[f32], b: &[f32], len: usize) -> (__m256, __m256) {
        let len = len.min(7).min(a.len()).min(b.len());
        // SAFETY: `8 - len` is in 1..=8, so the 8 i32 read from `MASK_WINDOW` are in bounds. The mask
        // enables the first `len` lanes, and `a` and `b` hold at least `len` f32; `vmaskmovps` neither
        // reads nor faults on disabled lanes, which are zero (adding nothing to either sum).
        unsafe {
            let mask = _mm256_loadu_si256(MASK_WINDOW.as_ptr().add(8 - len).cast());
            (_mm256_maskload_ps(a.as_ptr(), mask), _mm256_maskload_ps(b.as_ptr(), mask))
        }
    }

    /// AVX2+FMA pair kernel, 4 × 8 lanes per step, masked head (aligning `b`) and masked tail.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn pair_avx2<const L2: bool>(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [_mm256_setzero_ps(); 4];
        // Peel so that the loads from `b` start on a 32-byte boundary (no cache-line splits).
        let head = ((32 - (b.as_ptr() as usize) % 32) % 32 / 4).min(n);
        if head > 0 {
            let (vx, vy) = masked_pair256(a, b, head);
            acc[2] = step256::<L2>(acc[2], vx, vy);
        }
        let (a, b) = (&a[head..], &b[head..]);
        let (ca, cb) = (a.chunks_exact(32), b.chunks_exact(32));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `x` and `y` hold 32 f32, so lanes 8k..8k+8 (k < 4) are in bounds; `loadu` has
                // no alignment requirement.
                let (vx, vy) =
                    unsafe { (_mm256_loadu_ps(x.as_ptr().add(8 * k)), _mm256_loadu_ps(y.as_ptr().add(8 * k))) };
                *acc = step256::<L2>(*acc, vx, vy);
            }
        }
        let (ca, cb) = (ra.chunks_exact(8), rb.chunks_exact(8));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        // At most 3 whole 8-lane chunks remain: one per accumulator (constant indices keep `acc` in
        // registers).
        let mut rest = ca.zip(cb);
        for k in [0, 1, 2] {
            let Some((x, y)) = rest.next() else { break };
            // SAFETY: `x` and `y` hold 8 f32.
            let (vx, vy) = unsafe { (_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr())) };
            acc[k] = step256::<L2>(acc[k], vx, vy);
        }
        if !ta.is_empty() {
            let (vx, vy) = masked_pair256(ta, tb, ta.len());
            acc[3] = step256::<L2>(acc[3], vx, vy);
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        hsum256(sum)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn step256<const L2: bool>(acc: __m256, x: __m256, y: __m256) -> __m256 {
        if L2 {
            let d = _mm256_sub_ps(x, y);
            _mm256_fmadd_ps(d, d, acc)
        } else {
            _mm256_fmadd_ps(x, y, acc)
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum256(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// AVX2+FMA rows kernel: `l2` or `1 − dot` for each whole row.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn rows_avx2<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        if dim == 0 {
            out.fill(if L2 { 0.0 } else { 1.0 });
            return;
        }
        let mut prefetch = Prefetcher::new(rows);
        for (i, (row, o)) in rows.chunks_exact(dim).zip(out.iter_mut()).enumerate() {
            prefetch.up_to((i + 1) * dim + PREFETCH_AHEAD);
            let s = pair_avx2::<L2>(query, row);
            *o = if L2 { s } else { 1.0 - s };
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// aarch64: NEON
// ---------------------------------------------------------------------------------------------------

#[cfg(target_arch = "aarch64")]
mod arm {
    use std::arch::aarch64::*;

    /// NEON pair kernel, 4 × 4 lanes per step, scalar tail of < 4.
    #[inline]
    #[target_feature(enable = "neon")]
    pub(super) fn pair_neon<const L2: bool>(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [vdupq_n_f32(0.0); 4];
        let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: `x` and `y` hold 16 f32, so lanes 4k..4k+4 (k < 4) are in bounds; `vld1q_f32`
                // needs only f32 alignment, which a `&[f32]` has.
                let (vx, vy) = unsafe { (vld1q_f32(x.as_ptr().add(4 * k)), vld1q_f32(y.as_ptr().add(4 * k))) };
                *acc = step128::<L2>(*acc, vx, vy);
            }
        }
        let (ca, cb) = (ra.chunks_exact(4), rb.chunks_exact(4));
        let (ta, tb) = (ca.remainder(), cb.remainder());
        // At most 3 whole 4-lane chunks remain: one per accumulator (constant indices keep `acc` in
        // registers).
        let mut rest = ca.zip(cb);
        for k in [0, 1, 2] {
            let Some((x, y)) = rest.next() else { break };
            // SAFETY: `x` and `y` hold 4 f32.
            let (vx, vy) = unsafe { (vld1q_f32(x.as_ptr()), vld1q_f32(y.as_ptr())) };
            acc[k] = step128::<L2>(acc[k], vx, vy);
        }
        let mut s = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
        for (&x, &y) in ta.iter().zip(tb) {
            s += if L2 { (x - y) * (x - y) } else { x * y };
        }
        s
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn step128<const L2: bool>(acc: float32x4_t, x: float32x4_t, y: float32x4_t) -> float32x4_t {
        if L2 {
            let d = vsubq_f32(x, y);
            vfmaq_f32(acc, d, d)
        } else {
            vfmaq_f32(acc, x, y)
        }
    }

    /// NEON rows kernel: `l2` or `1 − dot` for each whole row.
    #[target_feature(enable = "neon")]
    pub(super) fn rows_neon<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        if dim == 0 {
            out.fill(if L2 { 0.0 } else { 1.0 });
            return;
        }
        for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
            let s = pair_neon::<L2>(query, row);
            *o = if L2 { s } else { 1.0 - s };
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64* — tiny, seeded, good enough for test data.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform in [-1, 1).
        fn unit(&mut self) -> f32 {
            (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }

        fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
            (0..n).map(|_| self.unit() * scale).collect()
        }

        /// Elements spread over 1e-6 .. 1e6 within one vector.
        fn mixed_vec(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|i| self.unit() * 10f32.powi((i % 13) as i32 - 6)).collect()
        }
    }

    /// Odd and even dimensions, including every tail length of every kernel.
    const DIMS: &[usize] = &[
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 47, 48, 63, 64, 65, 79, 80, 95, 96, 127, 128,
        129, 383, 384, 385, 783, 784, 1536,
    ];

    /// Relative tolerance, against the condition of the sum (Σ|terms|).
    const TOL: f64 = 1e-5;

    /// Exact-ish f64 value and Σ|terms| of `l2_squared` (`l2`) or `dot`.
    fn reference(l2: bool, a: &[f32], b: &[f32]) -> (f64, f64) {
        let mut sum = 0.0f64;
        let mut abs = 0.0f64;
        for (&x, &y) in a.iter().zip(b) {
            let t = if l2 { (f64::from(x) - f64::from(y)).powi(2) } else { f64::from(x) * f64::from(y) };
            sum += t;
            abs += t.abs();
        }
        (sum, abs)
    }

    fn assert_close(got: f32, (exact, magnitude): (f64, f64), what: &str) {
        let err = (f64::from(got) - exact).abs();
        let allowed = TOL * magnitude;
        assert!(err <= allowed, "{what}: got {got:e}, expected {exact:e} (error {err:e} > allowed {allowed:e})");
    }

    fn call_pair(f: PairFn, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: every `Kernels` value (from `Kernels::available`) is supported by this CPU; the
        // kernel reads within the shorter slice.
        unsafe { f(a, b) }
    }

    fn call_rows(f: RowsFn, q: &[f32], rows: &[f32], out: &mut [f32]) {
        // SAFETY: as in `call_pair`; the rows kernel stays within whole rows and `out`.
        unsafe { f(q, rows, out) }
    }

    /// Checks both pair kernels of every available set against the f64 reference and against scalar.
    fn check_all_kernels(a: &[f32], b: &[f32], what: &str) {
        let r_l2 = reference(true, a, b);
        let r_dot = reference(false, a, b);
        let s_l2 = scalar::l2_squared(a, b);
        let s_dot = scalar::dot(a, b);
        assert_close(s_l2, r_l2, &format!("scalar l2 {what}"));
        assert_close(s_dot, r_dot, &format!("scalar dot {what}"));
        for k in Kernels::available() {
            let l2 = call_pair(k.l2, a, b);
            let d = call_pair(k.dot, a, b);
            assert_close(l2, r_l2, &format!("{} l2 {what}", k.name));
            assert_close(d, r_dot, &format!("{} dot {what}", k.name));
            // And against the scalar kernel itself (both carry f32 rounding, hence 2 × TOL).
            assert!(
                f64::from((l2 - s_l2).abs()) <= 2.0 * TOL * r_l2.1,
                "{} l2 vs scalar {what}: {l2:e} vs {s_l2:e}",
                k.name
            );
            assert!(
                f64::from((d - s_dot).abs()) <= 2.0 * TOL * r_dot.1,
                "{} dot vs scalar {what}: {d:e} vs {s_dot:e}",
                k.name
            );
        }
    }

    #[test]
    fn space_parse_and_as_str_round_trip() {
        for space in [Space::L2, Space::Cosine, Space::Ip] {
            assert_eq!(Space::parse(space.as_str()), Some(space));
        }
        assert_eq!(Space::parse("l2"), Some(Space::L2));
        assert_eq!(Space::parse("cosine"), Some(Space::Cosine));
        assert_eq!(Space::parse("ip"), Some(Space::Ip));
        for bad in ["", "L2", "Cosine", "euclidean", "l1", "ip ", "dot"] {
            assert_eq!(Space::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn available_kernels_match_cpu_features() {
        let names: Vec<&str> = Kernels::available().iter().map(|k| k.name).collect();
        eprintln!("kernels available on this CPU: {names:?}; active: {}", active_kernel());
        assert_eq!(names[0], "scalar");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(names.contains(&"avx512f"), is_x86_feature_detected!("avx512f"));
            assert_eq!(
                names.contains(&"avx2+fma"),
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
            );
        }
        #[cfg(target_arch = "aarch64")]
        assert!(names.contains(&"neon"));
        assert!(["scalar", "avx2+fma", "avx512f", "neon"].contains(&active_kernel()));
    }

    #[test]
    fn forced_kernel_selection_falls_back_to_scalar() {
        let best = Kernels::detect().name;
        assert_eq!(Kernels::select_from(None).name, best);
        assert_eq!(Kernels::select_from(Some("")).name, best);
        assert_eq!(Kernels::select_from(Some("auto")).name, best);
        assert_eq!(Kernels::select_from(Some("scalar")).name, "scalar");
        assert_eq!(Kernels::select_from(Some(" SCALAR ")).name, "scalar");
        assert_eq!(Kernels::select_from(Some("nonsense")).name, "scalar");
        let expect = |k: Option<Kernels>| k.map_or("scalar", |k| k.name);
        assert_eq!(Kernels::select_from(Some("avx512")).name, expect(Kernels::avx512()));
        assert_eq!(Kernels::select_from(Some("avx512f")).name, expect(Kernels::avx512()));
        assert_eq!(Kernels::select_from(Some("avx2")).name, expect(Kernels::avx2()));
        assert_eq!(Kernels::select_from(Some("avx2+fma")).name, expect(Kernels::avx2()));
        assert_eq!(Kernels::select_from(Some("neon")).name, expect(Kernels::neon()));
        #[cfg(not(target_arch = "aarch64"))]
        assert_eq!(Kernels::select_from(Some("neon")).name, "scalar");
    }

    #[test]
    fn every_kernel_matches_reference_on_odd_dims() {
        let mut rng = Rng::new(1);
        for &dim in DIMS {
            for rep in 0..4 {
                let a = rng.vec(dim, 1.0);
                let b = rng.vec(dim, 1.0);
                check_all_kernels(&a, &b, &format!("dim {dim} rep {rep}"));
                // A vector against itself: l2 is exactly 0.
                for k in Kernels::available() {
                    assert_eq!(call_pair(k.l2, &a, &a), 0.0, "{} l2(a, a) dim {dim}", k.name);
                }
            }
        }
    }

    #[test]
    fn every_kernel_handles_large_and_tiny_magnitudes() {
        let mut rng = Rng::new(2);
        for &dim in DIMS {
            // 1e15: squares ~1e30, sums far from f32::MAX; 1e-15: squares ~1e-30, still normal.
            for scale in [1e15f32, 1e6, 1e-6, 1e-15] {
                let a = rng.vec(dim, scale);
                let b = rng.vec(dim, scale);
                check_all_kernels(&a, &b, &format!("dim {dim} scale {scale:e}"));
            }
            let a = rng.mixed_vec(dim);
            let b = rng.mixed_vec(dim);
            check_all_kernels(&a, &b, &format!("dim {dim} mixed magnitudes"));
            // Large against tiny.
            let a = rng.vec(dim, 1e12);
            let b = rng.vec(dim, 1e-12);
            check_all_kernels(&a, &b, &format!("dim {dim} large vs tiny"));
        }
    }

    #[test]
    fn huge_page_spans_are_whole_aligned_pages_inside_the_slice() {
        const HUGE: usize = 2 << 20;
        assert_eq!(huge_page_span(HUGE, 2 * HUGE), Some((HUGE, 3 * HUGE)));
        assert_eq!(huge_page_span(HUGE + 16, 2 * HUGE), Some((2 * HUGE, 3 * HUGE)), "the one whole page");
        assert_eq!(huge_page_span(HUGE + 16, 3 * HUGE), Some((2 * HUGE, 4 * HUGE)));
        assert_eq!(huge_page_span(0, 2 * HUGE - 1), None, "under 4 MiB");
        assert_eq!(huge_page_span(usize::MAX - HUGE, 4 * HUGE), None, "wraps around");
        for (start, bytes) in [(4096, 9 * HUGE + 5), (HUGE - 1, 7 * HUGE), (123_456_789, 33 * HUGE + 17)] {
            let (first, end) = huge_page_span(start, bytes).expect("span");
            assert!(first % HUGE == 0 && end % HUGE == 0 && start <= first && end <= start + bytes);
            assert!(first - start < HUGE && start + bytes - end < HUGE, "every whole page");
        }
    }

    #[test]
    fn every_kernel_handles_misaligned_slices() {
        let mut rng = Rng::new(3);
        for &dim in DIMS {
            let a = rng.vec(dim + 3, 1.0);
            let b = rng.vec(dim + 3, 1.0);
            for off_a in 0..4 {
                for off_b in [1, 3] {
                    let (a, b) = (&a[off_a..off_a + dim], &b[off_b..off_b + dim]);
                    check_all_kernels(a, b, &format!("dim {dim} offsets {off_a}/{off_b}"));
                }
            }
        }
    }

    #[test]
    fn every_kernel_reads_only_the_shorter_length() {
        let mut rng = Rng::new(4);
        for &dim in DIMS {
            let a = rng.vec(dim, 1.0);
            let b = rng.vec(dim + 9, 1.0);
            let b_short = &b[..dim];
            for k in Kernels::available() {
                for (f, what) in [(k.l2, "l2"), (k.dot, "dot")] {
                    let expect = call_pair(f, &a, b_short);
                    assert_eq!(call_pair(f, &a, &b).to_bits(), expect.to_bits(), "{} {what} dim {dim}", k.name);
                    assert_eq!(call_pair(f, &b, &a).to_bits(), call_pair(f, b_short, &a).to_bits());
                }
            }
        }
    }

    #[test]
    fn every_kernel_gives_zero_on_empty_input() {
        for k in Kernels::available() {
            assert_eq!(call_pair(k.l2, &[], &[]), 0.0, "{}", k.name);
            assert_eq!(call_pair(k.dot, &[], &[]), 0.0, "{}", k.name);
            assert_eq!(call_pair(k.dot, &[], &[1.0, 2.0]), 0.0, "{}", k.name);
        }
    }

    #[test]
    fn every_code_kernel_matches_reference_on_odd_dims_and_tails() {
        let mut rng = Rng::new(91);
        for &dim in DIMS {
            let q = rng.vec(dim, 300.0);
            let w: Vec<f32> = rng.vec(dim, 1.0).iter().map(|x| x.abs() + 0.01).collect();
            let codes: Vec<u8> = (0..dim).map(|_| (rng.next_u64() >> 56) as u8).collect();
            let (mut l2, mut l2_abs, mut dot, mut dot_abs) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for ((&x, &w), &c) in q.iter().zip(&w).zip(&codes) {
                let t = f64::from(w) * (f64::from(x) - f64::from(c)).powi(2);
                let u = f64::from(x) * f64::from(c);
                (l2, l2_abs, dot, dot_abs) = (l2 + t, l2_abs + t.abs(), dot + u, dot_abs + u.abs());
            }
            for k in Kernels::available() {
                // SAFETY: every set from `Kernels::available` is supported by this CPU; the kernels read
                // within the shortest slice.
                let (got_l2, got_dot) = unsafe { ((k.code_l2)(&q, &w, &codes), (k.code_dot)(&q, &[], &codes)) };
                assert_close(got_l2, (l2, l2_abs), &format!("{} code l2 dim {dim}", k.name));
                assert_close(got_dot, (dot, dot_abs), &format!("{} code dot dim {dim}", k.name));
            }
            // The dispatched functions, and every kernel on misaligned slices of the same data.
            if dim > 1 {
                let (q, w, codes) = (&q[1..], &w[1..], &codes[1..]);
                let want = scalar::code::<true>(q, w, codes);
                for k in Kernels::available() {
                    // SAFETY: as above.
                    let got = unsafe { (k.code_l2)(q, w, codes) };
                    assert!((got - want).abs() <= 2e-5 * want.abs().max(1.0), "{} misaligned dim {dim}", k.name);
                }
                assert!((code_l2(q, w, codes) - want).abs() <= 2e-5 * want.abs().max(1.0));
            }
        }
    }

    #[test]
    fn every_nibble_kernel_matches_reference_on_odd_dims_and_tails() {
        let mut rng = Rng::new(93);
        for &dim in DIMS {
            let q = rng.vec(dim, 20.0);
            let w: Vec<f32> = rng.vec(dim, 1.0).iter().map(|x| x.abs() + 0.01).collect();
            let values: Vec<u8> = (0..dim).map(|_| (rng.next_u64() >> 60) as u8).collect();
            // Packed by hand: value j of block b sits in byte 16b + j % 16, low nibble for j % 32 < 16.
            let mut codes = vec![0u8; nibble_code_len(dim)];
            for (j, &v) in values.iter().enumerate() {
                codes[j / 32 * 16 + j % 16] |= if j % 32 < 16 { v } else { v << 4 };
            }
            assert!(values.iter().enumerate().all(|(j, &v)| nibble(&codes, j) == v), "dim {dim}: nibble()");
            let (mut l2, mut l2_abs, mut dot, mut dot_abs) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for ((&x, &w), &c) in q.iter().zip(&w).zip(&values) {
                let t = f64::from(w) * (f64::from(x) - f64::from(c)).powi(2);
                let u = f64::from(x) * f64::from(c);
                (l2, l2_abs, dot, dot_abs) = (l2 + t, l2_abs + t.abs(), dot + u, dot_abs + u.abs());
            }
            for k in Kernels::available() {
                // SAFETY: every set from `Kernels::available` is supported by this CPU; the kernels read
                // within the shortest slice and the codes' whole blocks.
                let (got_l2, got_dot) = unsafe { ((k.nibble_l2)(&q, &w, &codes), (k.nibble_dot)(&q, &[], &codes)) };
                assert_close(got_l2, (l2, l2_abs), &format!("{} nibble l2 dim {dim}", k.name));
                assert_close(got_dot, (dot, dot_abs), &format!("{} nibble dot dim {dim}", k.name));
                // Codes one block short: only the values of the whole blocks are read.
                if codes.len() >= 16 {
                    let short = &codes[..codes.len() - 16];
                    let covered = (short.len() / 16 * 32).min(dim);
                    let want = scalar::code::<true>(&q[..covered], &w[..covered], &values[..covered]);
                    // SAFETY: as above.
                    let got = unsafe { (k.nibble_l2)(&q, &w, short) };
                    assert!((got - want).abs() <= 2e-5 * want.abs().max(1.0), "{} short codes dim {dim}", k.name);
                }
            }
            assert_close(nibble_code_l2(&q, &w, &codes), (l2, l2_abs), &format!("dispatched nibble l2 dim {dim}"));
            assert_close(nibble_code_dot(&q, &codes), (dot, dot_abs), &format!("dispatched nibble dot dim {dim}"));
        }
    }

    #[test]
    fn every_rows_kernel_matches_its_pair_kernel() {
        let mut rng = Rng::new(5);
        for &dim in DIMS.iter().filter(|&&d| d > 0) {
            let n_rows = 13;
            let q = rng.vec(dim, 1.0);
            let rows = rng.vec(dim * n_rows + 1, 1.0);
            let rows = &rows[1..]; // misaligned start
            for k in Kernels::available() {
                let mut out = vec![f32::NAN; n_rows];
                call_rows(k.l2_rows, &q, rows, &mut out);
                for (i, row) in rows.chunks_exact(dim).enumerate() {
                    let expect = call_pair(k.l2, &q, row);
                    assert!((out[i] - expect).abs() <= 1e-5 * expect.abs(), "{} l2 row {i} dim {dim}", k.name);
                }
                call_rows(k.ip_rows, &q, rows, &mut out);
                for (i, row) in rows.chunks_exact(dim).enumerate() {
                    let (_, mag) = reference(false, &q, row);
                    let expect = 1.0 - call_pair(k.dot, &q, row);
                    assert!(
                        f64::from((out[i] - expect).abs()) <= 1e-5 * (1.0 + mag),
                        "{} ip row {i} dim {dim}",
                        k.name
                    );
                }
                // `out` shorter than the rows: only `out.len()` distances, no panic.
                let mut short = vec![0.0; 3];
                call_rows(k.l2_rows, &q, rows, &mut short);
                assert_eq!(short, out_l2_prefix(k, &q, rows, 3));
            }
        }
    }

    fn out_l2_prefix(k: Kernels, q: &[f32], rows: &[f32], n: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows.len() / q.len()];
        call_rows(k.l2_rows, q, rows, &mut out);
        out.truncate(n);
        out
    }

    #[test]
    fn dispatched_functions_match_reference() {
        let mut rng = Rng::new(6);
        for &dim in DIMS {
            let a = rng.vec(dim, 3.0);
            let b = rng.vec(dim, 3.0);
            assert_close(l2_squared(&a, &b), reference(true, &a, &b), "l2_squared");
            assert_close(dot(&a, &b), reference(false, &a, &b), "dot");
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "different lengths")]
    fn mismatched_lengths_trip_debug_assert() {
        let _ = l2_squared(&[1.0, 2.0], &[1.0]);
    }

    #[test]
    fn normalize_gives_unit_norm_and_returns_the_norm() {
        let mut rng = Rng::new(7);
        for &dim in DIMS.iter().filter(|&&d| d > 0) {
            for scale in [1e-3f32, 1.0, 1e3] {
                let original = rng.vec(dim, scale);
                let expect_norm = reference(false, &original, &original).0.sqrt();
                let mut v = original.clone();
                let norm = normalize(&mut v);
                assert!(
                    (f64::from(norm) - expect_norm).abs() <= 1e-5 * expect_norm,
                    "dim {dim} scale {scale}: norm {norm} vs {expect_norm}"
                );
                let unit = reference(false, &v, &v).0.sqrt();
                assert!((unit - 1.0).abs() < 1e-5, "dim {dim} scale {scale}: |v| = {unit}");
                // Direction kept.
                for (x, o) in v.iter().zip(&original) {
                    assert!((f64::from(*x) - f64::from(*o) / expect_norm).abs() <= 1e-5, "dim {dim}");
                }
            }
        }
        let mut v = [3.0f32, 4.0];
        assert_eq!(normalize(&mut v), 5.0);
        assert!((v[0] - 0.6).abs() < 1e-7 && (v[1] - 0.8).abs() < 1e-7, "{v:?}");
        let mut v = [0.0f32, -2.0, 0.0];
        assert_eq!(normalize(&mut v), 2.0);
        assert_eq!(v, [0.0, -1.0, 0.0]);
    }

    #[test]
    fn normalize_leaves_zero_vector_as_zeros() {
        for dim in [0usize, 1, 7, 384] {
            let mut v = vec![0.0f32; dim];
            assert_eq!(normalize(&mut v), 0.0);
            assert!(v.iter().all(|&x| x == 0.0), "dim {dim}: {v:?}");
        }
        let mut v: [f32; 0] = [];
        assert_eq!(normalize(&mut v), 0.0);
    }

    #[test]
    fn normalize_handles_norms_outside_f32_squares() {
        // Squares underflow (1e-25² = 1e-50) or overflow (1e25² = 1e50) in f32; still normalised.
        for (scale, dim) in [(1e-25f32, 5usize), (1e-40, 3), (1e25, 5), (1e38, 3)] {
            let original: Vec<f32> = (0..dim).map(|i| scale * (i as f32 + 1.0)).collect();
            let expect_norm = original.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            let mut v = original.clone();
            let norm = normalize(&mut v);
            if expect_norm <= f64::from(f32::MAX) {
                assert!(
                    (f64::from(norm) - expect_norm).abs() <= 1e-5 * expect_norm,
                    "scale {scale:e}: {norm:e} vs {expect_norm:e}"
                );
            } else {
                assert_eq!(norm, f32::INFINITY);
            }
            assert!(v.iter().all(|x| x.is_finite()), "scale {scale:e}: {v:?}");
            let unit = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            assert!((unit - 1.0).abs() < 1e-5, "scale {scale:e}: |v| = {unit}");
        }
    }

    #[test]
    fn distance_l2_hand_computed() {
        assert_eq!(distance(Space::L2, &[1.0, 2.0, 3.0], &[4.0, 6.0, 8.0]), 9.0 + 16.0 + 25.0);
        assert_eq!(distance(Space::L2, &[1.0, -1.0], &[1.0, -1.0]), 0.0);
        assert_eq!(distance(Space::L2, &[0.5], &[-0.5]), 1.0);
        // No square root: distance of (0,0) to (3,4) is 25, not 5.
        assert_eq!(distance(Space::L2, &[0.0, 0.0], &[3.0, 4.0]), 25.0);
        let a: Vec<f32> = (0..17).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..17).map(|i| (i * 2) as f32).collect();
        // Σ i² for i < 17 = 16·17·33/6 = 1496
        assert_eq!(distance(Space::L2, &a, &b), 1496.0);
    }

    #[test]
    fn distance_ip_hand_computed_and_can_be_negative() {
        assert_eq!(distance(Space::Ip, &[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 1.0 - 32.0);
        assert!(distance(Space::Ip, &[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]) < 0.0);
        assert_eq!(distance(Space::Ip, &[1.0, 0.0], &[0.0, 1.0]), 1.0);
        assert_eq!(distance(Space::Ip, &[1.0, 2.0], &[-1.0, -2.0]), 6.0);
        assert_eq!(distance(Space::Ip, &[0.5, 0.5], &[0.5, 0.5]), 0.5);
    }

    #[test]
    fn distance_cosine_hand_computed() {
        let unit = |v: &[f32]| {
            let mut v = v.to_vec();
            normalize(&mut v);
            v
        };
        let a = unit(&[1.0, 0.0]);
        let b = unit(&[1.0, 1.0]);
        let d = distance(Space::Cosine, &a, &b);
        assert!((d - (1.0 - std::f32::consts::FRAC_1_SQRT_2)).abs() < 1e-6, "{d}");
        assert!((distance(Space::Cosine, &a, &unit(&[0.0, 3.0])) - 1.0).abs() < 1e-6);
        assert!((distance(Space::Cosine, &a, &unit(&[-2.0, 0.0])) - 2.0).abs() < 1e-6);
        // Identical (normalised) vectors: ≈ 0, for any dimension; scale does not matter.
        let mut rng = Rng::new(8);
        for &dim in DIMS.iter().filter(|&&d| d > 0) {
            let v = rng.vec(dim, 10.0);
            let scaled: Vec<f32> = v.iter().map(|x| x * 7.5).collect();
            let d = distance(Space::Cosine, &unit(&v), &unit(&scaled));
            assert!(d.abs() < 1e-5, "dim {dim}: {d}");
            let u = unit(&v);
            assert!(distance(Space::Cosine, &u, &u).abs() < 1e-5, "dim {dim}");
        }
    }

    #[test]
    fn distances_to_rows_equals_per_row_distance() {
        let mut rng = Rng::new(9);
        for &dim in DIMS.iter().filter(|&&d| d > 0) {
            for n_rows in [0usize, 1, 2, 5, 33] {
                let q = rng.vec(dim, 1.0);
                let rows = rng.vec(dim * n_rows, 1.0);
                for space in [Space::L2, Space::Cosine, Space::Ip] {
                    let mut out = vec![42.0; 7]; // stale contents are replaced
                    distances_to_rows(space, &q, &rows, &mut out);
                    assert_eq!(out.len(), n_rows);
                    for (i, row) in rows.chunks_exact(dim).enumerate() {
                        let expect = distance(space, &q, row);
                        let (_, mag) = reference(space == Space::L2, &q, row);
                        assert!(
                            f64::from((out[i] - expect).abs()) <= 1e-5 * (1.0 + mag),
                            "{space:?} dim {dim} row {i}: {} vs {expect}",
                            out[i]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn distances_to_rows_large_sets_with_misaligned_query() {
        // > 2 MiB of rows (the SIMD kernels prefetch) and > 64 KiB (the query is re-aligned to the rows).
        let mut rng = Rng::new(10);
        for (dim, n_rows) in [(384usize, 1400usize), (129, 4200)] {
            let rows = rng.vec(dim * n_rows + 1, 1.0);
            let rows = &rows[1..];
            let q_buf = rng.vec(dim + 3, 1.0);
            for off in 0..4 {
                let q = &q_buf[off..off + dim];
                for space in [Space::L2, Space::Ip] {
                    let mut out = Vec::new();
                    distances_to_rows(space, q, rows, &mut out);
                    assert_eq!(out.len(), n_rows);
                    for (i, row) in rows.chunks_exact(dim).enumerate() {
                        let expect = distance(space, q, row);
                        assert!(
                            (out[i] - expect).abs() <= 1e-5 * (1.0 + expect.abs()),
                            "{space:?} dim {dim} offset {off} row {i}: {} vs {expect}",
                            out[i]
                        );
                    }
                }
            }
            // Every kernel's rows function directly, on the large set.
            for k in Kernels::available() {
                let mut out = vec![0.0; n_rows];
                call_rows(k.l2_rows, &q_buf[1..1 + dim], rows, &mut out);
                for (i, row) in rows.chunks_exact(dim).enumerate() {
                    assert_close(out[i], reference(true, &q_buf[1..1 + dim], row), &format!("{} large rows", k.name));
                }
            }
        }
    }

    #[test]
    fn distances_to_rows_edge_cases() {
        let mut out = vec![1.0, 2.0];
        distances_to_rows(Space::L2, &[], &[], &mut out);
        assert!(out.is_empty());
        distances_to_rows(Space::Ip, &[1.0, 2.0], &[], &mut out);
        assert!(out.is_empty());
        distances_to_rows(Space::Ip, &[1.0, 2.0], &[1.0, 1.0, 0.0, 1.0, -1.0, 0.0], &mut out);
        assert_eq!(out, vec![1.0 - 3.0, 1.0 - 2.0, 1.0 + 1.0]);
        distances_to_rows(Space::L2, &[1.0, 2.0], &[1.0, 1.0, 0.0, 1.0, -1.0, 0.0], &mut out);
        assert_eq!(out, vec![1.0, 2.0, 8.0]);
    }
}
