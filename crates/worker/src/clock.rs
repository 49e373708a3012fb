//! The worker's clock: `performance.now()` in milliseconds (wasm32 has no
//! `std::time::Instant`), from the worker's global scope (or the page's window).
//! Natively (tests) it falls back to `Instant`.

#[cfg(target_arch = "wasm32")]
thread_local! {
    static PERFORMANCE: Option<web_sys::Performance> = {
        use wasm_bindgen::JsCast;
        let global = js_sys::global();
        match global.dyn_into::<web_sys::WorkerGlobalScope>() {
            Ok(worker) => worker.performance(),
            Err(global) => global
                .dyn_into::<web_sys::Window>()
                .ok()
                .and_then(|w| w.performance()),
        }
    };
}

/// Milliseconds since the time origin of the worker (or page); 0 where there is no
/// `performance` (then node metrics read 0 ms).
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    PERFORMANCE.with(|p| p.as_ref().map_or(0.0, |p| p.now()))
}

/// Milliseconds since the first call (native builds, for tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}
