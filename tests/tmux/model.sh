# model.sh: model set-up for the tmux tests of the model keys (sourced after lib.sh; POSIX sh).
# Uses the default model when it exists, else generates a small random fixture model into
# $BUILD/fixtures (numpy); skips (exit 77) when neither can be had. model_config writes the
# editor's config file with the model and any further "name = value" lines given.

PYTHON=${PYTHON:-/usr/bin/python3}

# fixture_model NAME N_EMBD N_LAYER N_CTX BLOCKS: path of a random model, generated when absent.
fixture_model() {
    f="$ROOT/$BUILD/fixtures/$1.gguf"
    if [ ! -f "$f" ]; then
        mkdir -p "$ROOT/$BUILD/fixtures"
        "$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT/tests/ref'); import make_fixture as f; \
f.random_model(sys.argv[1] + '.tmp', 300, $2, 4, $3, $4, 'f32', [$5], 5)" "$f" >/dev/null 2>&1 &&
            mv "$f.tmp" "$f" || { echo "cannot generate a fixture model: skipped"; exit 77; }
    fi
    echo "$f"
}

# pick_model small|slow: the default model, else a fixture (small: fast; slow: a job takes seconds).
pick_model() {
    if [ -n "$BD3_TEST_MODEL" ] && [ -f "$BD3_TEST_MODEL" ]; then
        MODEL=$BD3_TEST_MODEL
    elif [ -f "$ROOT/model/default.gguf" ]; then
        MODEL=$ROOT/model/default.gguf
    elif [ "$1" = slow ]; then
        MODEL=$(fixture_model slow_f32 256 4 512 "16, 512") || exit 77
    else
        MODEL=$(fixture_model tmux_f32 64 2 128 "8, 128") || exit 77
    fi
}

# model_config LINE...: the config file with the model and the given lines.
model_config() {
    mkdir -p "$WORK/config/bd3ed"
    {
        echo "model = $MODEL"
        echo "threads = 1"
        for l in "$@"; do echo "$l"; done
    } > "$WORK/config/bd3ed/config"
}
