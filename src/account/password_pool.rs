//! The threads that hash and verify passwords: one per core. argon2id is CPU-bound, so more
//! checks at once would only queue behind each other, and each of these threads keeps its own
//! 19 MiB of argon2 working memory between checks (see `domain::password`), so an instance
//! holds cores × 19 MiB for passwords however busy it gets. They also keep password checks from
//! crowding out the blocking pool that database work uses.

use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
}

impl PasswordPool {
    /// Starts `threads` threads (at least one); they end when the last handle is dropped.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("oneid-argon2-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, never while running it.
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        match next {
                            // A panicking job fails its caller (its reply is dropped), not
                            // the thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => break,
                        }
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    /// One per core the process may use.
    pub fn per_core() -> std::io::Result<Self> {
        Self::start(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Runs `work` on a pool thread and waits for its result without blocking the executor.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolGone> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // A caller that stopped waiting is fine: the result is dropped.
                let _ = reply.send(work());
            }))
            .map_err(|_| PoolGone)?;
        answer.await.map_err(|_| PoolGone)
    }
}

/// The job panicked, or the pool's threads are gone (the process is ending).
#[derive(Debug, thiserror::Error)]
#[error("the password threads are gone")]
pub struct PoolGone;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_on_its_own_threads_and_survives_a_panicking_job() {
        let pool = PasswordPool::start(2).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("oneid-argon2-"));
        assert!(pool.run(|| panic!("a bug in one job")).await.is_err());
        // Both threads still serve.
        for _ in 0..4 {
            assert_eq!(pool.run(|| 41 + 1).await.unwrap(), 42);
        }
    }
}
