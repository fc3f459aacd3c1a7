/* bd3.c: the bd3 command-line tool: subcommand table, option parsing and help. Depends on bd3.h,
 * cli.h and libc/POSIX only. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const cli_cmd cli_cmds[] = {
    {"info", 0, 1, "[MODEL]", "model metadata, sizes, parameters and sampler defaults",
     "  MODEL                 the model file (the same as -m MODEL)\n", cmd_info},
    {"tokenize", 0, 1, "[FILE]", "print the token ids of FILE (standard input without FILE)",
     "  FILE                  text to tokenize; '-' or none: standard input\n", cmd_tokenize},
    {"logits", CLI_OPT_IDS | CLI_OPT_MODE | CLI_OPT_STREAM | CLI_OPT_OUTPUT, 0,
     "--ids LIST --mode global|block:B [--stream] [-o FILE]",
     "raw logits of one model pass (float32 rows to FILE, text rows without -o)",
     "      --ids LIST        comma-separated token ids; 'mask' stands for the mask token\n"
     "      --mode MODE       'global' (everyone sees everyone) or 'block:B' (block-causal)\n"
     "      --stream          block:B through the KV cache, block by block (commit passes)\n"
     "  -o, --output FILE     write raw float32 rows [n, n_vocab] to FILE instead of text\n",
     cmd_logits},
    {"generate",
     CLI_OPT_PROMPT | CLI_OPT_MAXNEW | CLI_OPT_BLOCK | CLI_OPT_NOCACHE | CLI_OPT_ECHO | CLI_OPT_SAMPLER |
         CLI_OPT_SEED,
     1, "[-p TEXT | FILE] [-n N] [--block B] [--no-cache] [--echo]",
     "continue a prompt block by block with the KV cache",
     "  -p, --prompt TEXT     the prompt (default: empty, which starts a new document)\n"
     "  FILE                  read the prompt from FILE ('-': standard input)\n"
     "  -n, --max-new N       tokens to write at most (default 128); stops earlier at\n"
     "                        end-of-text or degenerate repetition\n"
     "      --block B         block length (default: the model's preferred one)\n"
     "      --no-cache        recompute the context every call (same tokens, slower)\n"
     "      --echo            print the prompt before the continuation\n"
     "  On a terminal, control bytes of the text are shown as \\xNN; a pipe or file gets the\n"
     "  exact bytes.\n",
     cmd_generate},
    {"infill",
     CLI_OPT_RANGE | CLI_OPT_FIND | CLI_OPT_LENGTH | CLI_OPT_FIT | CLI_OPT_OUTPUT | CLI_OPT_SAMPLER |
         CLI_OPT_SEED,
     1, "(--range SPAN | --find TEXT) [--length N] [--fit N] [-o OUT] FILE",
     "regenerate a span of FILE with context on both sides; prints the whole file",
     "      --range SPAN      the span: START:END byte offsets (END exclusive), or\n"
     "                        L1:C1-L2:C2 lines and columns (from 1, columns in bytes, the\n"
     "                        end position just after the span)\n"
     "      --find TEXT       the span: the first occurrence of TEXT in FILE\n"
     "                        The span is widened to whole tokens of FILE (a span that starts\n"
     "                        after a word's leading space takes the space too).\n"
     "      --length N        tokens to write (default: the span's own token count)\n"
     "      --fit N           also try every length up to N tokens shorter and longer than\n"
     "                        that (at least 1), score each fill with the 8 tokens on each\n"
     "                        side of it by its NELBO per byte and keep the likeliest, as\n"
     "                        bd3ed's infill-fit does (default 0: off; at most n_ctx / 4)\n"
     "  -o, --output FILE     write the result to FILE instead of standard output\n"
     "  On a terminal, control bytes are shown as \\xNN; a pipe or -o gets the exact bytes.\n",
     cmd_infill},
    {"revise",
     CLI_OPT_RANGE | CLI_OPT_FIND | CLI_OPT_FRACTION | CLI_OPT_OUTPUT | CLI_OPT_SAMPLER | CLI_OPT_SEED, 1,
     "[--range SPAN | --find TEXT] [--fraction X] [-o OUT] FILE",
     "remask the least confident tokens of a span of FILE and regenerate them",
     "      --range SPAN      the span to revise (default: the whole file): START:END bytes\n"
     "                        or L1:C1-L2:C2 lines and columns, as for infill\n"
     "      --find TEXT       the span: the first occurrence of TEXT in FILE\n"
     "      --fraction X      share of the span's tokens remasked, (0, 1] (default: the\n"
     "                        model's bd3lm.sampler.revise_fraction, else 0.3)\n"
     "  -o, --output FILE     write the result to FILE instead of standard output\n"
     "  Each token's confidence comes from a scoring pass; a long span is revised a window\n"
     "  at a time. On a terminal, control bytes are shown as \\xNN; a pipe or -o gets the\n"
     "  exact bytes.\n",
     cmd_revise},
    {"score", CLI_OPT_FORMAT | CLI_OPT_STRIDE | CLI_OPT_AR, 1,
     "[--format plain|tsv|json|ansi] [--stride K | --ar] [FILE]", "per-token confidence of existing text",
     "  FILE                  text to score; '-' or none: standard input\n"
     "      --format NAME     plain (p and token per line), tsv, json, or ansi (coloured text;\n"
     "                        the default on a terminal, plain otherwise)\n"
     "      --stride K        mask every K-th token per pass, K passes (default: the engine's)\n"
     "      --ar              exact left-to-right scoring for a model trained with block\n"
     "                        length 1: p of each token given the text before it (one pass\n"
     "                        through the KV cache); prints the total log p and perplexity\n",
     cmd_score},
    {"ppl", CLI_OPT_MODE | CLI_OPT_ROWS | CLI_OPT_SEED | CLI_OPT_REF, 1,
     "[--mode global|block:B] [--rows N] [--ref MODEL] FILE",
     "NELBO perplexity (upper bound) and bits per byte",
     "      --mode MODE       'global' or 'block:B' (default: the model's preferred block)\n"
     "      --rows N          evaluate the first N rows of n_ctx tokens (default: all)\n"
     "      --seed N          seed of the masking draws (default 0)\n"
     "      --ref MODEL       also score a reference model on the same rows, mode and masks\n"
     "                        and print the change of bits per byte against it (paired\n"
     "                        row by row, with its standard error, when both tokenize the\n"
     "                        file alike)\n",
     cmd_ppl},
    {"bench", CLI_OPT_BLOCK | CLI_OPT_SAMPLER | CLI_OPT_SEED, 0, "[--block B]",
     "speed figures of the engine on this machine",
     "      --block B         block length of the continuation figures\n"
     "      --seed N          seed of the random ids (default 0)\n"
     "  Sampler options set the sampler of the continuation and infill figures.\n",
     cmd_bench},
};
#define CLI_N_CMDS ((int)(sizeof cli_cmds / sizeof cli_cmds[0]))

enum {
    OPT_SEED = 1000,
    OPT_SAMPLER,
    OPT_STEPS,
    OPT_THRESHOLD,
    OPT_TEMPERATURE,
    OPT_TOP_P,
    OPT_TOP_K,
    OPT_IDS,
    OPT_MODE,
    OPT_STREAM,
    OPT_ROWS,
    OPT_BLOCK,
    OPT_RANGE,
    OPT_LENGTH,
    OPT_FORMAT,
    OPT_STRIDE,
    OPT_NOCACHE,
    OPT_ECHO,
    OPT_REFRESH,
    OPT_FIND,
    OPT_FRACTION,
    OPT_AR,
    OPT_COMPUTE,
    OPT_REF,
    OPT_FIT,
};

static const struct option cli_long_opts[] = {
    {"model", required_argument, NULL, 'm'},
    {"threads", required_argument, NULL, 't'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"sampler", required_argument, NULL, OPT_SAMPLER},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"temperature", required_argument, NULL, OPT_TEMPERATURE},
    {"top-p", required_argument, NULL, OPT_TOP_P},
    {"top-k", required_argument, NULL, OPT_TOP_K},
    {"refresh", required_argument, NULL, OPT_REFRESH},
    {"compute", required_argument, NULL, OPT_COMPUTE},
    {"ids", required_argument, NULL, OPT_IDS},
    {"mode", required_argument, NULL, OPT_MODE},
    {"stream", no_argument, NULL, OPT_STREAM},
    {"output", required_argument, NULL, 'o'},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"ref", required_argument, NULL, OPT_REF},
    {"prompt", required_argument, NULL, 'p'},
    {"max-new", required_argument, NULL, 'n'},
    {"block", required_argument, NULL, OPT_BLOCK},
    {"range", required_argument, NULL, OPT_RANGE},
    {"find", required_argument, NULL, OPT_FIND},
    {"fraction", required_argument, NULL, OPT_FRACTION},
    {"length", required_argument, NULL, OPT_LENGTH},
    {"fit", required_argument, NULL, OPT_FIT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"stride", required_argument, NULL, OPT_STRIDE},
    {"ar", no_argument, NULL, OPT_AR},
    {"no-cache", no_argument, NULL, OPT_NOCACHE},
    {"echo", no_argument, NULL, OPT_ECHO},
    {NULL, 0, NULL, 0},
};

static const char cli_sampler_help[] =
    "Sampler options (defaults: the model's bd3lm.sampler.* metadata, else the built-in value\n"
    "shown; bd3ed uses the same defaults):\n"
    "      --seed N          random seed (default 0: a fresh seed each run, printed on stderr)\n"
    "      --sampler NAME    first-hitting (default), steps, confidence, margin or entropy\n"
    "      --steps N         steps per block or span (default 0: one per mask)\n"
    "      --threshold X     also keep every draw with confidence above X (ordered samplers;\n"
    "                        default 0: off)\n"
    "      --temperature X   divides the logits (default 1)\n"
    "      --top-p X         nucleus mass in (0, 1] (default 0.9; 1: off)\n"
    "      --top-k N         keep the N most probable tokens (default 0: off)\n"
    "      --refresh R       infill and revise: a full pass every R model calls, the span\n"
    "                        alone between (approximate window cache; default 32; 0: every\n"
    "                        call a full pass)\n";

static const char cli_common_help[] =
    "Common options:\n"
    "  -m, --model FILE      model file (default: $BD3_MODEL, then the model beside the\n"
    "                        executable, then the installed default.gguf)\n"
    "  -t, --threads N       worker threads (default: one per usable CPU, at most 64)\n"
    "  -q, --quiet           no progress bar and no summary on stderr\n"
    "      --compute MODE    matrix products: auto (default: Q8_0 weights in int8, F16/BF16\n"
    "                        ones in bf16 where the CPU has AVX512_BF16), f32 (float32\n"
    "                        throughout), q8 (every matrix in Q8_0 and int8) or bf16\n"
    "                        (F32/F16/BF16 matrices in bf16 on any CPU)\n"
    "  -h, --help            this help\n";

static void cli_usage(FILE *f)
{
    fprintf(f, "usage: bd3 COMMAND [OPTIONS] [ARGS]\n"
               "       bd3 --version     print the version and exit\n\nCommands:\n");
    for (int i = 0; i < CLI_N_CMDS; i++) fprintf(f, "  %-9s %s\n", cli_cmds[i].name, cli_cmds[i].help);
    fprintf(f, "\n%s\nRun 'bd3 COMMAND --help' for the options of a command; 'man bd3' for more.\n",
            cli_common_help);
}

static void cli_cmd_usage(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: bd3 %s [-m MODEL] %s\n%s\n\nOptions of %s:\n%s\n", cmd->name, cmd->usage, cmd->help,
            cmd->name, cmd->options);
    if (cmd->accepts & CLI_OPT_SAMPLER) fprintf(f, "%s\n", cli_sampler_help);
    fputs(cli_common_help, f);
}

static int cli_parse_long(const cli_opts *o, const char *name, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error(o, "%s: expected an integer from %ld to %ld, got '%s'", name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int cli_parse_double(const cli_opts *o, const char *name, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        cli_error(o, "%s: expected a number, got '%s'", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Maps an option code to the CLI_OPT_* bit it needs (0: a common option). */
static unsigned cli_opt_bit(int code)
{
    switch (code) {
    case OPT_IDS: return CLI_OPT_IDS;
    case OPT_MODE: return CLI_OPT_MODE;
    case OPT_STREAM: return CLI_OPT_STREAM;
    case 'o': return CLI_OPT_OUTPUT;
    case OPT_ROWS: return CLI_OPT_ROWS;
    case OPT_REF: return CLI_OPT_REF;
    case 'p': return CLI_OPT_PROMPT;
    case 'n': return CLI_OPT_MAXNEW;
    case OPT_BLOCK: return CLI_OPT_BLOCK;
    case OPT_RANGE: return CLI_OPT_RANGE;
    case OPT_LENGTH: return CLI_OPT_LENGTH;
    case OPT_FIT: return CLI_OPT_FIT;
    case OPT_FORMAT: return CLI_OPT_FORMAT;
    case OPT_STRIDE: return CLI_OPT_STRIDE;
    case OPT_NOCACHE: return CLI_OPT_NOCACHE;
    case OPT_ECHO: return CLI_OPT_ECHO;
    case OPT_FIND: return CLI_OPT_FIND;
    case OPT_FRACTION: return CLI_OPT_FRACTION;
    case OPT_AR: return CLI_OPT_AR;
    case OPT_SEED: return CLI_OPT_SEED;
    case OPT_SAMPLER:
    case OPT_STEPS:
    case OPT_THRESHOLD:
    case OPT_TEMPERATURE:
    case OPT_TOP_P:
    case OPT_TOP_K:
    case OPT_REFRESH: return CLI_OPT_SAMPLER;
    default: return 0;
    }
}

