//! SRV ordering (RFC 2782): priority groups, weighted random within each.

use crate::lookup::Srv;

/// A small, fast pseudo-random generator (splitmix64). SRV selection spreads
/// load; it needs no cryptographic strength, only a seed that differs
/// between processes.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn seeded(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Seeded from the operating system; a fixed seed if that fails.
    pub(crate) fn from_entropy() -> Self {
        Rng::seeded(getrandom::u64().unwrap_or(0x5eed_5e1f_0dd5_a11e))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..=max`.
    fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(bound) => self.next_u64() % bound,
            None => self.next_u64(),
        }
    }
}

/// Whether an SRV answer says the service is decidedly not available: a
/// single record whose target is `.` (RFC 2782).
pub(crate) fn not_offered(records: &[Srv]) -> bool {
    matches!(records, [only] if is_root(&only.target))
}

/// Whether an SRV target is the root name (no host).
pub(crate) fn is_root(target: &str) -> bool {
    target.is_empty() || target == "."
}

/// The records in the order to try them: ascending priority and, within a
/// priority, the weighted random order of RFC 2782 §"Usage rules".
///
/// Within a priority group, weight-0 records are put first, then a number is
/// drawn in `0..=sum of weights` and the first record whose running sum
/// reaches it is taken next; repeat with the remaining records. A weight-0
/// record is thus picked only when the draw is 0: a small chance while others
/// have weight. When every remaining weight is 0 the draw is uniform.
/// Records with a root target are dropped.
pub(crate) fn order(records: &[Srv], rng: &mut Rng) -> Vec<Srv> {
    let mut sorted: Vec<&Srv> = records.iter().filter(|r| !is_root(&r.target)).collect();
    // Stable: within a priority, weight-0 records first, else as received.
    sorted.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(sorted.len());
    let mut rest = sorted.as_slice();
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .position(|r| r.priority != first.priority)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(len);
        weighted(group, rng, &mut out);
        rest = tail;
    }
    out
}

fn weighted(group: &[&Srv], rng: &mut Rng, out: &mut Vec<Srv>) {
    let mut left: Vec<&Srv> = group.to_vec();
    while !left.is_empty() {
        let sum: u64 = left.iter().map(|r| u64::from(r.weight)).sum();
        let index = if sum == 0 {
            // `left` is not empty, so the bound fits and the index is valid.
            usize::try_from(rng.up_to(left.len() as u64 - 1)).unwrap_or(0)
        } else {
            let draw = rng.up_to(sum);
            let mut running = 0u64;
            left.iter()
                .position(|r| {
                    running += u64::from(r.weight);
                    running >= draw
                })
                .unwrap_or(left.len() - 1)
        };
        out.push(left.remove(index).clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 5060,
            target: target.to_owned(),
        }
    }

    fn targets(records: &[Srv]) -> Vec<&str> {
        records.iter().map(|r| r.target.as_str()).collect()
    }

    #[test]
    fn priorities_ascend_whatever_the_weights() {
        let records = [
            srv(20, 100, "c"),
            srv(10, 1, "a"),
            srv(30, 0, "d"),
            srv(10, 1, "b"),
        ];
        let mut rng = Rng::seeded(7);
        for _ in 0..200 {
            let ordered = order(&records, &mut rng);
            let t = targets(&ordered);
            assert_eq!(t.len(), 4);
            assert!(t[..2].contains(&"a") && t[..2].contains(&"b"), "{t:?}");
            assert_eq!(&t[2..], ["c", "d"]);
        }
    }

    #[test]
    fn weights_share_first_place() {
        let records = [srv(1, 60, "a"), srv(1, 30, "b"), srv(1, 10, "c")];
        let mut rng = Rng::seeded(42);
        let mut firsts = [0u32; 3];
        const DRAWS: u32 = 10_000;
        for _ in 0..DRAWS {
            let ordered = order(&records, &mut rng);
            assert_eq!(ordered.len(), 3);
            let i = ["a", "b", "c"]
                .iter()
                .position(|t| *t == ordered[0].target)
                .expect("known target");
            firsts[i] += 1;
        }
        let share = |n: u32| f64::from(n) / f64::from(DRAWS);
        assert!((share(firsts[0]) - 0.60).abs() < 0.03, "{firsts:?}");
        assert!((share(firsts[1]) - 0.30).abs() < 0.03, "{firsts:?}");
        assert!((share(firsts[2]) - 0.10).abs() < 0.03, "{firsts:?}");
    }

    #[test]
    fn weight_zero_is_rarely_first_but_never_lost() {
        let records = [srv(1, 100, "heavy"), srv(1, 0, "zero")];
        let mut rng = Rng::seeded(3);
        let mut zero_first = 0;
        for _ in 0..10_000 {
            let ordered = order(&records, &mut rng);
            assert_eq!(ordered.len(), 2);
            if ordered[0].target == "zero" {
                zero_first += 1;
            }
        }
        // Chance 1/101 per draw: about 99 in 10 000.
        assert!((20..300).contains(&zero_first), "{zero_first}");
    }

    #[test]
    fn all_zero_weights_spread_uniformly() {
        let records = [srv(1, 0, "a"), srv(1, 0, "b")];
        let mut rng = Rng::seeded(9);
        let a_first = (0..10_000)
            .filter(|_| order(&records, &mut rng)[0].target == "a")
            .count();
        assert!((4_500..5_500).contains(&a_first), "{a_first}");
    }

    #[test]
    fn same_seed_same_order() {
        let records: Vec<Srv> = (0..8).map(|i| srv(1, 10, &format!("t{i}"))).collect();
        let a = order(&records, &mut Rng::seeded(5));
        let b = order(&records, &mut Rng::seeded(5));
        assert_eq!(a, b);
    }

    #[test]
    fn root_target() {
        assert!(not_offered(&[srv(0, 0, ".")]));
        assert!(!not_offered(&[srv(0, 0, "."), srv(1, 0, "a")]));
        assert!(!not_offered(&[]));
        assert_eq!(
            targets(&order(
                &[srv(0, 0, "."), srv(1, 0, "a")],
                &mut Rng::seeded(1)
            )),
            ["a"]
        );
    }
}
