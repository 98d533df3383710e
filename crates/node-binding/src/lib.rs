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
