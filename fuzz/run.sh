#!/usr/bin/env bash
# Fuzzes casefile's parsers one target at a time (see fuzz/README.md).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     default: 240 s, every target
#
# Seeds fuzz/corpus/<target>/ from the repository first if it is missing (fuzz/seed.py),
# logs each run to fuzz/logs/<target>.log and prints one summary line per target.
# A crash leaves its input in fuzz/artifacts/<target>/; minimise it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin -s none <target> fuzz/artifacts/<target>/crash-…
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
nice -n 10 cargo fuzz build -s none || exit 1
for t in "${targets[@]}"; do
    case $t in
        case_toml|controls_toml) dict=(-dict=dict/toml.dict) ;;
        sanitize|recommendations_xlsx) dict=() ;;
        *) dict=(-dict=dict/evidence.dict) ;;
    esac
    nice -n 10 cargo fuzz run -s none "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${dict[@]}" > "logs/$t.log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "logs/$t.log" | tail -1)
    crash=$(grep -m1 -o 'Test unit written to .*' "logs/$t.log" || true)
    echo "$t: rc=$rc execs=${execs:-?} exec/s=${rate:-?} corpus=$(ls "corpus/$t" | wc -l) $cov ${crash}"
done
