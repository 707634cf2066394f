//! How the kernels' parallel loops run: natively on rayon's threads, in wasm on the one thread
//! (no threads without cross-origin isolation; the package spreads photos over Workers instead).
//!
//! One image is ≈ 18 short parallel passes (the stem, one per block, the classifier: tens to
//! hundreds of µs each on two threads), each reading what the previous one wrote. Through rayon,
//! which thread takes which rows changes from loop to loop, so a layer often reads its input from
//! the other core's cache: on a 2-core Xeon a depthwise conv ran no faster on two threads than on
//! one, and a batch-1 image took 1.54× less time on two threads instead of ≈ 1.9×. So a single
//! image runs on a [`Team`] instead: as many threads as rayon's pool has join it for the whole
//! image (the calling thread and member threads of this module, which linger between teams),
//! wait between loops by spinning, and each takes the same fixed share of every loop — the same
//! fraction of the image's pixels in every pass, so what it reads next it mostly wrote itself
//! (the callers split their pixels to match). Which thread runs a task never changes what the
//! task computes, so the bits are those of one thread (tests/encoder_fixtures.rs and the tests
//! below).

#[cfg(not(target_family = "wasm"))]
use team::Team;

/// A pointer into the output of one parallel loop, shared by its tasks: each task writes only
/// its own region, which the caller computes from the task index.
#[derive(Clone, Copy)]
pub(super) struct SendPtr(pub(super) *mut f32);
// SAFETY: used only by the loops of this module's callers, whose tasks write disjoint regions.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
}

/// Threads the parallel loops may use: the running team's, else rayon's (natively).
pub(super) fn threads() -> usize {
    #[cfg(not(target_family = "wasm"))]
    return Team::current().map_or_else(rayon::current_num_threads, |t| t.size);
    #[cfg(target_family = "wasm")]
    1
}

/// The size of the team running on this thread, if one is (it gives each thread a fixed share
/// of a loop's tasks: see [`for_each_task`]).
pub(super) fn team_size() -> Option<usize> {
    #[cfg(not(target_family = "wasm"))]
    return Team::current().map(|t| t.size);
    #[cfg(target_family = "wasm")]
    None
}

/// Runs `f(0) … f(tasks − 1)`, natively in parallel — on the running team, thread `j` of `T`
/// taking tasks `j·n/T .. (j + 1)·n/T` (and, once done, any not yet started from the end of the
/// others'), else on rayon's threads — and in order in wasm.
pub(super) fn for_each_task(tasks: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(not(target_family = "wasm"))]
    {
        use rayon::prelude::*;
        match Team::current() {
            Some(team) => team.for_each(tasks, &f),
            // One thread: here, without handing the loop to the pool (from outside it, each
            // loop would wake its worker and block on it).
            None if rayon::current_num_threads() == 1 => (0..tasks).for_each(f),
            None => (0..tasks).into_par_iter().for_each(f),
        }
    }
    #[cfg(target_family = "wasm")]
    (0..tasks).for_each(f);
}

/// Runs `f` as the leader of a team as big as rayon's current pool (natively; in wasm, or with one
/// thread, or inside a team already, just `f()`).
pub(super) fn with_team<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(not(target_family = "wasm"))]
    return Team::run(rayon::current_num_threads(), f);
    #[cfg(target_family = "wasm")]
    f()
}

#[cfg(not(target_family = "wasm"))]
mod team {
    use std::cell::Cell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
    use std::sync::{Arc, Mutex};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    /// How long an idle member spins before it yields its core at each check (a loop's tasks
    /// arrive within microseconds of the previous loop's; yielding keeps an oversubscribed
    /// machine usable).
    const SPIN: Duration = Duration::from_micros(200);

    /// How long a member waits for its next team before it parks. Single images encoded one
    /// after another start their teams tens of µs apart, and waking a parked thread is slow on a
    /// VM: with rayon's sleeping workers as members, a member's first task began ≈ 50 µs after
    /// the leader's (≈ 1 % of an image on two threads).
    const LINGER: Duration = Duration::from_millis(2);

    /// A loop posted to the team: its entry point (a monomorphised trampoline) and the closure
    /// (its tasks are in the threads' [`Share`]s). Atomics, because a member may read a slot
    /// while the leader rewrites it for a later loop; it then fails to claim a task (the epoch
    /// moved on) and never calls it.
    #[derive(Default)]
    struct Slot {
        call: AtomicUsize,
        data: AtomicUsize,
    }

    /// Which tasks of a thread's share of the current loop are still to start: `front .. back`,
    /// tagged with the loop's epoch, packed in one word so that a claim is one compare-exchange
    /// and a thread still in an older loop can never claim a task of a newer one.
    #[derive(Clone, Copy)]
    struct Share {
        epoch: u16,
        front: u32,
        back: u32,
    }

