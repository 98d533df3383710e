//! The lane: one worker thread for record reads and writes (count, get, query, add, upsert, update,
//! delete) made one at a time, run on the CPU of the JS thread that made them.
//!
//! Why: a caller that awaits each result leaves its JS thread idle while the worker runs. On a virtual
//! machine, handing work to a thread on another, halted, vCPU and getting the answer back costs two
//! cross-CPU wake-ups of tens of microseconds each, more than a small search (measured in
//! `bench/RESULTS.md`). For the length of one call the lane thread and the calling JS thread are both
//! bound to the CPU the JS thread was on, so both hand-offs are local context switches; the JS thread's
//! own CPU mask comes back when the call's promise settles. The work still never runs on the JS thread.
//!
//! A call made while no other call of its JS thread is pending (awaited one at a time; see `task.rs`) also
//! hands the CPU straight to the lane (`sched_yield` after posting): the JS thread is then still runnable,
//! not asleep in the event loop, when the lane settles the promise, so Node's thread-safe function, which
//! signals the loop while holding its queue lock, wakes nobody who would preempt the lane and block on that
//! lock: two context switches per call instead of four. Calls made while others are pending do not yield,
//! so the JS thread goes on issuing them and those that find the lane busy spread over the pool.
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

    use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
    use nix::unistd::{gettid, Pid};

    type Work = Box<dyn FnOnce() + Send>;

    const UNPINNED: usize = usize::MAX;

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
    /// finished, and gives the JS thread its mask back on the JS thread with [`Claim::release`].
    pub struct Claim {
        pub lane: &'static Lane,
    }

    static LANE: OnceLock<Option<Lane>> = OnceLock::new();

    thread_local! {
        /// On a JS thread: its own CPU mask and how many claims made on it have not been released yet.
        /// A claim can start before the previous one's promise settled (the lane is free as soon as its
        /// work is done), so the mask is saved by the first claim and restored by the last release.
        static BOUND: Cell<Option<(CpuSet, usize)>> = const { Cell::new(None) };
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

        /// The lane, if it is idle and both threads could be bound to the calling thread's CPU.
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

        /// Binds the lane thread (if not already) and the calling thread to the caller's current CPU.
        fn bind_to_caller(&self) -> Option<()> {
            let cpu = sched_getcpu().ok()?;
            let mut only = CpuSet::new();
            only.set(cpu).ok()?;
            if self.cpu.load(Ordering::Relaxed) != cpu {
                sched_setaffinity(self.thread, &only).ok()?;
                self.cpu.store(cpu, Ordering::Relaxed);
            }
            let caller = Pid::from_raw(0);
            let bound = match BOUND.get() {
                Some((mask, claims)) => (mask, claims + 1),
                None => (sched_getaffinity(caller).ok()?, 1),
            };
            sched_setaffinity(caller, &only).ok()?;
            BOUND.set(Some(bound));
            Some(())
        }

        /// Runs `job` on the lane thread. Called once per claim, by its holder; with `hand_over`, the
        /// calling thread (bound to the lane's CPU) yields that CPU to the lane at once.
        pub fn send(&self, job: impl FnOnce() + Send + 'static, hand_over: bool) {
            *self.mailbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(job));
            // Only after the mailbox is released: the woken thread, on this CPU, must not find it locked.
            // (std's channel wakes its receiver under its own lock: two more context switches per call.)
            self.worker.unpark();
            if hand_over {
                std::thread::yield_now();
            }
        }

        /// Marks the lane idle. Called by the job when its work is done, before it settles its promise.
        pub fn done(&self) {
            self.busy.store(false, Ordering::Release);
        }
    }

    /// Gives the calling JS thread its own CPU mask back now, even with claims pending (their releases
    /// then restore the same mask again). For code about to start threads or processes, which would
    /// inherit the narrowed mask.
    pub fn unbind_caller() {
        if let Some((mask, _)) = BOUND.get() {
            let _ = sched_setaffinity(Pid::from_raw(0), &mask);
        }
    }

    impl Claim {
        /// Called on the JS thread that made the claim: gives it its own CPU mask back once no claim made
        /// on it is pending.
        pub fn release(self) {
            match BOUND.get() {
                Some((mask, 1)) => {
                    BOUND.set(None);
                    let _ = sched_setaffinity(Pid::from_raw(0), &mask);
                }
                Some((mask, claims)) => BOUND.set(Some((mask, claims - 1))),
                None => {}
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
        pub fn release(self) {}
    }

    pub fn unbind_caller() {}
}

pub use imp::{unbind_caller, Lane};
