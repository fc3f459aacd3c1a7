/* cmd_info.c: `bd3 info`: model metadata, sizes, parameters and the sampler defaults the model
 * gives. Depends on bd3.h and cli.h. */
#include <string.h>
#include "cli.h"

int cmd_info(cli_opts *o)
{
    if (o->n_args == 1) o->model = o->args[0];
    bd3_model *m;
    bd3_ctx *c;
    int rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) return rc;
    const bd3_hparams *hp = bd3_model_hparams(m);
    /* the name comes from the file: on a terminal its control bytes are shown, not obeyed */
    const char *name = bd3_model_name(m);
    cli_out w;
    cli_out_init(&w, stdout);
    printf("name            ");
    cli_out_write(&w, name, strlen(name));
    cli_out_finish(&w);
    printf("\n");
    printf("file_bytes      %zu\n", bd3_model_file_size(m));
    printf("params          %zu\n", bd3_model_n_params(m));
    printf("f32_bytes       %zu\n", bd3_model_n_params(m) * 4);
    printf("n_vocab         %d\n", hp->n_vocab);
    printf("n_embd          %d\n", hp->n_embd);
    printf("backbone        %s\n", hp->prenorm ? "prenorm" : "dit");
    printf("n_head          %d\n", hp->n_head);
    printf("n_head_kv       %d\n", hp->n_head_kv);
    printf("head_dim        %d\n", hp->head_dim);
    printf("n_layer         %d\n", hp->n_layer);
    printf("n_ff            %d\n", hp->n_ff);
    printf("n_ctx           %d\n", hp->n_ctx);
    printf("norm_eps        %g\n", hp->norm_eps);
    printf("rope_base       %g\n", hp->rope_base);
    printf("mask_id         %d\n", hp->mask_id);
    printf("eos_id          %d\n", hp->eos_id);
    printf("block_lengths  ");
    for (int i = 0; i < hp->n_block_lengths; i++)
        printf(" %d%s", hp->block_lengths[i], hp->block_lengths[i] == hp->n_ctx ? "(global)" : "");
    printf("\n");
    printf("default_block   %d\n", bd3_model_default_block(m));
    printf("sub_block       %d\n", hp->sub_block);
    printf("logit_shift     %d\n", hp->logit_shift);
    printf("global_trained  %s\n", bd3_model_has_global(m) ? "yes" : "no");
    printf("ctx_bytes       %zu\n", bd3_ctx_bytes(c));
    /* the defaults every front end starts from (built-in, or this model's metadata) */
    bd3_defaults d;
    bd3_model_defaults(m, &d);
    printf("sampler         %s\n", bd3_sampler_kind_name(d.sampler.kind));
    printf("steps           %d\n", d.sampler.steps);
    printf("threshold       %g\n", d.sampler.threshold);
    printf("temperature     %g\n", d.sampler.temperature);
    printf("top_p           %g\n", d.sampler.top_p);
    printf("top_k           %d\n", d.sampler.top_k);
    printf("refresh         %d\n", d.sampler.refresh);
    printf("revise_fraction %g\n", d.revise_fraction);
    if (fflush(stdout) != 0) {
        cli_error(o, "cannot write the output");
        rc = CLI_EXIT_FAIL;
    }
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
