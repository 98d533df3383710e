//! 8-bit or 4-bit copies of the stored vectors for walking the HNSW graph: a quarter or an eighth of the
//! bytes per distance, for a walk that spends most of its time waiting for vectors to arrive from memory
//! (it pays most where a vector spans many cache lines). Results never come from the codes: the search
//! re-ranks what the walk finds with the exact `f32` distances (see `VectorIndex::graph_search`).
//!
//! Each dimension `j` has a range `[lo_j, lo_j + L·step_j]` with `L` = 255 (8 bits) or 15 (4 bits); a
//! value `x` is stored as the nearest code `c = round((x − lo_j) / step_j)`, clamped to `0..=L`, and
//! stands for `lo_j + step_j·c`.
//!
//! The width is chosen from the data ([`Codes::fit`]). Rounding a vector's values to codes moves its
//! squared distance `d²` to a query by about `2·σ·d` (σ: the rounding error per value, `step/√12` on
//! average), so what the walk feels is `2σ/d` at the distances it ranks, those of near neighbours. 4 bits
//! are used where that stays under `NIBBLE_NOISE`: fashion-mnist (784-d, ~0.9 %) walks as well on them
//! (recall 0.966–0.967 at ef 16 against 0.967 with 8 bits) in half the memory; the clustered sets
//! (~2.6 % at 384-d, ~4.5 % at 128-d) lose recall on them (0.954 → 0.90 at ef 64 at 384-d), so they keep
//! 8 bits. The width is chosen when the codes are fitted and checked again at each layout of the index,
//! as neighbours grow nearer with the collection (`VectorIndex::reorder`).
//!
//! Invariants:
//! - `codes.len() == coded * stride`: slot `s < coded` owns `codes[s * stride..][..stride]`, one byte
//!   per value (8 bits) or [`distance::nibble_code_len`] bytes (4 bits, zero past the last value);
//! - every coded value lies inside its dimension's range widened by `CLAMP` of its width on each side
//!   (values in that band are clamped to the nearest end; a value beyond it makes the ranges refit over
//!   all coded slots). Clamping only blurs the walk's distances to a few outliers; results are exact.
//! - `step_j > 0` and `step_j²` is a finite, non-zero `f32` for every dimension (otherwise there are no
//!   codes: `fit` returns `None` and the graph walks the `f32` vectors).
//! - `error` ≥ ‖x − x̂‖ for every coded slot that is not an `outlier` (x as coded, x̂ its decoded vector);
//!   a slot is an outlier when a value of it was clamped. With these a scan can rank by codes and still
//!   return exact results ([`Screen`]).

use std::sync::OnceLock;

use rayon::prelude::*;

use crate::distance;
use crate::row_map::{grow_for, permute_rows};

/// Whether graphs walk codes: yes unless `CHROMALITE_GRAPH_CODES=0` (read once). Without codes the walk
/// reads the `f32` vectors: one byte less per vector dimension, slower queries.
pub fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("CHROMALITE_GRAPH_CODES").map_or(true, |v| v.trim() != "0"))
}

/// How far each fitted range reaches beyond the data on both sides, as a fraction of the larger of its
/// own spread and the mean spread of all dimensions: data whose extremes keep growing (new samples of a
/// distribution do, slowly), or a dimension that was constant so far, refits a few times, not per batch.
const MARGIN: f64 = 1.0 / 16.0;
/// How far beyond a range (as a fraction of its width) a new value is clamped rather than refitting
/// every slot: the extremes of 100k Gaussian samples lie ~25 % beyond those of the first 2k, so a
/// tighter band refits dozens of times while a large collection fills.
const CLAMP: f32 = 0.5;
/// Slots per unit of parallel work when fitting and coding.
const CHUNK_SLOTS: usize = 1024;
/// The largest `2σ/d` at which codes are 4-bit (see the module documentation), with `d` a sampled
/// vector's distance to its 10th-nearest link: fashion-mnist measures 0.7–0.9 % while its index grows,
/// the clustered sets 1.2–2.6 % (384-d) and 2.2–4.5 % (128-d).
const NIBBLE_NOISE: f64 = 0.012;

