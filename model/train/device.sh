#!/bin/sh
# device.sh: the GPU-machine side of a training run, one phase per device command; state lives
# in $W (default /root/work) on the machine's disk. Depends on python3 with torch 2.x there.
#   setup                 train the tokenizer (unless model/train/tokenizer.json exists), tokenize,
#                         measure the matrix rate and pick the faster masked output head
#   smoke STEPS           short run + export + evaluation on a slice (checks the whole chain)
#   start RUN BUDGET ARGS start a training run in the background (survives the command)
#   budget RUN SECONDS    change a running job's time budget
#   wait SECONDS RUN      sleep, then show the run's log (RUN sweep: also the candidate's now training)
#   finish RUN [PASSES]   wait for the run, export its final weights, compare its bits per byte with
#                         $REF (default model/default.gguf) on the same masks, copy results to $OUT
#   sweep SECONDS RUN:CONFIG:INIT[:ARGS] ... [-- ARGS]
#                         train the candidates one after another in the background, SECONDS of
#                         training each (compile not counted), the ARGS after -- for all, then
#                         the candidate's own (comma-separated, e.g. --lr=2e-4,--grow-noise=0.05;
#                         a later option wins); INIT is a GGUF file to start from (grown to CONFIG
#                         by shape; copied to $W/init at once) or - for fresh weights; each
#                         candidate's final weights are exported to $W/RUN.gguf
#   compare PASSES RUN ...
#                         wait for the sweep, compare $REF and the runs' exports on the same masks,
#                         copy the comparison and the runs' logs to $OUT (not the weights);
#                         $ROWS limits the rows per validation file; both comparisons also score $TRAIN_ROWS (default 64)
#                         rows spread over the training text (file "train": the gap to the
#                         validation files is what the model memorised)
set -e
W=${W:-/root/work}
T=model/train
export PYTHONUNBUFFERED=1
[ -d .gw ] && export PYTHONPATH=$PWD/.gw
CFG=${CFG:-default}
REF=${REF:-model/default.gguf}
TOK=${TOK:-$T/tokenizer.json}
[ -f $TOK ] || [ $TOK = bytes ] || TOK=$W/tokenizer.json
phase=$1
shift
case $phase in
setup)
    mkdir -p $W
    nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv || true
    python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())'
    if [ $TOK != bytes ] && [ ! -f $TOK ]; then
        python3 $T/train.py tokenizer --corpus .corpus --out $W/tokenizer.json
    fi
    [ -f $W/data/train.bin ] || python3 $T/train.py prepare --tokenizer $TOK --corpus .corpus --out $W/data \
        ${MAXB:+--max-bytes $MAXB}
    python3 $T/train.py bench --config $CFG --out $W/head
    ;;
smoke)
    rm -rf $W/smoke
    python3 $T/train.py train --config $CFG --data $W/data --work $W/smoke --steps $1 --log-every 25 \
        --eval-every-s 0 --ckpt-every-s 0 --quick-rows 8
    python3 $T/train.py export --config $CFG --ckpt $W/smoke/final.pt --weights model --tokenizer $TOK \
        --out $W/smoke.gguf
    python3 $T/train.py evaluate --config $CFG --gguf $W/smoke.gguf --data $W/data --rows 16 --samples 1 \
        --tokenizer $TOK
    ;;
start)
    run=$1
    budget=$2
    shift 2
    mkdir -p $W/$run
    head=$(cat $W/head 2>/dev/null || echo masked)
    setsid nohup python3 $T/train.py train --config $CFG --data $W/data --work $W/$run --budget-s $budget \
        --head $head "$@" \
        > $W/$run.log 2>&1 < /dev/null &
    sleep 5
    cat $W/$run.log
    ;;
budget)
    echo $2 > $W/$1/budget_s
    tail -n 5 $W/$1.log
    ;;
