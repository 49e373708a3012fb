//! The one clock of node metrics: milliseconds from an arbitrary, monotonic origin.
//! Natively `std::time::Instant`; in wasm32 (which has no `Instant`) the JS global's
//! `performance.now()` (a worker's or a page's), read through js-sys. An executor may
//! be given another one ([`crate::executor::Executor::with_clock`], for tests).

/// Milliseconds since the first call.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}

#[cfg(target_arch = "wasm32")]
thread_local! {
    /// `performance` and its `now`, found once per thread; `None` where the global has none.
    static PERFORMANCE: Option<(js_sys::Object, js_sys::Function)> = {
        use wasm_bindgen::JsCast;
        let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
        let now = js_sys::Reflect::get(&performance, &"now".into()).ok()?;
        Some((performance.dyn_into().ok()?, now.dyn_into().ok()?))
    };
}

/// Milliseconds since the time origin of the worker or page (`performance.now()`), or
/// `Date.now()` where there is no `performance`.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    PERFORMANCE
        .with(|p| {
            p.as_ref()
                .and_then(|(performance, now)| now.call0(performance).ok()?.as_f64())
        })
        .unwrap_or_else(js_sys::Date::now)
}