/// Whether codes with these ranges (`lo`, `hi`) should be 4-bit, given the distances `near` from a sample
/// of vectors to near neighbours (none: 8-bit). `CHROMALITE_CODE_BITS=4` or `=8` forces a width (read
/// once; for measurements).
fn wants_nibbles(lo: &[f32], hi: &[f32], near: &[f32]) -> bool {
    static FORCED: OnceLock<Option<bool>> = OnceLock::new();
    let forced = FORCED.get_or_init(|| match std::env::var("CHROMALITE_CODE_BITS").as_deref().map(str::trim) {
        Ok("4") => Some(true),
        Ok("8") => Some(false),
        _ => None,
    });
    if let Some(forced) = *forced {
        return forced;
    }
    let mut near: Vec<f64> = near.iter().map(|&d| f64::from(d)).filter(|d| d.is_finite()).collect();
    if near.is_empty() || lo.is_empty() {
        return false;
    }
    near.sort_by(f64::total_cmp);
    let median = near[near.len() / 2];
    // The mean squared rounding error of a value, `step²/12`, with 4-bit steps.
    let mean_square = lo.iter().zip(hi).map(|(&lo, &hi)| ((f64::from(hi) - f64::from(lo)) / 15.0).powi(2)).sum::<f64>()
        / lo.len() as f64
        / 12.0;
    median > 0.0 && 2.0 * mean_square.sqrt() / median <= NIBBLE_NOISE
}

#[derive(Clone)]
pub struct Codes {
    /// 4-bit codes (else 8-bit).
    nibbles: bool,
    /// Bytes per slot.
    stride: usize,
    /// The fitted per-dimension ranges (data extremes plus the margin); new values beyond them are
    /// clamped within the `CLAMP` band and make the codes refit further out.
    lo: Vec<f32>,
    hi: Vec<f32>,
    step: Vec<f32>,
    /// `step_j²`: the weights of [`distance::code_l2`].
    weights: Vec<f32>,
    codes: Vec<u8>,
    /// The largest distance between a coded vector and its decoding over the slots without clamped
    /// values, rounded up (see the invariants).
    error: f32,
    /// One bit per coded slot: set when a value of the slot was clamped (its decoding may be far off).
    outliers: Vec<u64>,
}

/// A query prepared for one space against one set of ranges.
pub enum CodeQuery {
    /// `(x_j − lo_j) / step_j`: squared L2 in code units, weighted by `step_j²`.
    L2(Vec<f32>),
    /// `x_j · step_j` and `Σ x_j lo_j`: the inner product with a decoded vector is `offset + Σ scaled_j c_j`.
    Dot { scaled: Vec<f32>, offset: f32 },
}

/// Turns a code distance into a number no larger than the exact distance (as the `f32` kernels compute
/// it) to any vector with that code, so a scan can rank by codes and stay exact.
#[derive(Clone, Copy)]
pub struct Screen<'a> {
    l2: bool,
    /// The codes' error bound, widened for rounding.
    margin: f32,
    outliers: &'a [u64],
}

impl Screen<'_> {
    /// For a slot and its code distance. The decoded vector of a slot that is not an outlier is within
    /// `error` of the vector (an invariant), so for squared L2 the exact distance is at least
    /// `(√approximate − error)²` (triangle inequality), and for cosine at least `approximate − error`
    /// (Cauchy–Schwarz, ‖query‖ = 1). The factors 0.999 and the 10⁻⁴ cover the rounding of both
    /// computations (near 10⁻⁶ relative). An outlier gets no bound (−∞).
    #[inline]
    pub fn lower_bound(&self, slot: u32, approximate: f32) -> f32 {
        // (A slot beyond the codes has no bound either.)
        if slot as usize >= self.outliers.len() * 64 || is_set(self.outliers, slot as usize) {
            return f32::NEG_INFINITY;
        }
        let bound = if self.l2 {
            let root = approximate.sqrt() * 0.999 - self.margin;
            if root > 0.0 {
                root * root * 0.999
            } else {
                f32::NEG_INFINITY
            }
        } else {
            approximate - self.margin - 1e-4
        };
        // No bound from a code distance that is not a number.
        if bound.is_nan() {
            f32::NEG_INFINITY
        } else {
            bound
        }
    }
}

