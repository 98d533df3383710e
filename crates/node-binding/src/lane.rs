//! The lane: one worker thread for record reads and writes (count, get, query, add, upsert, update,
//! delete) made one at a time, run on the CPU of the JS thread that made them.
//!
//! Why: a caller that awaits each result leaves its JS thread idle while the worker runs. On a virtual
//! machine, handing work to a thread on another, halted, vCPU and getting the answer back costs two
//! cross-CPU wake-ups of tens of microseconds each, more than a small search (measured in
//! `bench/RESULTS.md`). So each call binds the lane thread to the CPU the calling JS thread is on (when it
//! is not already there), and both hand-offs are local context switches. The JS thread's own CPU mask is
//! never touched: threads and processes it starts inherit nothing from the lane. The work still never
//! runs on the JS thread.
//!
//! A call made while no other call of its JS thread is pending (awaited one at a time; see `task.rs`) also
//! hands the CPU straight to the lane (`sched_yield` after posting): the JS thread is then still runnable,
//! not asleep in the event loop, when the lane settles the promise, so Node's thread-safe function, which
//! signals the loop while holding its queue lock, wakes nobody who would preempt the lane and block on that
//! lock: two context switches per call instead of four. Calls made while others are pending do not yield,
//! so the JS thread goes on issuing them and those that find the lane busy spread over the pool.
//!
//! The hand-over assumes the lane and the JS thread have the CPU to themselves. When other processes'
//! threads are runnable on it, the JS thread, which gave its turn away, can wait for their time slices
//! (milliseconds) before it runs again: with three or four other busy processes on the 2-vCPU machine, an
//! awaited `count()` took 1.4–2.0 ms instead of 26–28 µs without the hand-over. So each JS thread keeps a
//! running average of how long after the lane finished a handed-over call it settled that call (normally
//! a context switch and a turn of the event loop, microseconds); past `CONTENDED` it stops handing over
//! for `BACK_OFF`, then tries again. One late settle (another process's slice now and then) does not
//! reach it; a few in a row do.
//!
//! Invariants: the lane runs at most one call at a time (`busy`); a caller that finds it busy uses the
//! libuv pool instead, so concurrent calls still spread over every core. The lane thread never exits:
//! each job catches its own panics (`task.rs`) and the loop catches anything else. Linux only; elsewhere
//! (or with `CHROMALITE_LANE=0`) every call goes to the libuv pool.

#[cfg(target_os = "linux")]
mod imp {
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc::channel;
    use std::sync::{Arc, Mutex, OnceLock};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    use nix::sched::{sched_getcpu, sched_setaffinity, CpuSet};
    use nix::unistd::{gettid, Pid};

    type Work = Box<dyn FnOnce() + Send>;

    const UNPINNED: usize = usize::MAX;

    /// The running average (see `average_wait`) of how long after the lane finished a handed-over call
    /// its JS thread settled it, past which the thread stops handing over. Normally a context switch and a
    /// turn of the event loop, microseconds; a time slice of someone else's is milliseconds.
    const CONTENDED: Duration = Duration::from_micros(500);
    /// How long a JS thread past `CONTENDED` does not hand its CPU over.
    const BACK_OFF: Duration = Duration::from_secs(1);

    /// Nanoseconds since the first call: the clock of the hand-over's bookkeeping.
    pub fn now() -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    /// The running average of waits: each new one weighs 1/8.
    pub(super) fn average_wait(average: u64, wait: u64) -> u64 {
        average - average / 8 + wait / 8
    }

    /// Whether an average wait means the CPU is contended.
    pub(super) fn contended(average: u64) -> bool {
        average > CONTENDED.as_nanos() as u64
    }

    pub struct Lane {
        /// The job posted for the lane thread and not yet taken. At most one: only the holder of the
        /// `busy` claim posts, once.
        mailbox: Arc<Mutex<Option<Work>>>,
        /// The lane thread, unparked when a job is posted.
        worker: Thread,
        thread: Pid,
        /// The CPU the lane thread is bound to, or UNPINNED.
        cpu: AtomicUsize,
        busy: AtomicBool,
    }

    /// A claimed lane: the caller sends exactly one job, which calls [`Lane::done`] when its work is
    /// finished, and settles it on the JS thread with [`Claim::release`].
    pub struct Claim {
        pub lane: &'static Lane,
    }

    static LANE: OnceLock<Option<Lane>> = OnceLock::new();

    thread_local! {
        /// On a JS thread: its average wait from the lane's finish to the settle of a handed-over call
        /// (`average_wait`), and until when (`now`) it does not hand its CPU over to the lane.
        static HAND_OVER: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        /// On a JS thread: whether its pending lane call was handed over (at most one is: see `task.rs`).
        static HANDED_OVER: Cell<bool> = const { Cell::new(false) };
    }