    impl Share {
        fn pack(self) -> u64 {
            (self.epoch as u64) << 48 | (self.front as u64) << 24 | self.back as u64
        }

        fn unpack(word: u64) -> Self {
            Share { epoch: (word >> 48) as u16, front: (word >> 24) as u32 & 0xff_ffff, back: word as u32 & 0xff_ffff }
        }
    }

    /// A leader (the thread that called [`Team::run`]) and `size − 1` members.
    pub(super) struct Team {
        pub(super) size: usize,
        /// Loops posted so far.
        epoch: AtomicUsize,
        /// The loop of each epoch parity (a slot is rewritten two epochs later, after every task of
        /// its loop has finished).
        slots: [Slot; 2],
        /// Tasks of the current loop that have finished.
        done: AtomicUsize,
        /// Each thread's [`Share`] of the current loop, packed.
        shares: Vec<AtomicU64>,
        quit: AtomicBool,
        panicked: AtomicBool,
        /// Members posted the team, and those that have left it (after which they no longer
        /// touch it).
        joined: AtomicUsize,
        left: AtomicUsize,
    }

    /// Where a member thread is handed its next team.
    #[derive(Default)]
    struct Mailbox {
        /// Claimed by a leader, until the member has left that leader's team.
        busy: AtomicBool,
        /// The team to join, or null.
        team: AtomicPtr<Team>,
        /// The member's index in that team.
        me: AtomicUsize,
    }

    /// A thread that serves as a member of one team after another.
    struct Member {
        thread: Thread,
        mailbox: Arc<Mailbox>,
    }

    /// Every member thread started so far (as many as the most teams' members at once).
    static MEMBERS: Mutex<Vec<Member>> = Mutex::new(Vec::new());

    thread_local! {
        /// The team this thread leads, if any.
        static LEADING: Cell<*const Team> = const { Cell::new(std::ptr::null()) };
    }

    /// Calls the closure `data` points at with task `i`.
    ///
    /// # Safety
    /// `data` points at a live `F`.
    unsafe fn trampoline<F: Fn(usize) + Sync>(data: usize, i: usize) {
        unsafe { (*(data as *const F))(i) }
    }

