//! Chaos mode: perturbing, within what WASI preview1 allows, the results a guest receives.
//!
//! A Wasm guest's nondeterminism comes only through host calls, so the host can make the
//! unlikely-but-legal answers likely: two clock readings that are equal, a read that returns one
//! byte, a directory listed in an order nobody sorted, `EAGAIN` on a non-blocking descriptor.
//! Bugs that assume the common answer then show up in a few runs instead of never. Each kind of
//! perturbation is a named [`Strategy`]; a run's [`ChaosConfig`] holds a seed and the set of
//! strategies active in it ([`ChaosConfig::from_seed`] picks the set from the seed, so that a
//! hunt over many seeds tries many combinations).
//!
//! Every decision comes from a small deterministic PRNG (SplitMix64, written here: eight lines,
//! no dependency, and its stream is fixed forever, which matters because a seed printed today
//! must pick the same strategies tomorrow). The results are what the guest receives, so a
//! recorder records them like any other host result and a replay needs nothing new.
//!
//! The contract each strategy keeps:
//! - clocks: the monotonic (and CPU-time) clocks never go backward; readings may repeat, jump
//!   forward, run slow or fast, or be rounded down to a coarse resolution, which
//!   `clock_res_get` then reports. Only the realtime clock steps backward.
//! - short reads return at least one byte when data is available (end of file stays 0), and
//!   consume only what they return; short writes write a prefix of at least one byte and say
//!   how much.
//! - `EINTR` only where a blocking call on a slow device may be interrupted: `fd_read` on
//!   stdin and `poll_oneoff` (not writes to stdout and stderr: see `chaos_refusal` in
//!   `funcs.rs`). `EAGAIN` only from `fd_read` and
//!   `fd_write` on a descriptor the guest made non-blocking (`FDFLAGS_NONBLOCK`): preview1
//!   promises such a descriptor nothing about readiness. Neither has any effect.
//! - `poll_oneoff` clock subscriptions fire late (a timeout is a minimum) or early in real time,
//!   but the guest's own clock is then moved forward so that, by every clock the guest can read,
//!   at least the requested time has passed.
//! - random bytes may be all zeros, all ones, or repeat the previous call's bytes: possible
//!   outputs of any random source, made likely.
//! - directory entries (`.` and `..` included) come in a shuffled order that stays the same for
//!   the directory throughout the run, so that cookies keep their meaning.
//!
//! Splitting `fd_readdir` results across calls is deliberately not a strategy: preview1 says a
//! buffer that is not filled means the end of the directory, and a full buffer is already cut
//! wherever the entries end, so a host has no freedom there.

use std::fmt;

/// One kind of perturbation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Strategy {
    /// A clock reading repeats the previous one.
    ClockEqual = 0,
    /// A clock jumps forward (1 ms up to 16 s) between readings.
    ClockJump = 1,
    /// The monotonic clock runs 16 times slower than real time.
    ClockSlow = 2,
    /// The monotonic clock runs 16 times faster than real time.
    ClockFast = 3,
    /// The realtime clock falls behind, stepping backward (up to 2 s) now and then.
    RealtimeBehind = 4,
    /// Clock readings are rounded down to 10 ms, and `clock_res_get` says so.
    ClockCoarse = 5,
    /// `fd_read` and `fd_pread` return fewer bytes than asked (at least one).
    ShortRead = 6,
    /// `fd_write` and `fd_pwrite` write fewer bytes than given (at least one).
    ShortWrite = 7,
    /// `EINTR` from reads of stdin and from `poll_oneoff`.
    Eintr = 8,
    /// `EAGAIN` from reads and writes on non-blocking descriptors.
    Eagain = 9,
    /// `poll_oneoff` timeouts fire early in real time (the guest's clocks catch up).
    PollEarly = 10,
    /// `poll_oneoff` timeouts fire late.
    PollLate = 11,
    /// `random_get` returns zeros.
    RandomZeros = 12,
    /// `random_get` returns all-ones bytes.
    RandomOnes = 13,
    /// `random_get` repeats the previous call's bytes.
    RandomRepeat = 14,
    /// Directory entries come in a shuffled (per directory, stable) order.
    DirOrder = 15,
}

