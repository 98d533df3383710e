//! The napi-rs addon: converts types, schedules engine work off the JS thread, maps errors. No logic of
//! its own lives here.

mod engine;
mod lane;
mod task;

/// Version of the engine crate.
#[napi_derive::napi]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Gives the calling JS thread its own CPU mask back now, even while record calls on the lane are pending
/// (see lane.rs). The TS layer calls it before running an embedding function, which may start threads.
#[napi_derive::napi]
pub fn unbind_thread() {
    lane::unbind_caller();
}
