//! One TLS stack for every HTTP client tokbal makes: rustls with the ring provider.

use std::sync::Once;

/// Installs ring as the process's rustls provider unless the application installed one.
///
/// tokbal calls this before it builds an HTTP client; an application that builds its own
/// rustls clients beside tokbal's can call it too, and gets the same provider.
pub fn ensure_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is then in place.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}