impl Strategy {
    /// Every strategy, in the order of their discriminants.
    pub const ALL: [Strategy; 16] = [
        Strategy::ClockEqual,
        Strategy::ClockJump,
        Strategy::ClockSlow,
        Strategy::ClockFast,
        Strategy::RealtimeBehind,
        Strategy::ClockCoarse,
        Strategy::ShortRead,
        Strategy::ShortWrite,
        Strategy::Eintr,
        Strategy::Eagain,
        Strategy::PollEarly,
        Strategy::PollLate,
        Strategy::RandomZeros,
        Strategy::RandomOnes,
        Strategy::RandomRepeat,
        Strategy::DirOrder,
    ];

    /// The name used on the command line and in trace headers.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::ClockEqual => "clock-equal",
            Strategy::ClockJump => "clock-jump",
            Strategy::ClockSlow => "clock-slow",
            Strategy::ClockFast => "clock-fast",
            Strategy::RealtimeBehind => "realtime-behind",
            Strategy::ClockCoarse => "clock-coarse",
            Strategy::ShortRead => "short-read",
            Strategy::ShortWrite => "short-write",
            Strategy::Eintr => "eintr",
            Strategy::Eagain => "eagain",
            Strategy::PollEarly => "poll-early",
            Strategy::PollLate => "poll-late",
            Strategy::RandomZeros => "random-zeros",
            Strategy::RandomOnes => "random-ones",
            Strategy::RandomRepeat => "random-repeat",
            Strategy::DirOrder => "dir-order",
        }
    }

    /// What the guest experiences, as a clause ("fails when ...").
    pub fn description(self) -> &'static str {
        match self {
            Strategy::ClockEqual => "two clock readings are equal",
            Strategy::ClockJump => "a clock jumps forward",
            Strategy::ClockSlow => "the monotonic clock runs slow",
            Strategy::ClockFast => "the monotonic clock runs fast",
            Strategy::RealtimeBehind => "the realtime clock steps backward",
            Strategy::ClockCoarse => "clocks have a coarse (10 ms) resolution",
            Strategy::ShortRead => "a read returns fewer bytes than asked",
            Strategy::ShortWrite => "a write takes fewer bytes than given",
            Strategy::Eintr => "a call is interrupted (EINTR)",
            Strategy::Eagain => "a non-blocking descriptor is not ready (EAGAIN)",
            Strategy::PollEarly => "a poll timeout fires early in real time",
            Strategy::PollLate => "a poll timeout fires late",
            Strategy::RandomZeros => "random bytes are all zeros",
            Strategy::RandomOnes => "random bytes are all ones",
            Strategy::RandomRepeat => "random bytes repeat",
            Strategy::DirOrder => "directory entries come in an unsorted order",
        }
    }

    /// The strategy of this name.
    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    fn bit(self) -> u32 {
        1 << self as u8
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of strategies.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Strategies(u32);

impl Strategies {
    /// No strategy.
    pub const fn empty() -> Strategies {
        Strategies(0)
    }

    /// Every strategy that can be active together with every other: all but
    /// [`Strategy::ClockFast`], which excludes [`Strategy::ClockSlow`].
    pub fn all() -> Strategies {
        Strategy::ALL
            .into_iter()
            .filter(|s| *s != Strategy::ClockFast)
            .collect()
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Strategy) -> bool {
        self.0 & s.bit() != 0
    }

    /// Adds `s`.
    pub fn insert(&mut self, s: Strategy) {
        self.0 |= s.bit();
    }

    /// Removes `s`.
    pub fn remove(&mut self, s: Strategy) {
        self.0 &= !s.bit();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of strategies in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The strategies in the set, in the order of [`Strategy::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Strategy> {
        Strategy::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The names, in order.
    pub fn names(self) -> Vec<String> {
        self.iter().map(|s| s.name().to_string()).collect()
    }

    /// Parses a comma-separated list of names; `all` names [`Strategies::all`].
    ///
    /// # Errors
    /// An unknown name, or `clock-slow` together with `clock-fast`, with a message listing the
    /// known names.
    pub fn parse(list: &str) -> Result<Strategies, String> {
        let mut set = Strategies::empty();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "all" {
                set.0 |= Strategies::all().0;
                continue;
            }
            match Strategy::from_name(name) {
                Some(s) => set.insert(s),
                None => {
                    let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
                    return Err(format!(
                        "unknown chaos strategy `{name}` (known: all, {})",
                        known.join(", ")
                    ));
                }
            }
        }
        if set.contains(Strategy::ClockSlow) && set.contains(Strategy::ClockFast) {
            return Err("clock-slow and clock-fast exclude each other".into());
        }
        if set.is_empty() {
            return Err("no chaos strategy named".into());
        }
        Ok(set)
    }
}

impl FromIterator<Strategy> for Strategies {
    fn from_iter<I: IntoIterator<Item = Strategy>>(iter: I) -> Strategies {
        let mut set = Strategies::empty();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl fmt::Display for Strategies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

impl fmt::Debug for Strategies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Strategies({self})")
    }
}

/// SplitMix64 (Steele, Lea and Flood; the generator `java.util.SplittableRandom` uses): tiny,
/// fast, and a good enough stream for choosing perturbations.
#[derive(Clone, Debug)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: bias below 2^-64 * n, irrelevant here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `num / den`.
    pub(super) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// The seed of run `run` of a hunt that started from `base`: each run gets its own stream, and
/// a run's seed alone (as its trace header records it) reproduces its choice of strategies.
pub fn run_seed(base: u64, run: u64) -> u64 {
    Rng::new(base ^ run.wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
}

/// What chaos a run gets: its seed and its strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChaosConfig {
    /// Seeds every decision.
    pub seed: u64,
    /// The active strategies.
    pub strategies: Strategies,
}

impl ChaosConfig {
    /// A configuration whose strategies the seed picks: each strategy with probability one
    /// half, `clock-slow` and `clock-fast` never together, never none.
    pub fn from_seed(seed: u64) -> ChaosConfig {
        let mut rng = Rng::new(seed);
        let mut strategies = Strategies::empty();
        while strategies.is_empty() {
            for s in Strategy::ALL {
                if rng.chance(1, 2) {
                    strategies.insert(s);
                }
            }
            if strategies.contains(Strategy::ClockSlow) && strategies.contains(Strategy::ClockFast)
            {
                let drop = if rng.chance(1, 2) {
                    Strategy::ClockSlow
                } else {
                    Strategy::ClockFast
                };
                strategies.remove(drop);
            }
        }
        ChaosConfig { seed, strategies }
    }

    /// Shuffles a directory's entries, the same way for the same directory (`key`) throughout
    /// the run, so that `fd_readdir` cookies stay meaningful.
    pub(super) fn dir_order<E>(&self, key: u64, entries: &mut [E]) {
        if !self.strategies.contains(Strategy::DirOrder) {
            return;
        }
        let mut rng = Rng::new(self.seed ^ key.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for i in (1..entries.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            entries.swap(i, j);
        }
    }
}

const MS: u64 = 1_000_000;
/// The resolution `clock-coarse` rounds to.
const COARSE: u64 = 10 * MS;
/// The rate factor of `clock-slow` and `clock-fast`.
const RATE: u64 = 16;
/// How many bytes of the previous `random_get` `random-repeat` keeps.
const REPEAT_KEEP: usize = 256;

#[derive(Clone, Debug, Default)]
struct ClockState {
    /// The first real reading: slow and fast clocks scale the time elapsed since it.
    base: Option<u64>,
    /// Forward jumps and poll catch-ups so far (only grows).
    offset: u64,
    /// How far the realtime clock has fallen behind (realtime only).
    lag: u64,
    /// The last reading the guest received.
    last: Option<u64>,
}

/// A run's chaos state, kept in the [`WasiCtx`](super::WasiCtx).
#[derive(Clone, Debug)]
pub(super) struct Chaos {
    config: ChaosConfig,
    rng: Rng,
    /// Realtime, monotonic, process and thread CPU time (the WASI clock ids).
    clocks: [ClockState; 4],
    last_random: Vec<u8>,
}

impl Chaos {
    pub(super) fn new(config: ChaosConfig) -> Chaos {
        Chaos {
            config,
            // A stream apart from the one that picked the strategies.
            rng: Rng::new(config.seed ^ 0x6368_616f_735f_7275),
            clocks: Default::default(),
            last_random: Vec::new(),
        }
    }

    pub(super) fn config(&self) -> ChaosConfig {
        self.config
    }

    fn on(&self, s: Strategy) -> bool {
        self.config.strategies.contains(s)
    }

    /// The reading of clock `id` the guest would see now, given the real reading, without
    /// consuming randomness or updating state (for `poll_oneoff`).
    pub(super) fn peek_clock(&self, id: u32, real: u64) -> u64 {
        let Some(st) = self.clocks.get(id as usize) else {
            return real;
        };
        let v = self.shape(id, st, real);
        match st.last {
            Some(last) if id != 0 => v.max(last),
            _ => v,
        }
    }

    /// The deterministic part of a reading: rate, offset, lag, resolution.
    fn shape(&self, id: u32, st: &ClockState, real: u64) -> u64 {
        let mut v = if id == 0 {
            real.saturating_add(st.offset).saturating_sub(st.lag)
        } else {
            let base = st.base.unwrap_or(real);
            let elapsed = real.saturating_sub(base);
            let scaled = if self.on(Strategy::ClockSlow) {
                elapsed / RATE
            } else if self.on(Strategy::ClockFast) {
                elapsed.saturating_mul(RATE)
            } else {
                elapsed
            };
            base.saturating_add(scaled).saturating_add(st.offset)
        };
        if self.on(Strategy::ClockCoarse) {
            v -= v % COARSE;
        }
        v
    }

    /// The reading of clock `id` (0 realtime, 1 monotonic, 2 and 3 CPU time) to give the guest,
    /// given the real one.
    pub(super) fn clock(&mut self, id: u32, real: u64) -> u64 {
        if id as usize >= self.clocks.len() {
            return real;
        }
        let jump = self.on(Strategy::ClockJump) && self.rng.chance(1, 8);
        let jump_by = MS << self.rng.below(15);
        let behind = id == 0 && self.on(Strategy::RealtimeBehind) && self.rng.chance(1, 4);
        let behind_by = 1 + self.rng.below(2_000 * MS);
        let equal = self.on(Strategy::ClockEqual) && self.rng.chance(1, 3);
        let st = &mut self.clocks[id as usize];
        st.base.get_or_insert(real);
        if jump {
            st.offset = st.offset.saturating_add(jump_by);
        }
        if behind {
            st.lag = st.lag.saturating_add(behind_by);
        }
        let st = self.clocks[id as usize].clone();
        let mut v = self.shape(id, &st, real);
        if let Some(last) = st.last {
            if equal {
                v = last;
            } else if id != 0 {
                // Monotonic clocks never go backward, whatever the shaping did.
                v = v.max(last);
            }
        }
        self.clocks[id as usize].last = Some(v);
        v
    }

    /// The resolution `clock_res_get` reports for a clock whose real resolution is `real`.
    pub(super) fn resolution(&self, real: u64) -> u64 {
        if self.on(Strategy::ClockCoarse) {
            real.max(COARSE)
        } else {
            real
        }
    }

    /// Moves clock `id` forward, if needed, so that the guest sees at least `wait` ns between
    /// `before` (its reading when a poll began) and now. Keeps `poll_oneoff` honest whatever
    /// the rate or an early wake-up did.
    pub(super) fn catch_up(&mut self, id: u32, before: u64, wait: u64, real_now: u64) {
        if id as usize >= self.clocks.len() {
            return;
        }
        let now = self.peek_clock(id, real_now);
        let due = before.saturating_add(wait);
        if now < due {
            let st = &mut self.clocks[id as usize];
            // Coarse rounding may eat up to one resolution step: add it too.
            let slack = if self.config.strategies.contains(Strategy::ClockCoarse) {
                COARSE
            } else {
                0
            };
            st.offset = st.offset.saturating_add(due - now + slack);
        }
        // And no reading after the poll may repeat one from before it (`clock-equal`).
        let st = &mut self.clocks[id as usize];
        st.last = Some(st.last.map_or(due, |l| l.max(due)));
    }

    /// How long to really sleep for a poll timeout of `wait` ns.
    pub(super) fn poll_sleep(&mut self, wait: u64) -> u64 {
        let early = self.on(Strategy::PollEarly) && self.rng.chance(1, 2);
        let late = self.on(Strategy::PollLate) && self.rng.chance(1, 2);
        match (early, late) {
            (true, _) => self.rng.below(wait.saturating_add(1)),
            // Up to three times the timeout, but never more than 100 ms late (plus up to 5 ms
            // for timeouts of zero): a hunt should not wait on long sleeps.
            (false, true) => wait
                .saturating_add(self.rng.below(wait.min(50 * MS) * 2 + 1))
                .saturating_add(self.rng.below(5 * MS)),
            (false, false) => wait,
        }
    }

    /// How many of `requested` bytes a read may return (`requested` when unperturbed).
    pub(super) fn read_limit(&mut self, requested: usize) -> usize {
        self.short(Strategy::ShortRead, requested)
    }

    /// How many of `len` bytes a write takes.
    pub(super) fn write_limit(&mut self, len: usize) -> usize {
        self.short(Strategy::ShortWrite, len)
    }

    fn short(&mut self, s: Strategy, n: usize) -> usize {
        if n <= 1 || !self.on(s) || !self.rng.chance(1, 2) {
            return n;
        }
        if self.rng.chance(1, 3) {
            1
        } else {
            1 + self.rng.below(n as u64 - 1) as usize
        }
    }

    /// Whether a call that may be interrupted is.
    pub(super) fn interrupt(&mut self) -> bool {
        self.on(Strategy::Eintr) && self.rng.chance(1, 4)
    }

    /// Whether a read or write on a non-blocking descriptor finds it not ready.
    pub(super) fn would_block(&mut self) -> bool {
        self.on(Strategy::Eagain) && self.rng.chance(1, 3)
    }

    /// Replaces freshly drawn random bytes by an adversarial pattern, sometimes.
    pub(super) fn random(&mut self, bytes: &mut [u8]) {
        let patterns: Vec<Strategy> = [
            Strategy::RandomZeros,
            Strategy::RandomOnes,
            Strategy::RandomRepeat,
        ]
        .into_iter()
        .filter(|s| self.on(*s))
        .collect();
        if !patterns.is_empty() && !bytes.is_empty() && self.rng.chance(1, 2) {
            match patterns[self.rng.below(patterns.len() as u64) as usize] {
                Strategy::RandomZeros => bytes.fill(0),
                Strategy::RandomOnes => bytes.fill(0xff),
                _ if self.last_random.is_empty() => {
                    let b = bytes[0];
                    bytes.fill(b);
                }
                _ => {
                    for (b, r) in bytes.iter_mut().zip(self.last_random.iter().cycle()) {
                        *b = *r;
                    }
                }
            }
        }
        self.last_random.clear();
        self.last_random
            .extend_from_slice(&bytes[..bytes.len().min(REPEAT_KEEP)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chaos(list: &str, seed: u64) -> Chaos {
        Chaos::new(ChaosConfig {
            seed,
            strategies: Strategies::parse(list).unwrap(),
        })
    }

    #[test]
    fn names_round_trip_and_parse() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::from_name(s.name()), Some(s));
            assert!(!s.description().is_empty());
        }
        let set = Strategies::parse("short-read, clock-equal").unwrap();
        assert_eq!(set.to_string(), "clock-equal,short-read");
        assert_eq!(set.len(), 2);
        assert_eq!(Strategies::parse("all").unwrap(), Strategies::all());
        assert!(!Strategies::all().contains(Strategy::ClockFast));
        assert!(
            Strategies::parse("nope")
                .unwrap_err()
                .contains("known: all, clock-equal")
        );
        assert!(Strategies::parse("clock-slow,clock-fast").is_err());
        assert!(Strategies::parse("").is_err());
    }

    #[test]
    fn seeds_pick_varied_nonempty_sets_reproducibly() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let c = ChaosConfig::from_seed(seed);
            assert_eq!(c, ChaosConfig::from_seed(seed));
            assert!(!c.strategies.is_empty());
            assert!(
                !(c.strategies.contains(Strategy::ClockSlow)
                    && c.strategies.contains(Strategy::ClockFast))
            );
            seen.insert(c.strategies);
        }
        assert!(seen.len() > 150, "only {} distinct sets", seen.len());
        // Each strategy is active in roughly half the runs.
        for s in Strategy::ALL {
            let n = (0..400)
                .filter(|seed| ChaosConfig::from_seed(*seed).strategies.contains(s))
                .count();
            assert!((100..300).contains(&n), "{s} active in {n} of 400");
        }
        assert_ne!(run_seed(7, 1), run_seed(7, 2));
        assert_eq!(run_seed(7, 1), run_seed(7, 1));
    }

    #[test]
    fn monotonic_clock_never_goes_backward_and_repeats() {
        for list in [
            "clock-equal,clock-jump,clock-slow,clock-coarse",
            "clock-equal,clock-fast",
            "all",
        ] {
            let mut c = chaos(list, 3);
            let mut last = 0;
            let mut equal = 0;
            let mut real = 1_000_000_000_000u64;
            for i in 0..2000u64 {
                // Real time moves on irregularly, sometimes not at all.
                real += (i * 7919) % 3_000_000;
                let v = c.clock(1, real);
                assert!(v >= last, "{list}: {v} after {last}");
                equal += u32::from(v == last);
                last = v;
            }
            assert!(equal > 100, "{list}: {equal} equal readings");
        }
    }

    #[test]
    fn slow_and_fast_clocks_scale_elapsed_time() {
        let mut slow = chaos("clock-slow", 1);
        let mut fast = chaos("clock-fast", 1);
        let t0 = 5_000 * MS;
        assert_eq!(slow.clock(1, t0), t0);
        assert_eq!(fast.clock(1, t0), t0);
        assert_eq!(slow.clock(1, t0 + 160 * MS), t0 + 10 * MS);
        assert_eq!(fast.clock(1, t0 + 10 * MS), t0 + 160 * MS);
    }

    #[test]
    fn coarse_clock_rounds_and_reports_its_resolution() {
        let mut c = chaos("clock-coarse", 1);
        assert_eq!(c.clock(1, 123_456_789), 120 * MS);
        assert_eq!(c.clock(0, 1_999_999_999), 1_990 * MS);
        assert_eq!(c.resolution(1), COARSE);
        assert_eq!(chaos("clock-equal", 1).resolution(1), 1);
    }

    #[test]
    fn realtime_steps_backward_but_monotonic_does_not() {
        let mut c = chaos("realtime-behind", 9);
        let mut backward = 0;
        let (mut last_real, mut last_mono) = (0, 0);
        for i in 1..500u64 {
            let r = c.clock(0, 1_700_000_000 * 1_000 * MS + i * MS);
            let m = c.clock(1, i * MS);
            backward += u32::from(r < last_real);
            assert!(m >= last_mono);
            (last_real, last_mono) = (r, m);
        }
        assert!(backward > 10, "{backward}");
    }

    #[test]
    fn short_transfers_stay_between_one_and_the_request() {
        let mut c = chaos("short-read,short-write", 5);
        let mut short = 0;
        for n in 0..3000usize {
            let r = c.read_limit(n % 70);
            assert!(r <= n % 70 && (r >= 1 || n % 70 == 0));
            short += usize::from(r < n % 70);
            let w = c.write_limit(n % 70);
            assert!(w <= n % 70 && (w >= 1 || n % 70 == 0));
        }
        assert!(short > 500, "{short}");
        let mut off = chaos("clock-equal", 5);
        assert!((0..100).all(|n| off.read_limit(n) == n && off.write_limit(n) == n));
        assert!((0..100).all(|_| !off.interrupt() && !off.would_block()));
    }

    #[test]
    fn poll_catch_up_makes_the_timeout_visible_on_the_guest_clock() {
        let mut c = chaos("clock-slow,poll-early,clock-coarse", 2);
        let before = c.clock(1, 1_000 * MS);
        // The poll waited 50 ms of guest time but slept only 1 ms of real time.
        c.catch_up(1, before, 50 * MS, 1_001 * MS);
        assert!(c.clock(1, 1_001 * MS) >= before + 50 * MS);
        assert!(c.poll_sleep(0) == 0);
        let mut late = chaos("poll-late", 2);
        let sleeps: Vec<u64> = (0..100).map(|_| late.poll_sleep(10 * MS)).collect();
        assert!(
            sleeps.iter().all(|s| (10 * MS..=35 * MS).contains(s)),
            "{sleeps:?}"
        );
        assert!(sleeps.iter().any(|s| *s > 12 * MS));
        assert!((0..100).all(|_| late.poll_sleep(10_000 * MS) <= 10_105 * MS));
    }

    #[test]
    fn random_patterns() {
        let mut c = chaos("random-zeros,random-ones,random-repeat", 11);
        let (mut zeros, mut ones, mut repeats) = (0, 0, 0);
        let mut prev = [0u8; 16];
        for i in 0..300u64 {
            let mut b = [0u8; 16];
            Rng::new(i)
                .next_u64()
                .to_le_bytes()
                .iter()
                .enumerate()
                .for_each(|(k, x)| {
                    b[k] = *x;
                    b[k + 8] = x.wrapping_mul(3);
                });
            c.random(&mut b);
            zeros += u32::from(b == [0; 16]);
            ones += u32::from(b == [0xff; 16]);
            repeats += u32::from(b == prev && b != [0; 16] && b != [0xff; 16]);
            prev = b;
        }
        assert!(
            zeros > 20 && ones > 20 && repeats > 20,
            "{zeros} {ones} {repeats}"
        );
    }

    #[test]
    fn directory_order_is_shuffled_but_stable_per_directory() {
        let c = chaos("dir-order", 4).config();
        let sorted: Vec<u32> = (0..10).collect();
        let mut a = sorted.clone();
        c.dir_order(77, &mut a);
        assert_ne!(a, sorted);
        let mut b = sorted.clone();
        c.dir_order(77, &mut b);
        assert_eq!(a, b, "same directory, same order");
        let mut again = a.clone();
        again.sort();
        assert_eq!(again, sorted);
        let mut untouched = sorted.clone();
        chaos("short-read", 4)
            .config()
            .dir_order(77, &mut untouched);
        assert_eq!(untouched, sorted);
    }
}
