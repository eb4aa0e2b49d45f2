//! Signs `BENCH_PROOFS` (default 300 000) distinct DPoP proofs for `GET /protected` at
//! `BENCH_ADDR` with the key `mint` wrote, each bound to `data/dpop_token.txt` by `ath`, into
//! `data/dpop_proofs.txt` (one per line), plus one more in `data/dpop_sanity.txt` for the
//! run's sanity check. Run just before each server starts: proofs are dated now, and a DPoP
//! server accepts each exactly once.

use portcullis::Algorithm;
use portcullis::client::DpopKey;
use portcullis_bench::data_dir;

fn main() {
    let count: usize = std::env::var("BENCH_PROOFS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let dir = data_dir();
    let der = std::fs::read(dir.join("dpop_key.der")).expect("dpop_key.der (run mint first)");
    let key = DpopKey::from_pkcs8_der(&der, Algorithm::ES256).expect("DPoP key");
    let token = std::fs::read_to_string(dir.join("dpop_token.txt")).expect("dpop_token.txt");
    let url = format!("http://{}/protected", portcullis_bench::addr());
    let proof = || key.proof("GET", &url, Some(token.trim())).expect("proof");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let proof = &proof;
                s.spawn(move || {
                    let mut out = String::new();
                    for _ in (0..count).filter(|n| n % threads == t) {
                        out.push_str(&proof());
                        out.push('\n');
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sign"))
            .collect()
    });
    std::fs::write(dir.join("dpop_proofs.txt"), chunks.concat()).expect("write proofs");
    std::fs::write(dir.join("dpop_sanity.txt"), proof()).expect("write sanity proof");
}
