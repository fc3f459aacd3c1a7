#!/bin/sh
# Test runner for `make check`: runs cmocka programs, fuzz targets (replay driver) and script
# tests given as "BIN... -- FUZZ... -- SCRIPT...", and ends with "check: N passed, N failed".
# Environment: BUILD (build folder), PYTHON (interpreter with numpy/torch).
pass=0; fail=0; failed=""; section=bin
for t in "$@"; do
    if [ "$t" = "--" ]; then
        if [ $section = bin ]; then section=fuzz; else section=script; fi
        continue
    fi
    case $section in
        bin)    printf '== %s\n' "$t"; "$t" ;;
        fuzz)   printf '== %s\n' "$t"; "$t" -runs=2000 "tests/fuzz/seeds/$(basename "$t")" ;;
        script) printf '== %s\n' "$t"; sh "$t" ;;
    esac
    rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass + 1)); elif [ $rc -eq 77 ]; then
        printf '%s\n' "-- skipped: $t"
    else fail=$((fail + 1)); failed="$failed $t"; fi
done
[ -n "$failed" ] && printf 'failed:%s\n' "$failed"
printf 'check: %d passed, %d failed\n' $pass $fail
[ $fail -eq 0 ]