/// The largest code: 15 for 4-bit codes, 255 for 8-bit ones.
fn levels(nibbles: bool) -> f64 {
    if nibbles {
        15.0
    } else {
        255.0
    }
}

/// Bit `i` of a bitset of 64-bit words (`i` within it).
pub(crate) fn is_set(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 == 1
}

pub(crate) fn set(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

/// Where the values to code come from: slot-major vectors, each multiplied by its slot's scale when
/// given (cosine codes the normalised vectors).
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub dimension: usize,
    pub vectors: &'a [f32],
    pub scales: Option<&'a [f32]>,
}

impl Source<'_> {
    fn slots(&self) -> usize {
        self.vectors.len() / self.dimension
    }

    /// The values of slot `slot`, scaled, one by one.
    fn values(&self, slot: usize) -> impl Iterator<Item = f32> + '_ {
        let scale = self.scales.map_or(1.0, |s| s[slot]);
        self.vectors[slot * self.dimension..][..self.dimension].iter().map(move |&x| x * scale)
    }

    /// Per-dimension `(min, max)` over slots `from..` (`(inf, -inf)` where there are none), computed on
    /// the rayon pool.
    fn ranges(&self, from: usize) -> Vec<(f32, f32)> {
        let empty = || vec![(f32::INFINITY, f32::NEG_INFINITY); self.dimension];
        let slots: Vec<usize> = (from..self.slots()).step_by(CHUNK_SLOTS).collect();
        slots
            .into_par_iter()
            .map(|first| {
                let mut ranges = empty();
                for slot in first..(first + CHUNK_SLOTS).min(self.slots()) {
                    for ((lo, hi), x) in ranges.iter_mut().zip(self.values(slot)) {
                        *lo = lo.min(x);
                        *hi = hi.max(x);
                    }
                }
                ranges
            })
            .reduce(empty, |a, b| a.iter().zip(&b).map(|(a, b)| (a.0.min(b.0), a.1.max(b.1))).collect())
    }
}

impl Codes {
    /// Codes for every slot of `source`, with ranges fitted to them. `None` when a range cannot be coded
    /// (no slots, values that are not finite, or a spread so small or large that `step²` is not a
    /// normal `f32`).
    ///
    /// The width follows from the fitted ranges and `near`: distances between the vectors as coded and
    /// near neighbours of theirs, for a sample of them (empty: 8-bit). See the module documentation.
    pub fn fit(source: Source<'_>, near: &[f32]) -> Option<Codes> {
        Codes::fit_into(source, Vec::new(), |lo, hi| wants_nibbles(lo, hi, near))
    }

    /// Whether these codes have the width that [`Codes::fit`] would choose with `near` now.
    pub fn suits(&self, near: &[f32]) -> bool {
        wants_nibbles(&self.lo, &self.hi, near) == self.nibbles
    }

    /// Whether the codes are 4-bit.
    pub fn nibbles(&self) -> bool {
        self.nibbles
    }

