//! Runs engine work off the JS thread (the libuv thread pool, or the lane of `lane.rs` for record reads and
//! writes) and turns its outcome into a JS value or error.
//!
//! Every error reaching JavaScript has the message `[Code] text`, where Code is the engine's stable
//! `ErrorCode`; the TS layer (`js/src/errors.ts`) maps codes to Chroma's error classes. A panic in the
//! engine is caught here and becomes an `[Internal]` error: it never takes the process down.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{AsyncTask, Float32Array, ToNapiValue, TypeName, Unknown};
use napi::{Env, Error, JsValue, Status, Task};

use crate::lane::Lane;

/// A Rust value that becomes a JS value on the JS thread.
pub trait IntoJs: Send + 'static {
    type Js: ToNapiValue + TypeName;
    fn into_js(self, env: &Env) -> napi::Result<Self::Js>;
}

macro_rules! plain_into_js {
    ($($t:ty),*) => {$(
        impl IntoJs for $t {
            type Js = $t;
            fn into_js(self, _env: &Env) -> napi::Result<$t> { Ok(self) }
        }
    )*};
}
plain_into_js!(String, (), u32, f64);

/// Row-major floats that cross into JS as one Float32Array.
pub struct Floats(pub Vec<f32>);

impl IntoJs for Floats {
    type Js = Float32Array;
    fn into_js(self, _env: &Env) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.0))
    }
}

pub struct Job<T: IntoJs> {
    work: Option<Box<dyn FnOnce() -> engine::Result<T> + Send>>,
    /// Made by `schedule`: counted in `PENDING` until it settles.
    scheduled: bool,
}

thread_local! {
    /// On a JS thread: how many of its `schedule` calls have not settled yet. Incremented when a call is
    /// made and decremented when its promise settles, both on this thread.
    static PENDING: Cell<usize> = const { Cell::new(0) };
}

fn settled() {
    PENDING.set(PENDING.get().saturating_sub(1));
}

impl<T: IntoJs> Task for Job<T> {
    type Output = T;
    type JsValue = T::Js;

    fn compute(&mut self) -> napi::Result<T> {
        let work = self.work.take().ok_or_else(|| Error::new(Status::GenericFailure, "[Internal] task ran twice"))?;
        match catch_unwind(AssertUnwindSafe(work)) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(to_js_error(&err)),
            Err(panic) => Err(Error::new(Status::GenericFailure, format!("[Internal] panic: {}", panic_message(&panic)))),
        }
    }

    fn resolve(&mut self, env: Env, output: T) -> napi::Result<T::Js> {
        output.into_js(&env)
    }

    fn finally(self, _env: Env) -> napi::Result<()> {
        if self.scheduled {
            settled();
        }
        Ok(())
    }
}

/// Runs `work` off the JS thread and returns its Promise: on the lane (see `lane.rs`) when it is idle,
/// else on the libuv pool. For calls that are short and usually awaited one at a time: a call made while
/// none other of this thread's is pending hands its CPU to the lane at once.
pub fn schedule<'env, T: IntoJs>(
    env: &'env Env,
    work: impl FnOnce() -> engine::Result<T> + Send + 'static,
) -> napi::Result<Unknown<'env>> {
    let alone = PENDING.get() == 0;
    let mut job = Job { work: Some(Box::new(work)), scheduled: true };
    let Some(claim) = Lane::claim() else {
        let promise = env.spawn(job)?.promise_object().to_unknown();
        PENDING.set(PENDING.get() + 1);
        return Ok(promise);
    };
    let lane = claim.lane;
    let (deferred, promise) = match env.create_deferred() {
        Ok(created) => created,
        Err(err) => {
            lane.done();
            return Err(err);
        }
    };
    PENDING.set(PENDING.get() + 1);
    let job = move || {
        let outcome = job.compute();
        let finished = crate::lane::now();
        lane.done();
        // The resolver runs on the JS thread that made the call.
        deferred.resolve(move |env| {
            settled();
            claim.release(finished);
            outcome.and_then(|value| value.into_js(&env))
        });
    };
    lane.send(job, alone);
    Ok(promise.to_unknown())
}

/// Schedules `work` on a worker thread; the returned task resolves the JS Promise.
pub fn spawn<T: IntoJs>(work: impl FnOnce() -> engine::Result<T> + Send + 'static) -> AsyncTask<Job<T>> {
    AsyncTask::new(Job { work: Some(Box::new(work)), scheduled: false })
}

pub fn to_js_error(err: &engine::Error) -> Error {
    Error::new(Status::GenericFailure, format!("[{}] {}", err.code().as_str(), err))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
