#!/usr/bin/env bash
# Fuzzes casefile's parsers one target at a time (see fuzz/README.md).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 240 s, every target
#
# Builds every target once (`cargo fuzz build -s none`; set FUZZ_NO_BUILD=1 to reuse the
# binaries already in fuzz/target), seeds fuzz/corpus/<target>/ from the repository if it is
# missing (fuzz/seed.py), then runs the built binaries directly, exactly as `cargo fuzz run`
# would, so a source edit during a long session does not rebuild between targets. Each run
# is logged to fuzz/logs/<target>.log; one summary line per target is printed.
# A crash stops the run and leaves its input in fuzz/artifacts/<target>/. With FUZZ_FORK=1
# libFuzzer runs in fork mode and goes on after crashes, OOMs and timeouts, saving each one
# (use it on a target with a known, unfixed crash). Minimise a crash with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s none <target> fuzz/artifacts/<target>/crash-…
# FUZZ_RUNS=N stops a target after N executions (libFuzzer -runs) if that comes before the time.
# FUZZ_FAST=1 builds (into fuzz/target-fast) and runs without -sanitizer-coverage-trace-compares:
# about four times the executions per second (measured on the storage target: 10.7 k/s against
# 2.6 k/s), for volume once the compare-traced build has grown the corpus.
set -uo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1   # cargo-fuzz passes nightly-only flags; stable accepts them so
secs=${1:-240}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(csv_table la_json json_lines signins activity storage alerts risk recommendations_csv
             recommendations_xlsx case_toml controls_toml sanitize)
fi
[ -d corpus ] || python3 seed.py
mkdir -p logs
build=(-s none)
bin=target/x86_64-unknown-linux-gnu/release
if [ "${FUZZ_FAST:-0}" = 1 ]; then
    build+=(--no-trace-compares --target-dir target-fast)
    bin=target-fast/x86_64-unknown-linux-gnu/release
fi
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    nice -n 10 cargo fuzz build "${build[@]}" || exit 1
fi
for t in "${targets[@]}"; do
    case $t in
        case_toml|controls_toml) dict=(-dict=dict/toml.dict) ;;
        sanitize|recommendations_xlsx) dict=() ;;
        *) dict=(-dict=dict/evidence.dict) ;;
    esac
    mkdir -p "artifacts/$t" "corpus/$t"
    fork=()
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    [ "${FUZZ_FORK:-0}" = 1 ] && fork=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    started=$SECONDS
    nice -n 10 "$bin/$t" -artifact_prefix="artifacts/$t/" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${runs[@]}" "${fork[@]}" "${dict[@]}" "corpus/$t" > "logs/$t.log" 2>&1
    rc=$?
    wall=$(( SECONDS - started ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
    # fork mode prints no final stats: take the last status line (#execs: cov: … exec/s: …)
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*: cov' "logs/$t.log" | tail -1 | grep -o '[0-9]*')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "logs/$t.log" | tail -1)
    [ -n "$rate" ] || rate=$(grep -o 'exec/s: [0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*')
    crash=$(grep -o 'Test unit written to .*' "logs/$t.log" | tr '\n' ' ' || true)
    echo "$t: rc=$rc wall=${wall}s load=$(cut -d' ' -f1 /proc/loadavg) execs=${execs:-?} exec/s=${rate:-?} corpus=$(ls "corpus/$t" | wc -l) $cov ${crash}"
done