    /// As [`Codes::fit`], coding into `buffer` (cleared first): a refit reuses the old codes' memory
    /// instead of leaving the allocator a freed block as large as all of them.
    /// `nibbles` chooses the width from the fitted ranges (`lo`, `hi`).
    fn fit_into(
        source: Source<'_>,
        mut buffer: Vec<u8>,
        nibbles: impl FnOnce(&[f32], &[f32]) -> bool,
    ) -> Option<Codes> {
        buffer.clear();
        let dimension = source.dimension;
        if dimension == 0 || source.slots() == 0 {
            return None;
        }
        let ranges = source.ranges(0);
        if ranges.iter().any(|(min, max)| !(min.is_finite() && max.is_finite())) {
            return None;
        }
        let spread = |(min, max): (f32, f32)| f64::from(max) - f64::from(min);
        let mean_spread = ranges.iter().map(|&r| spread(r)).sum::<f64>() / dimension as f64;
        let (lo, hi): (Vec<f32>, Vec<f32>) = ranges
            .iter()
            .map(|&(min, max)| {
                let widen = MARGIN * spread((min, max)).max(mean_spread);
                ((f64::from(min) - widen) as f32, (f64::from(max) + widen) as f32)
            })
            .unzip();
        let nibbles = nibbles(&lo, &hi);
        let mut step = Vec::with_capacity(dimension);
        for (&min, &max) in lo.iter().zip(&hi) {
            // A dimension constant everywhere codes exactly with any step.
            let s = if max > min { ((f64::from(max) - f64::from(min)) / levels(nibbles)) as f32 } else { 1.0 };
            if !(min.is_finite() && max.is_finite() && (s * s).is_normal()) {
                return None;
            }
            step.push(s);
        }
        let weights = step.iter().map(|s| s * s).collect();
        let stride = if nibbles { distance::nibble_code_len(dimension) } else { dimension };
        let mut codes =
            Codes { nibbles, stride, lo, hi, step, weights, codes: buffer, error: 0.0, outliers: Vec::new() };
        codes.encode_from(source, 0);
        Some(codes)
    }

    /// Codes the slots of `source` added since the last call (`source` holds the coded slots first,
    /// unchanged). Refits over all slots when a new value falls beyond the clamping band; `None` when
    /// that fit fails.
    pub fn extend(mut self, source: Source<'_>) -> Option<Codes> {
        let coded = self.codes.len() / self.stride;
        // An empty range (min > max: no new slots) fits.
        let fits = source.ranges(coded).iter().zip(self.lo.iter().zip(&self.hi)).all(|(&(min, max), (&lo, &hi))| {
            let band = (hi - lo) * CLAMP;
            min > max || (min >= lo - band && max <= hi + band)
        });
        if !fits {
            let nibbles = self.nibbles;
            return Codes::fit_into(source, std::mem::take(&mut self.codes), |_, _| nibbles);
        }
        self.encode_from(source, coded);
        Some(self)
    }

    /// Codes slots `from..` of `source` (on the rayon pool) after the coded ones.
    fn encode_from(&mut self, source: Source<'_>, from: usize) {
        let (stride, nibbles) = (self.stride, self.nibbles);
        let top = levels(nibbles) as f32;
        let start = from * stride;
        grow_for(&mut self.codes, (source.slots() - from) * stride);
        // New bytes are zero, which 4-bit coding relies on (it ORs each value into its byte).
        self.codes.resize(source.slots() * stride, 0);
        let (lo, step) = (&self.lo, &self.step);
        // A multiplication instead of a division per value; either rounds to a nearest code.
        let inverse: Vec<f32> = step.iter().map(|s| 1.0 / s).collect();
        // Per chunk: the largest squared error of its slots without clamped values, and the clamped slots.
        let chunks: Vec<(f64, Vec<u32>)> = self.codes[start..]
            .par_chunks_mut(CHUNK_SLOTS * stride)
            .enumerate()
            .map(|(chunk, out)| {
                let first = from + chunk * CHUNK_SLOTS;
                let (mut worst, mut clamped) = (0.0f64, Vec::new());
                for (slot, out) in (first..).zip(out.chunks_exact_mut(stride)) {
                    let (mut squared, mut outlier) = (0.0f64, false);
                    for (j, x) in source.values(slot).enumerate() {
                        // Code units; the nearest code is outside 0..=top (or v is NaN) exactly when v is
                        // outside (-0.5, top + 0.5). Rounding half up by adding 0.5 and truncating (v ≥ 0
                        // after the clamp) needs no call into libm.
                        let v = (x - lo[j]) * inverse[j];
                        outlier |= !(v > -0.5 && v < top + 0.5);
                        let c = (v.clamp(0.0, top) + 0.5) as u8;
                        if nibbles {
                            distance::set_nibble(out, j, c);
                        } else {
                            out[j] = c;
                        }
                        let decoded = f64::from(lo[j]) + f64::from(step[j]) * f64::from(c);
                        squared += (f64::from(x) - decoded).powi(2);
                    }
                    if outlier {
                        clamped.push(slot as u32);
                    } else {
                        worst = worst.max(squared);
                    }
                }
                (worst, clamped)
            })
            .collect();
        self.outliers.resize(source.slots().div_ceil(64), 0);
        for (worst, clamped) in chunks {
            // Rounded up: f64 to f32 may round down.
            self.error = self.error.max((worst.sqrt() * (1.0 + 1e-6)) as f32);
            for slot in clamped {
                set(&mut self.outliers, slot as usize);
            }
        }
    }

