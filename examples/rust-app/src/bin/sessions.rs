//! The session worker: its wasm registers the RemoteMedia sessions when it starts.
fn main() {
    remotemedia_web::register_sessions();
}
