#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: casefile_fuzz::init(), |data: &[u8]| {
    casefile_fuzz::check(|| casefile_fuzz::harness::recommendations_csv(data));
});