    /// Renumbers the coded slots: slot `new` takes the code of slot `order[new]`.
    pub fn reorder(&mut self, order: &[u32]) {
        permute_rows(&mut self.codes, self.stride, order);
        let old = std::mem::take(&mut self.outliers);
        self.outliers = vec![0; old.len()];
        for (new, &from) in order.iter().enumerate() {
            if is_set(&old, from as usize) {
                set(&mut self.outliers, new);
            }
        }
    }

    /// See [`distance::collapse_into_huge_pages`].
    pub fn collapse_into_huge_pages(&self) {
        distance::collapse_into_huge_pages(&self.codes);
    }

    /// The bytes of a slot's code (see the invariants for their layout).
    pub fn code(&self, slot: u32) -> &[u8] {
        &self.codes[slot as usize * self.stride..][..self.stride]
    }

    /// Value `j` of a slot's code.
    #[cfg(test)]
    fn value(&self, slot: u32, j: usize) -> u8 {
        if self.nibbles {
            distance::nibble(self.code(slot), j)
        } else {
            self.code(slot)[j]
        }
    }

    /// Prepares a query (already normalised for cosine) for [`Codes::distance`].
    pub fn prepare(&self, l2: bool, query: &[f32]) -> CodeQuery {
        if l2 {
            CodeQuery::L2(query.iter().zip(&self.lo).zip(&self.step).map(|((x, lo), s)| (x - lo) / s).collect())
        } else {
            let scaled = query.iter().zip(&self.step).map(|(x, s)| x * s).collect();
            CodeQuery::Dot { scaled, offset: distance::dot(query, &self.lo) }
        }
    }

    /// Whether the codes cover slots `0..slots`.
    pub fn covers(&self, slots: usize) -> bool {
        self.codes.len() >= slots * self.stride
    }