wait)
    sleep $1
    tail -n ${3:-25} $W/$2.log
    if [ "$2" = sweep ]; then # and the candidate training now
        now=$(ls -t $W/*.log | grep -v -e /sweep.log -e /sweep.eval.log | head -n 1)
        [ -z "$now" ] || tail -n 5 "$now"
    fi
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader || true
    ;;
finish)
    run=$1
    while kill -0 "$(cat $W/$run/pid)" 2>/dev/null; do sleep 2; done
    tail -n 12 $W/$run.log
    python3 $T/train.py export --config $CFG --ckpt $W/$run/final.pt --weights model --tokenizer $TOK \
        --out $W/$run.gguf ${NAME:+--name "$NAME"}
    sha256sum $W/$run.gguf
    python3 $T/train.py compare --gguf $REF --gguf $W/$run.gguf --data $W/data --passes ${2:-2} --seed 1 \
        --batch 32 --json $W/$run.eval.json --tokenizer $TOK --train-rows ${TRAIN_ROWS:-64} 2>&1 | tee $W/$run.eval.log
    mkdir -p $OUT
    split -b 15000000 -d $W/$run.gguf $OUT/$run.gguf.part
    cp $W/$run.log $W/$run/curve.json $W/$run.eval.json $W/$run.eval.log $OUT/ 2>/dev/null || true
    [ $TOK != $W/tokenizer.json ] || cp $TOK $OUT/tokenizer.json
    ls -la $OUT
    ;;
sweep)
    secs=$1
    shift
    cands=
    mkdir -p $W/init
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        IFS=: read -r run cfg init extra <<EOF
$1
EOF
        case $run in
        '' | *[!A-Za-z0-9_.-]*) init= ;; # a run name is a file name under $W
        esac
        [ -n "$cfg" ] && [ -n "$init" ] || { echo "sweep: candidate '$1' is not RUN:CONFIG:INIT[:ARGS]" >&2; exit 2; }
        if [ "$init" != - ]; then
            # the working tree may change under a background job: it reads a copy
            [ -f "$init" ] || { echo "sweep: no file $init" >&2; exit 2; }
            cp "$init" $W/init/
            init=$W/init/$(basename "$init")
        fi
        cands="$cands $run:$cfg:$init:$extra"
        shift
    done
    [ $# -gt 0 ] && shift
    [ -n "$cands" ] || { echo "sweep: no candidates" >&2; exit 2; }
    mkdir -p $W
    setsid nohup sh "$0" sweep-run "$secs" "$cands" "$@" > $W/sweep.log 2>&1 < /dev/null &
    echo $! > $W/sweep.pid
    sleep 5
    cat $W/sweep.log
    ;;
sweep-run)
    secs=$1
    cands=$2
    shift 2
    head=$(cat $W/head 2>/dev/null || echo masked)
    for c in $cands; do
        IFS=: read -r run cfg init extra <<EOF
$c
EOF
        echo "sweep: $run (config $cfg, from $init${extra:+, $extra}), $secs s, $(date -u +%T)"
        mkdir -p $W/$run
        from=
        [ "$init" = - ] || from="--init-gguf $init"
        # the candidate's own arguments: comma-separated, without spaces
        python3 $T/train.py train --config $cfg --data $W/data --work $W/$run --budget-s $secs --head $head \
            $from "$@" $(echo "$extra" | tr , ' ') > $W/$run.log 2>&1 < /dev/null || echo "sweep: $run failed"
        tail -n 4 $W/$run.log
        python3 $T/train.py export --config $cfg --ckpt $W/$run/final.pt --weights model --tokenizer $TOK \
            --out $W/$run.gguf || echo "sweep: $run not exported"
    done
    echo "sweep: done $(date -u +%T)"
    ;;
compare)
    passes=$1
    shift
    while kill -0 "$(cat $W/sweep.pid 2>/dev/null)" 2>/dev/null; do sleep 2; done
    tail -n 20 $W/sweep.log
    logs=$(for r in "$@"; do echo $r.log $r/curve.json; done)
    set -- $(for r in "$@"; do [ -f $W/$r.gguf ] && echo "--gguf $W/$r.gguf"; done)
    python3 $T/train.py compare --gguf $REF "$@" --data $W/data --passes $passes --seed 1 --batch 32 \
        ${ROWS:+--rows $ROWS} --json $W/sweep.eval.json --tokenizer $TOK --train-rows ${TRAIN_ROWS:-64} 2>&1 | tee $W/sweep.eval.log
    mkdir -p $OUT
    (cd $W && tar czf $OUT/sweep.tgz sweep.log sweep.eval.json sweep.eval.log $logs 2>/dev/null) || true
    ls -la $OUT
    ;;
*)
    echo "unknown phase $phase" >&2
    exit 2
    ;;
esac
