/* engine_wrap.h: prototypes of the engine calls a test program wraps at link time
 * (-Wl,--wrap=NAME in its .ldflags): __real_NAME is the engine's own, __wrap_NAME the program's
 * (each program defines the wraps its .ldflags names). Test-only. */
#ifndef BD3_TEST_ENGINE_WRAP_H
#define BD3_TEST_ENGINE_WRAP_H

#include "bd3.h"

bd3_status __real_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user);

bd3_status __real_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user);

bd3_status __real_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user);

bd3_status __real_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user);

#endif
