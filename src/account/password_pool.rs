//! The threads that hash and verify passwords: one per core. argon2id is CPU-bound, so more
//! checks at once would only queue behind each other, and each of these threads keeps its own
//! 19 MiB of argon2 working memory between checks (see `domain::password`), so an instance
//! holds cores × 19 MiB for passwords however busy it gets. They also keep password checks from
//! crowding out the blocking pool that database work uses.
//!
//! The queue in front of them is bounded: a job that finds `queue` jobs already waiting is
//! refused at once ([`PoolError::Full`]), and the pages answer 503 with `Retry-After`. An
//! unbounded queue would let a burst of sign-ins hold every request (and its memory) for as long
//! as the backlog takes to drain, long after the people behind them gave up.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    time::Instant,
};

use crate::domain::{Password, PasswordHash, PasswordHasher};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
    /// Jobs handed in and not yet taken by a thread.
    waiting: Arc<AtomicUsize>,
    bound: usize,
    /// Password verifications run (see [`PasswordPool::verifications`]).
    verified: Arc<AtomicU64>,
}

impl PasswordPool {
    /// Starts `threads` threads (at least one) behind a queue of at most `queue` waiting jobs
    /// (at least one); the threads end when the last handle is dropped.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<Self> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let waiting = Arc::new(AtomicUsize::new(0));
        for n in 0..threads.max(1) {
            let (receiver, waiting) = (receiver.clone(), waiting.clone());
            std::thread::Builder::new()
                .name(format!("oneid-argon2-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, never while running it.
                        let next = receiver
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match next {
                            // A panicking job fails its caller (its reply is dropped), not
                            // the thread.
                            Ok(job) => {
                                waiting.fetch_sub(1, Ordering::AcqRel);
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => break,
                        }
                    }
                })?;
        }
        Ok(Self {
            jobs,
            waiting,
            bound: queue.max(1),
            verified: Arc::default(),
        })
    }

    /// `threads` threads, or one per core the process may use when it is 0.
    pub fn with_settings(threads: usize, queue: usize) -> std::io::Result<Self> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        Self::start(threads, queue)
    }

    /// Runs `work` on a pool thread and waits for its result without blocking the executor.
    /// Refused at once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        // Reserve a place in the queue before handing the job in, so concurrent callers can
        // never overfill it.
        let before = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.bound).then_some(n + 1)
            })
            .map_err(|_| {
                crate::telemetry::password_queue_rejected();
                PoolError::Full
            })?;
        crate::telemetry::password_queue_waiting(before + 1);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let (queued_at, waiting) = (Instant::now(), self.waiting.clone());
        let sent = self.jobs.send(Box::new(move || {
            crate::telemetry::password_job_started(
                queued_at.elapsed(),
                waiting.load(Ordering::Acquire),
            );
            // A caller that stopped waiting is fine: the result is dropped.
            let _ = reply.send(work());
        }));
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PoolError::Gone);
        }
        answer.await.map_err(|_| PoolError::Gone)
    }

    /// Jobs waiting for a thread now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// A counter that the sign-in code bumps once for every password it verifies (on these
    /// threads, just before argon2 runs), so tests and operators can see how many password
    /// checks a burst really caused.
    pub fn verifications(&self) -> u64 {
        self.verified.load(Ordering::Acquire)
    }

    /// What a job on these threads verifies passwords with: `hasher`, each check counted (see
    /// [`PasswordPool::verifications`]) and timed for the metrics.
    pub(super) fn verifier(&self, hasher: &PasswordHasher) -> Verifier {
        Verifier {
            hasher: hasher.clone(),
            verified: self.verified.clone(),
        }
    }
}

/// See [`PasswordPool::verifier`]; moved into a password job.
pub(super) struct Verifier {
    hasher: PasswordHasher,
    verified: Arc<AtomicU64>,
}

impl Verifier {
    /// [`PasswordHasher::verify`], counted and timed.
    pub(super) fn verify(&self, password: &Password, stored: Option<&PasswordHash>) -> bool {
        self.verified.fetch_add(1, Ordering::AcqRel);
        let started = Instant::now();
        let matched = self.hasher.verify(password, stored);
        crate::telemetry::password_check(matched, started.elapsed());
        matched
    }
}

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full: the instance is overloaded; try again in a moment.
    #[error("the password queue is full")]
    Full,
    /// The job panicked, or the pool's threads are gone (the process is ending).
    #[error("the password threads are gone")]
    Gone,
}

/// Test support (for this crate's tests and the integration suite): a pool of one thread and
/// a queue of one, filled, so that the next job is refused.
pub mod testing {
    use super::{PasswordPool, PoolError};

    /// The only thread held by a job that waits for [`Filled::release`], and the only queue
    /// place taken by `queued`.
    pub struct Filled<T> {
        release: std::sync::mpsc::Sender<()>,
        busy: tokio::task::JoinHandle<Result<(), PoolError>>,
        queued: tokio::task::JoinHandle<Result<T, PoolError>>,
    }

    /// Fills `pool` (started with one thread and a queue of one): returns once the thread is
    /// busy and `queued` waits for it.
    pub async fn fill<T: Send + 'static>(
        pool: &PasswordPool,
        queued: impl FnOnce() -> T + Send + 'static,
    ) -> Filled<T> {
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let busy = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    let _ = started_tx.send(());
                    let _ = gate.recv();
                })
                .await
            }
        });
        started.await.expect("the busy job started");
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(queued).await }
        });
        while pool.waiting() < 1 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        Filled {
            release,
            busy,
            queued,
        }
    }

    impl<T> Filled<T> {
        /// Lets the busy job end; returns what the queued job gave once it ran.
        pub async fn release(self) -> Result<T, PoolError> {
            self.release.send(()).expect("the busy job waits");
            self.busy.await.expect("the busy job did not panic")?;
            self.queued.await.expect("the queued job did not panic")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_on_its_own_threads_and_survives_a_panicking_job() {
        let pool = PasswordPool::start(2, 8).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("oneid-argon2-"));
        assert_eq!(
            pool.run(|| panic!("a bug in one job")).await,
            Err::<(), _>(PoolError::Gone)
        );
        // Both threads still serve.
        for _ in 0..4 {
            assert_eq!(pool.run(|| 41 + 1).await.unwrap(), 42);
        }
        assert_eq!(pool.waiting(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_serves_again_when_it_drains() {
        let pool = PasswordPool::start(1, 1).unwrap();
        // One job holds the only thread, one waits in the queue of one...
        let filled = testing::fill(&pool, || 7).await;
        // ...and the next is refused without waiting.
        assert_eq!(pool.run(|| 8).await, Err(PoolError::Full));
        assert_eq!(filled.release().await, Ok(7));
        assert_eq!(pool.run(|| 9).await, Ok(9));
    }
}