    /// Sets `quit` (and clears the thread's team) however the leader leaves, then waits for the
    /// members to leave: the team lives on the leader's stack, and a leader that panics must not
    /// leave its members spinning.
    struct Leave<'a>(&'a Team);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            LEADING.set(std::ptr::null());
            self.0.quit.store(true, Release);
            let since = Instant::now();
            while self.0.left.load(Acquire) < self.0.joined.load(Relaxed) {
                pause(since);
            }
        }
    }

    /// Marks the team panicked if a member unwinds out of a task, so the leader stops waiting.
    struct Bail<'a>(&'a Team);
    impl Drop for Bail<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.panicked.store(true, Release);
            }
        }
    }

    impl Team {
        /// The team this thread leads.
        pub(super) fn current() -> Option<&'static Team> {
            // SAFETY: set only by `run` to a team that outlives the call to `f` it wraps, and
            // cleared (by `Leave`) before that team is dropped; only read on the same thread.
            unsafe { LEADING.get().as_ref() }
        }

        /// Runs `f` on this thread as the leader of a team of `size`: `size − 1` member threads
        /// of this module, idle ones or new ones (not rayon's, whose idle workers sleep: see
        /// [`LINGER`]).
        pub(super) fn run<R>(size: usize, f: impl FnOnce() -> R) -> R {
            if size <= 1 || Self::current().is_some() {
                return f();
            }
            let team = Team {
                size,
                epoch: AtomicUsize::new(0),
                slots: Default::default(),
                done: AtomicUsize::new(0),
                shares: (0..size).map(|_| AtomicU64::new(0)).collect(),
                quit: AtomicBool::new(false),
                panicked: AtomicBool::new(false),
                joined: AtomicUsize::new(0),
                left: AtomicUsize::new(0),
            };
            let _leave = Leave(&team);
            {
                let mut members = MEMBERS.lock().unwrap_or_else(|e| e.into_inner());
                let mut hired: Vec<(Thread, Arc<Mailbox>)> = Vec::with_capacity(size - 1);
                for m in members.iter() {
                    if hired.len() < size - 1 && m.mailbox.busy.compare_exchange(false, true, Acquire, Relaxed).is_ok()
                    {
                        hired.push((m.thread.clone(), m.mailbox.clone()));
                    }
                }
                while hired.len() < size - 1 {
                    let mailbox = Arc::new(Mailbox { busy: AtomicBool::new(true), ..Default::default() });
                    let serving = mailbox.clone();
                    let thread = std::thread::Builder::new()
                        .name(format!("legonet-team-{}", members.len() + 1))
                        .spawn(move || serve(&serving))
                        .expect("start a thread for the encoder's team")
                        .thread()
                        .clone();
                    members.push(Member { thread: thread.clone(), mailbox: mailbox.clone() });
                    hired.push((thread, mailbox));
                }
                for (me, (thread, mailbox)) in hired.into_iter().enumerate() {
                    mailbox.me.store(me + 1, Relaxed);
                    team.joined.fetch_add(1, Relaxed);
                    mailbox.team.store(&team as *const Team as *mut Team, Release);
                    thread.unpark();
                }
            }
            LEADING.set(&team);
            f()
        }

        /// `f(0) … f(tasks − 1)` over the team, each thread its own contiguous share; returns
        /// when all have finished.
        pub(super) fn for_each<F: Fn(usize) + Sync>(&self, tasks: usize, f: &F) {
            let epoch = self.epoch.load(Relaxed) + 1;
            let slot = &self.slots[epoch & 1];
            slot.call.store(trampoline::<F> as *const () as usize, Relaxed);
            slot.data.store(f as *const F as usize, Relaxed);
            assert!(tasks < 1 << 24, "tasks of a loop");
            for (j, share) in self.shares.iter().enumerate() {
                let (front, back) = ((j * tasks / self.size) as u32, ((j + 1) * tasks / self.size) as u32);
                share.store(Share { epoch: epoch as u16, front, back }.pack(), Relaxed);
            }
            self.done.store(0, Relaxed);
            // Publishes the slot and the reset count with the new epoch.
            self.epoch.store(epoch, Release);
            self.work(0, epoch);
            let since = Instant::now();
            while self.done.load(Acquire) < tasks {
                assert!(!self.panicked.load(Acquire), "a thread of the encoder's team panicked");
                pause(since);
            }
        }

        /// Runs thread `me`'s share of the loop of `epoch`, tasks `me·n/size .. (me + 1)·n/size`
        /// from the front, then steals the tasks not yet started from the back of the others'.
        /// The same share of every loop, so a thread reads the rows that it wrote itself in the
        /// previous layer from its own cache (with tasks handed out first-come, a depthwise conv
        /// ran no faster on two threads than on one: its input was in the other core's cache);
        /// stealing only at the end keeps that, while a thread that the VM slows down (by 5–25 %
        /// over a loop, on either core) no longer holds the others up by its whole lag.
        fn work(&self, me: usize, epoch: usize) {
            let slot = &self.slots[epoch & 1];
            let (call, data) = (slot.call.load(SeqCst), slot.data.load(SeqCst));
            // The slot is rewritten two epochs on, once every share of this loop has finished; if
            // the epoch has not moved, the values read above are this loop's.
            if self.epoch.load(SeqCst) != epoch {
                return;
            }
            let mut n = 0;
            let owners = (0..self.size).map(|k| (me + k) % self.size);
            for (owner, from_front) in owners.zip(std::iter::once(true).chain(std::iter::repeat(false))) {
                while let Some(i) = self.claim(owner, epoch, from_front) {
                    // SAFETY: a claimed task keeps its loop's leader waiting in `for_each` (so the
                    // closure alive and the slot unchanged) until it is counted done below; `call`
                    // is `trampoline::<F>` for that closure's `F`.
                    unsafe {
                        let call: unsafe fn(usize, usize) = std::mem::transmute(call as *const ());
                        call(data, i);
                    }
                    n += 1;
                }
            }
            if n > 0 {
                self.done.fetch_add(n, Release);
            }
        }

        /// Claims the next task of thread `owner`'s share of the loop of `epoch`, from the front
        /// (its owner) or the back (a thief); `None` once none is left to start.
        fn claim(&self, owner: usize, epoch: usize, from_front: bool) -> Option<usize> {
            let cell = &self.shares[owner];
            let mut word = cell.load(Acquire);
            loop {
                let share = Share::unpack(word);
                if share.epoch != epoch as u16 || share.front >= share.back {
                    return None;
                }
                let (task, rest) = match from_front {
                    true => (share.front, Share { front: share.front + 1, ..share }),
                    false => (share.back - 1, Share { back: share.back - 1, ..share }),
                };
                match cell.compare_exchange_weak(word, rest.pack(), AcqRel, Acquire) {
                    Ok(_) => return Some(task as usize),
                    Err(now) => word = now,
                }
            }
        }

        /// Member `me`: runs its share of each loop as it is posted, until the leader leaves.
        fn help(&self, me: usize) {
            let _bail = Bail(self);
            let mut seen = 0;
            let mut since = Instant::now();
            loop {
                let epoch = self.epoch.load(Acquire);
                if epoch != seen {
                    seen = epoch;
                    self.work(me, epoch);
                    since = Instant::now();
                } else if self.quit.load(Acquire) {
                    return;
                } else {
                    pause(since);
                }
            }
        }
    }

    /// A member thread: joins each team posted to its mailbox, lingering between teams, then
    /// parking.
    fn serve(mailbox: &Mailbox) {
        let mut since = Instant::now();
        loop {
            let team = mailbox.team.swap(std::ptr::null_mut(), Acquire);
            // SAFETY: a posted team stays alive until this member has counted itself out of it
            // (`Leave` waits for that), and the member does not touch it afterwards.
            if let Some(team) = unsafe { team.as_ref() } {
                // A panicking task has marked the team (`Bail`); the leader reports it.
                let _ = catch_unwind(AssertUnwindSafe(|| team.help(mailbox.me.load(Relaxed))));
                team.left.fetch_add(1, Release);
                mailbox.busy.store(false, Release);
                since = Instant::now();
            } else if since.elapsed() < LINGER {
                pause(since);
            } else {
                // Returns at once if the leader unparked it since the check above.
                std::thread::park();
            }
        }
    }

    /// One wait step: a spin hint at first, later a yield of the core.
    fn pause(since: Instant) {
        if since.elapsed() < SPIN {
            for _ in 0..16 {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(all(test, not(target_family = "wasm")))]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool")
    }

    /// Every task of every loop runs exactly once, loops one after another, on several threads.
    #[test]
    fn a_team_runs_every_task_of_every_loop_once() {
        for size in [1, 2, 3] {
            let counts: Vec<AtomicUsize> = (0..200).map(|_| AtomicUsize::new(0)).collect();
            let used = pool(size).install(|| {
                with_team(|| {
                    for round in 0..300 {
                        let tasks = 1 + round % 37;
                        for_each_task(tasks, |i| {
                            counts[i].fetch_add(1, Ordering::Relaxed);
                        });
                        // The loop has finished when for_each_task returns.
                        let total: usize = counts.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                        assert_eq!(total, (0..=round).map(|r| 1 + r % 37).sum::<usize>());
                    }
                    threads()
                })
            });
            assert_eq!(used, size);
        }
    }

    /// Teams led from several threads at once each get members of their own, and a member
    /// serves one team after another.
    #[test]
    fn teams_on_several_threads_at_once() {
        let pool = pool(3);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let counts: Vec<AtomicUsize> = (0..40).map(|_| AtomicUsize::new(0)).collect();
                        let size = pool.install(|| {
                            with_team(|| {
                                for tasks in [40, 7, 1, 40] {
                                    for_each_task(tasks, |i| {
                                        counts[i].fetch_add(1, Ordering::Relaxed);
                                    });
                                }
                                threads()
                            })
                        });
                        assert_eq!(size, 3);
                        let runs: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
                        assert!(
                            runs.iter().enumerate().all(|(i, &n)| n == 2 + usize::from(i < 7) + usize::from(i < 1))
                        );
                    }
                });
            }
        });
    }

    /// A thread done with its share takes the tasks the others have not started, from the back:
    /// here the member's tasks are slow, so the leader ends up running most of them.
    #[test]
    fn a_thread_done_early_takes_the_others_tasks_from_the_back() {
        let ran_on: Vec<Mutex<Option<std::thread::ThreadId>>> = (0..20).map(|_| Mutex::new(None)).collect();
        let leader = pool(2).install(|| {
            with_team(|| {
                // `install` runs this on one of the pool's threads, which leads the team.
                let leader = std::thread::current().id();
                for_each_task(20, |i| {
                    let me = std::thread::current().id();
                    if i >= 10 && me != leader {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    assert!(ran_on[i].lock().unwrap().replace(me).is_none(), "task {i} ran twice");
                });
                leader
            })
        });
        let by_leader: Vec<usize> = (0..20).filter(|&i| *ran_on[i].lock().unwrap() == Some(leader)).collect();
        assert!((0..10).all(|i| by_leader.contains(&i)), "the leader's own share: {by_leader:?}");
        // The member starts its share from the front; the leader steals from the back.
        assert!(by_leader.contains(&19) && by_leader.len() > 10, "stolen: {by_leader:?}");
    }

    /// A panic in a task reaches the caller instead of leaving the team waiting.
    #[test]
    fn a_panicking_task_panics_the_caller() {
        let got = std::panic::catch_unwind(|| {
            pool(2).install(|| with_team(|| for_each_task(64, |i| assert!(i != 40, "task 40"))))
        });
        assert!(got.is_err());
    }
}