    /// Lower bounds on exact distances from code distances, for squared L2 (`l2`) or for cosine with a
    /// unit-length query. See [`Screen::lower_bound`].
    pub fn screen(&self, l2: bool) -> Screen<'_> {
        // 10⁻⁴ of a code step in every dimension: the rounding of the query's conversion to code units.
        let rounding = 1e-4 * self.weights.iter().sum::<f32>().sqrt();
        Screen { l2, margin: self.error * 1.001 + rounding, outliers: &self.outliers }
    }

    /// The space's distance from a prepared query to a slot's decoded vector: squared L2, or `1 − dot`.
    #[inline]
    pub fn distance(&self, query: &CodeQuery, slot: u32) -> f32 {
        let code = self.code(slot);
        match (query, self.nibbles) {
            (CodeQuery::L2(scaled), false) => distance::code_l2(scaled, &self.weights, code),
            (CodeQuery::L2(scaled), true) => distance::nibble_code_l2(scaled, &self.weights, code),
            (CodeQuery::Dot { scaled, offset }, false) => 1.0 - (offset + distance::code_dot(scaled, code)),
            (CodeQuery::Dot { scaled, offset }, true) => 1.0 - (offset + distance::nibble_code_dot(scaled, code)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(vectors: &[f32], dimension: usize) -> Source<'_> {
        Source { dimension, vectors, scales: None }
    }

    /// Codes of either width, whatever the dimension.
    fn fit(vectors: &[f32], dimension: usize, nibbles: bool) -> Option<Codes> {
        Codes::fit_into(source(vectors, dimension), Vec::new(), |_, _| nibbles)
    }

    fn decoded(codes: &Codes, slot: u32) -> Vec<f32> {
        (0..codes.lo.len()).map(|j| codes.lo[j] + codes.step[j] * f32::from(codes.value(slot, j))).collect()
    }

    #[test]
    fn four_bits_only_where_rounding_is_small_against_near_distances() {
        // Ranges 15 wide: 4-bit steps of 1, rounding error 1/√12 per value, 2σ ≈ 0.577; the limit of
        // 1.2 % is crossed at d ≈ 48.
        let (lo, hi) = (vec![0.0f32; 16], vec![15.0f32; 16]);
        assert!(wants_nibbles(&lo, &hi, &[60.0]));
        assert!(!wants_nibbles(&lo, &hi, &[40.0]));
        assert!(wants_nibbles(&lo, &hi, &[1.0, 60.0, 70.0]), "the median decides");
        assert!(!wants_nibbles(&lo, &hi, &[]), "no sample: 8 bits");
        assert!(!wants_nibbles(&lo, &hi, &[0.0]) && !wants_nibbles(&lo, &hi, &[f32::NAN]));
        // Through `fit` and `suits`: the same vectors, far or near neighbours.
        let vectors: Vec<f32> = (0..64 * 16).map(|i| (i % 7) as f32).collect();
        let far = Codes::fit(source(&vectors, 16), &[1e4]).expect("codes");
        let near = Codes::fit(source(&vectors, 16), &[1e-2]).expect("codes");
        assert!(far.nibbles() && !near.nibbles());
        assert_eq!((far.code(0).len(), near.code(0).len()), (distance::nibble_code_len(16), 16));
        assert!(far.suits(&[1e4]) && !far.suits(&[1e-2]) && near.suits(&[1e-2]));
    }

    #[test]
    fn decoded_values_are_within_half_a_step() {
        for nibbles in [false, true] {
            let vectors: Vec<f32> = (0..400).map(|i| ((i * 37) % 101) as f32 * 0.173 - 5.0).collect();
            let codes = fit(&vectors, 4, nibbles).expect("codes");
            for slot in 0..100u32 {
                for (j, (x, d)) in vectors[slot as usize * 4..][..4].iter().zip(decoded(&codes, slot)).enumerate() {
                    assert!((x - d).abs() <= codes.step[j] * 0.5001, "slot {slot} dim {j}: {x} vs {d}");
                }
            }
        }
    }

    #[test]
    fn distances_match_the_decoded_vectors() {
        for nibbles in [false, true] {
            let vectors: Vec<f32> = (0..3 * 37).map(|i| ((i * 53) % 97) as f32 / 9.0 - 4.0).collect();
            let codes = fit(&vectors, 37, nibbles).expect("codes");
            let query: Vec<f32> = (0..37).map(|i| (i as f32).sin()).collect();
            for slot in 0..3u32 {
                let d = decoded(&codes, slot);
                let l2: f32 = query.iter().zip(&d).map(|(a, b)| (a - b) * (a - b)).sum();
                let ip: f32 = 1.0 - query.iter().zip(&d).map(|(a, b)| a * b).sum::<f32>();
                let got_l2 = codes.distance(&codes.prepare(true, &query), slot);
                let got_ip = codes.distance(&codes.prepare(false, &query), slot);
                assert!((got_l2 - l2).abs() <= 1e-3 * l2.abs().max(1.0), "l2 {got_l2} vs {l2}");
                assert!((got_ip - ip).abs() <= 1e-3 * ip.abs().max(1.0), "ip {got_ip} vs {ip}");
            }
        }
    }

    /// Vectors whose extremes grow as they are added (so later batches are clamped, or refit), with
    /// several dimensions of very different spreads.
    fn growing(n: usize, dimension: usize, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n * dimension)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state % 20_000) as f32 / 10_000.0 - 1.0;
                let spread = 1.0 + (i % dimension) as f32 * 0.37;
                unit * spread * (1.0 + 0.2 * (i / dimension) as f32 / n as f32)
            })
            .collect()
    }

    #[test]
    fn the_error_bounds_every_decoding_and_screens_bound_exact_distances() {
        for nibbles in [false, true] {
            let (dimension, n) = (19, 600);
            let vectors = growing(n, dimension, 3);
            // Coded in batches, so some values are clamped into their range's ends.
            let mut codes = fit(&vectors[..100 * dimension], dimension, nibbles).expect("codes");
            for end in (200..=n).step_by(100) {
                codes = codes.extend(source(&vectors[..end * dimension], dimension)).expect("codes");
            }
            let clamped = (0..n as u32).any(|s| {
                (0..dimension).any(|j| codes.value(s, j) == 0 || f64::from(codes.value(s, j)) == levels(nibbles))
            });
            assert!(clamped, "some values sit at the ends of their ranges");
            let mut worst = 0.0f32;
            let mut outliers = 0;
            for slot in 0..n as u32 {
                let x = &vectors[slot as usize * dimension..][..dimension];
                let e: f32 = x.iter().zip(decoded(&codes, slot)).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt();
                let outlier = is_set(&codes.outliers, slot as usize);
                let clamped = x
                    .iter()
                    .enumerate()
                    .any(|(j, &v)| v < codes.lo[j] - codes.step[j] || v > codes.hi[j] + codes.step[j]);
                assert!(outlier || !clamped, "slot {slot} is clamped");
                if outlier {
                    outliers += 1;
                } else {
                    assert!(e <= codes.error, "slot {slot}: {e} > {}", codes.error);
                    worst = worst.max(e);
                }
            }
            assert!(outliers > 0, "some slots were clamped");
            // Renumbering moves the outlier marks with the codes.
            let order: Vec<u32> = (0..n as u32).map(|i| (i * 7 + 3) % n as u32).collect();
            let mut moved = codes.clone();
            moved.reorder(&order);
            for (new, &old) in order.iter().enumerate() {
                assert_eq!(moved.code(new as u32), codes.code(old));
                assert_eq!(
                    is_set(&moved.outliers, new),
                    is_set(&codes.outliers, old as usize),
                    "slot {new} (was {old})"
                );
            }
            assert!(
                codes.error <= worst * 1.001 + 1e-6,
                "the bound is the worst error, not more: {} vs {worst}",
                codes.error
            );
            let queries = growing(40, dimension, 11);
            // How close "close" is: 4-bit steps are 17 times as coarse, and so is the error bound.
            let (l2_close, cosine_close) = if nibbles { (0.5, 0.3) } else { (0.9, 0.05) };
            let (l2, mut tight) = (codes.screen(true), 0);
            for q in queries.chunks(dimension) {
                let prepared = codes.prepare(true, q);
                for slot in 0..n as u32 {
                    let exact = distance::l2_squared(q, &vectors[slot as usize * dimension..][..dimension]);
                    let bound = l2.lower_bound(slot, codes.distance(&prepared, slot));
                    assert!(bound <= exact, "l2 slot {slot}: bound {bound} > {exact}");
                    tight += usize::from(bound >= exact * l2_close);
                }
            }
            assert!(tight * 2 > 40 * n, "the bound is close for most pairs ({tight} of {})", 40 * n);
            // Cosine: unit vectors, coded as such.
            let normalized = |v: &[f32]| {
                let mut v = v.to_vec();
                distance::normalize(&mut v);
                v
            };
            let unit: Vec<f32> = vectors.chunks(dimension).flat_map(normalized).collect();
            let codes = fit(&unit, dimension, nibbles).expect("codes");
            let (cosine, mut tight) = (codes.screen(false), 0);
            for q in queries.chunks(dimension) {
                let q = normalized(q);
                let prepared = codes.prepare(false, &q);
                for slot in 0..n as u32 {
                    let exact = 1.0 - distance::dot(&q, &unit[slot as usize * dimension..][..dimension]);
                    let bound = cosine.lower_bound(slot, codes.distance(&prepared, slot));
                    assert!(bound <= exact, "cosine slot {slot}: bound {bound} > {exact}");
                    tight += usize::from(bound >= exact - cosine_close);
                }
            }
            assert!(tight * 2 > 40 * n, "the bound is close for most pairs ({tight} of {})", 40 * n);
            assert_eq!(cosine.lower_bound(0, f32::NAN), f32::NEG_INFINITY);
            assert_eq!(l2.lower_bound(0, f32::NAN), f32::NEG_INFINITY);
        }
    }

    #[test]
    fn constant_dimensions_code_and_bad_ranges_give_no_codes() {
        for nibbles in [false, true] {
            // A constant dimension gets a range from the others' spread; all constant codes exactly.
            let codes = fit(&[3.0, 1.0, 3.0, 2.0], 2, nibbles).expect("codes");
            assert!((decoded(&codes, 0)[0] - 3.0).abs() <= codes.step[0] * 0.5001 && codes.hi[0] > 3.0);
            assert!((decoded(&codes, 1)[1] - 2.0).abs() <= codes.step[1] * 0.5001);
            let constant = fit(&[3.0, -1.0, 3.0, -1.0], 2, nibbles).expect("codes");
            assert_eq!((decoded(&constant, 1)[0], decoded(&constant, 1)[1]), (3.0, -1.0));
            assert!(fit(&[f32::NAN, 1.0], 2, nibbles).is_none());
            assert!(fit(&[-3e38, 0.0, 3e38, 0.0], 2, nibbles).is_none(), "step² overflows");
            assert!(fit(&[0.0, 0.0, 1e-30, 0.0], 2, nibbles).is_none(), "step² underflows");
            assert!(fit(&[], 2, nibbles).is_none());
        }
    }

    #[test]
    fn extending_outside_the_ranges_refits() {
        for nibbles in [false, true] {
            let mut vectors = vec![0.0, 0.0, 1.0, 1.0];
            let codes = fit(&vectors, 2, nibbles).expect("codes");
            vectors.extend([0.5, 0.5]);
            let (lo, hi) = (codes.lo.clone(), codes.hi.clone());
            let codes = codes.extend(source(&vectors, 2)).expect("inside");
            assert_eq!((codes.lo.clone(), codes.hi.clone()), (lo, hi), "no refit");
            assert_eq!(codes.codes.len(), 3 * codes.stride);
            vectors.extend([10.0, -2.0]);
            let codes = codes.extend(source(&vectors, 2)).expect("refit");
            assert!(
                codes.lo[0] < 0.0 && codes.lo[1] < -2.0 && codes.hi[0] > 10.0 && codes.hi[1] > 1.0,
                "refit with a margin"
            );
            assert_eq!(codes.codes.len(), 4 * codes.stride);
            let last = decoded(&codes, 3);
            assert!((last[0] - 10.0).abs() <= codes.step[0] && (last[1] + 2.0).abs() <= codes.step[1]);
            // Inside the margin: coded without another refit.
            let (lo, hi) = (codes.lo.clone(), codes.hi.clone());
            vectors.extend([10.5, -2.1]);
            let codes = codes.extend(source(&vectors, 2)).expect("inside the margin");
            assert_eq!((codes.lo.clone(), codes.hi.clone()), (lo.clone(), hi.clone()));
            // Beyond the range but inside the clamping band: clamped to the end of the range, no refit.
            let beyond = hi[0] + 0.3 * (hi[0] - lo[0]);
            vectors.extend([beyond, 0.0]);
            let codes = codes.extend(source(&vectors, 2)).expect("clamped");
            assert_eq!((codes.lo.clone(), codes.hi.clone()), (lo.clone(), hi.clone()));
            assert_eq!(f64::from(codes.value(5, 0)), levels(nibbles));
            // Far beyond it: a refit that covers the new value.
            vectors.extend([hi[0] + 2.0 * (hi[0] - lo[0]), 0.0]);
            let codes = codes.extend(source(&vectors, 2)).expect("refit");
            assert!(codes.hi[0] > vectors[12] && f64::from(codes.value(5, 0)) < levels(nibbles));
        }
    }
}
