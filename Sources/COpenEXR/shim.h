#pragma once
// OpenEXR's C library (OpenEXRCore, OpenEXR 3.x) and Imath's C half conversion.
#include <openexr.h>
#include <half.h>

// Swift cannot import initializer macros: re-export them as functions.
static inline exr_context_initializer_t copenexr_default_initializer(void) {
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    return init;
}

static inline exr_encode_pipeline_t copenexr_encode_pipeline(void) {
    exr_encode_pipeline_t pipe = EXR_ENCODE_PIPELINE_INITIALIZER;
    return pipe;
}

// The channel pointer lives in an anonymous union, which Swift imports awkwardly.
static inline void copenexr_set_encode_pointer(exr_coding_channel_info_t* c, const uint8_t* p) {
    c->encode_from_ptr = p;
}