    impl Lane {
        fn start() -> Option<Lane> {
            if std::env::var("CHROMALITE_LANE").is_ok_and(|v| v == "0") {
                return None;
            }
            let mailbox = Arc::new(Mutex::new(None::<Work>));
            let inbox = mailbox.clone();
            let (thread_sender, thread) = channel();
            let worker = std::thread::Builder::new()
                .name("chromalite-lane".into())
                .spawn(move || {
                    let _ = thread_sender.send(gettid());
                    loop {
                        let work = inbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
                        match work {
                            Some(work) => {
                                let _ = catch_unwind(AssertUnwindSafe(work));
                            }
                            // `send` unparks after releasing the mailbox, and an unpark that comes before
                            // the park is kept as a token: no job waits unseen.
                            None => std::thread::park(),
                        }
                    }
                })
                .ok()?
                .thread()
                .clone();
            Some(Lane {
                mailbox,
                worker,
                thread: thread.recv().ok()?,
                cpu: AtomicUsize::new(UNPINNED),
                busy: AtomicBool::new(false),
            })
        }

        /// The lane, if it is idle and could be bound to the calling thread's CPU.
        /// Called on a JS thread.
        pub fn claim() -> Option<Claim> {
            let lane = LANE.get_or_init(Lane::start).as_ref()?;
            lane.busy.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).ok()?;
            if lane.bind_to_caller().is_none() {
                lane.done();
                return None;
            }
            Some(Claim { lane })
        }

        /// Binds the lane thread to the calling thread's current CPU, if it is not there already.
        fn bind_to_caller(&self) -> Option<()> {
            let cpu = sched_getcpu().ok()?;
            if self.cpu.load(Ordering::Relaxed) != cpu {
                let mut only = CpuSet::new();
                only.set(cpu).ok()?;
                sched_setaffinity(self.thread, &only).ok()?;
                self.cpu.store(cpu, Ordering::Relaxed);
            }
            Some(())
        }

        /// Runs `job` on the lane thread. Called once per claim, by its holder; with `hand_over`, the
        /// calling thread (on the lane's CPU) yields that CPU to the lane at once, unless it found
        /// the CPU contended lately.
        pub fn send(&self, job: impl FnOnce() + Send + 'static, hand_over: bool) {
            *self.mailbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(job));
            // Only after the mailbox is released: the woken thread, on this CPU, must not find it locked.
            // (std's channel wakes its receiver under its own lock: two more context switches per call.)
            self.worker.unpark();
            if hand_over && now() >= HAND_OVER.get().1 {
                HANDED_OVER.set(true);
                std::thread::yield_now();
            }
        }

        /// Marks the lane idle. Called by the job when its work is done, before it settles its promise.
        pub fn done(&self) {
            self.busy.store(false, Ordering::Release);
        }
    }

    impl Claim {
        /// Called on the JS thread that made the claim, when its call settles, with when the lane finished
        /// the call's work (`now`): counts the wait of a handed-over call.
        pub fn release(self, finished: u64) {
            if HANDED_OVER.replace(false) {
                let (average, _) = HAND_OVER.get();
                let settled = now();
                let average = average_wait(average, settled.saturating_sub(finished));
                let paused = if contended(average) { (0, settled + BACK_OFF.as_nanos() as u64) } else { (average, 0) };
                HAND_OVER.set(paused);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
#[allow(dead_code)]
mod imp {
    pub struct Lane;
    pub struct Claim {
        pub lane: &'static Lane,
    }

    impl Lane {
        pub fn claim() -> Option<Claim> {
            None
        }
        pub fn send(&self, _job: impl FnOnce() + Send + 'static, _hand_over: bool) {}
        pub fn done(&self) {}
    }

    impl Claim {
        pub fn release(self, _finished: u64) {}
    }

    pub fn now() -> u64 {
        0
    }
}

pub use imp::{now, Lane};

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::imp::{average_wait, contended};

    const US: u64 = 1_000;

    /// The average after `waits`, starting from none.
    fn after(waits: &[u64]) -> u64 {
        waits.iter().fold(0, |average, &wait| average_wait(average, wait))
    }

    #[test]
    fn quick_hand_backs_with_a_late_one_now_and_then_keep_the_hand_over() {
        let mut waits = vec![5 * US; 100];
        waits[50] = 3_000 * US;
        waits[80] = 3_000 * US;
        let mut average = 0;
        for wait in waits {
            average = average_wait(average, wait);
            assert!(!contended(average), "average {average} ns");
        }
    }

    #[test]
    fn late_returns_in_a_row_stop_the_hand_over() {
        // One time slice of another process's (3 ms) is not enough; two in a row are.
        assert!(!contended(after(&[3_000 * US])));
        assert!(contended(after(&[5 * US, 3_000 * US, 3_000 * US])));
        // Waits of 1.4 ms, as measured with four busy processes on two vCPUs: from the fourth.
        assert!(!contended(after(&[1_400 * US; 3])));
        assert!(contended(after(&[1_400 * US; 4])));
    }
}