/* Parses argv (argv[0] is the subcommand). Returns -1 to exit with usage error, 1 for help. */
static int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd->name;
    bd3_sampler_params_init(&o->sp);
    o->block_len = -1;
    o->max_new = -1;
    o->length = -1;
    o->fraction = -1.0;
    optind = 1;
    opterr = 0;
    int code, li;
    long v;
    while ((li = -1, code = getopt_long(argc, argv, ":m:t:qho:p:n:", cli_long_opts, &li)) != -1) {
        if (code == '?') {
            if (optopt)
                cli_error(o, "unknown option -%c", optopt);
            else
                cli_error(o, "unknown option %s", argv[optind - 1]);
            return -1;
        }
        if (code == ':') {
            cli_error(o, "option %s needs an argument", argv[optind - 1]);
            return -1;
        }
        unsigned bit = cli_opt_bit(code);
        if (bit && !(cmd->accepts & bit)) {
            /* the option's name, not its value (argv[optind - 1] is the value of "--fit 2") */
            if (li >= 0)
                cli_error(o, "option --%s does not apply to this command", cli_long_opts[li].name);
            else
                cli_error(o, "option -%c does not apply to this command", code);
            return -1;
        }
        switch (code) {
        case 'm': o->model = optarg; break;
        case 't':
            if (cli_parse_long(o, "-t", optarg, 0, 1024, &v)) return -1;
            o->threads = (int)v;
            break;
        case 'q': o->quiet = 1; break;
        case 'h': return 1;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                cli_error(o, "--seed: expected a non-negative integer, got '%s'", optarg);
                return -1;
            }
            o->sp.seed = s;
            o->sp_given |= CLI_SP_SEED;
            break;
        }
        case OPT_SAMPLER:
            if (bd3_sampler_kind_parse(optarg, &o->sp.kind)) {
                cli_error(o,
                          "--sampler: unknown sampler '%s' (first-hitting, steps, confidence, "
                          "margin, entropy)",
                          optarg);
                return -1;
            }
            o->sp_given |= CLI_SP_KIND;
            break;
        case OPT_STEPS:
            if (cli_parse_long(o, "--steps", optarg, 0, 1 << 20, &v)) return -1;
            o->sp.steps = (int)v;
            o->sp_given |= CLI_SP_STEPS;
            break;
        case OPT_THRESHOLD:
            if (cli_parse_double(o, "--threshold", optarg, &o->sp.threshold)) return -1;
            if (o->sp.threshold < 0 || o->sp.threshold > 1) {
                cli_error(o, "--threshold: must be in [0, 1]");
                return -1;
            }
            o->sp_given |= CLI_SP_THRESHOLD;
            break;
        case OPT_TEMPERATURE:
            if (cli_parse_double(o, "--temperature", optarg, &o->sp.temperature)) return -1;
            if (!(o->sp.temperature > 0)) {
                cli_error(o, "--temperature: must be > 0");
                return -1;
            }
            o->sp_given |= CLI_SP_TEMPERATURE;
            break;
        case OPT_TOP_P:
            if (cli_parse_double(o, "--top-p", optarg, &o->sp.top_p)) return -1;
            if (!(o->sp.top_p > 0 && o->sp.top_p <= 1)) {
                cli_error(o, "--top-p: must be in (0, 1]");
                return -1;
            }
            o->sp_given |= CLI_SP_TOP_P;
            break;
        case OPT_TOP_K:
            if (cli_parse_long(o, "--top-k", optarg, 0, INT_MAX, &v)) return -1;
            o->sp.top_k = (int)v;
            o->sp_given |= CLI_SP_TOP_K;
            break;
        case OPT_REFRESH:
            if (cli_parse_long(o, "--refresh", optarg, 0, INT_MAX, &v)) return -1;
            o->sp.refresh = (int)v;
            o->sp_given |= CLI_SP_REFRESH;
            break;
        case OPT_COMPUTE:
            if (bd3_compute_parse(optarg, &o->compute)) {
                cli_error(o, "--compute: expected auto, f32, q8 or bf16, got '%s'", optarg);
                return -1;
            }
            break;
        case OPT_IDS: o->ids = optarg; break;
        case OPT_MODE:
            if (cli_parse_mode(optarg, &o->block_len)) {
                cli_error(o, "--mode: expected 'global' or 'block:B', got '%s'", optarg);
                return -1;
            }
            break;
        case OPT_STREAM: o->stream = 1; break;
        case 'o': o->output = optarg; break;
        case OPT_ROWS:
            if (cli_parse_long(o, "--rows", optarg, 1, INT_MAX, &v)) return -1;
            o->rows = (int)v;
            break;
        case OPT_REF: o->ref = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'n':
            if (cli_parse_long(o, "-n", optarg, 0, 1 << 24, &v)) return -1;
            o->max_new = (int)v;
            break;
        case OPT_BLOCK:
            if (cli_parse_long(o, "--block", optarg, 1, 1 << 20, &v)) return -1;
            o->block_len = (int)v;
            break;
        case OPT_RANGE: o->range = optarg; break;
        case OPT_FIND:
            if (!optarg[0]) {
                cli_error(o, "--find: the text to find is empty");
                return -1;
            }
            o->find = optarg;
            break;
        case OPT_FRACTION:
            if (cli_parse_double(o, "--fraction", optarg, &o->fraction)) return -1;
            if (!(o->fraction > 0 && o->fraction <= 1)) {
                cli_error(o, "--fraction: must be in (0, 1]");
                return -1;
            }
            break;
        case OPT_AR: o->ar = 1; break;
        case OPT_LENGTH:
            if (cli_parse_long(o, "--length", optarg, 0, 1 << 20, &v)) return -1;
            o->length = (int)v;
            break;
        case OPT_FIT:
            if (cli_parse_long(o, "--fit", optarg, 0, 1 << 20, &v)) return -1;
            o->fit = (int)v;
            break;
        case OPT_FORMAT: o->format = optarg; break;
        case OPT_STRIDE:
            if (cli_parse_long(o, "--stride", optarg, 1, 1 << 20, &v)) return -1;
            o->stride = (int)v;
            break;
        case OPT_NOCACHE: o->no_cache = 1; break;
        case OPT_ECHO: o->echo = 1; break;
        default: cli_error(o, "unknown option %s", argv[optind - 1]); return -1;
        }
    }
    o->args = argv + optind;
    o->n_args = argc - optind;
    if (o->range && o->find) {
        cli_error(o, "give the span either with --range or with --find, not both");
        return -1;
    }
    if (o->n_args > cmd->max_args) {
        cli_error(o, "unexpected argument '%s'", o->args[cmd->max_args]);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("bd3 %s\n", BD3ED_VERSION);
        return CLI_EXIT_OK;
    }
    for (int i = 0; i < CLI_N_CMDS; i++) {
        if (strcmp(name, cli_cmds[i].name) != 0) continue;
        cli_opts o;
        int r = cli_parse(&cli_cmds[i], argc - 1, argv + 1, &o);
        if (r == 1) {
            cli_cmd_usage(&cli_cmds[i], stdout);
            return CLI_EXIT_OK;
        }
        if (r < 0) {
            fprintf(stderr, "usage: bd3 %s [-m MODEL] %s\n", cli_cmds[i].name, cli_cmds[i].usage);
            return CLI_EXIT_USAGE;
        }
        return cli_cmds[i].run(&o);
    }
    fprintf(stderr, "bd3: unknown command '%s'\n", name);
    cli_usage(stderr);
    return CLI_EXIT_USAGE;
}
