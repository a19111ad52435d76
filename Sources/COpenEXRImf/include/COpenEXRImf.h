#pragma once
// A C interface to the one task VideoIO needs from OpenEXR's C++ library (Imf): writing a
// scanline file of half channels with a DWA compression, which OpenEXRCore 3.1 cannot encode
// ("DWA/A compression not yet implemented in C"). Swift calls it as a plain C function; no
// C++ type or exception crosses it.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The compressions this writer is used for (the others go through OpenEXRCore).
typedef enum {
    COPENEXRIMF_DWAA = 0,  /// 32 scanlines per block
    COPENEXRIMF_DWAB = 1,  /// 256 scanlines per block
} copenexrimf_compression;

/// Writes `path` (created or truncated) as one scanline part of `width` x `height` pixels, data
/// and display window (0 0) - (width-1 height-1), with `channel_count` half channels (sampling
/// 1 1, pLinear 0). `names[k]` is channel k's full name (`car.A`); `planes[k]` holds its
/// `width * height` half values row-major. Returns 0; or -1 with the library's message
/// (NUL-terminated, cut to `message_capacity` bytes) in `message` when it refuses or fails.
int copenexrimf_write_half(const char* path, int32_t width, int32_t height, int32_t channel_count,
                           const char* const* names, const uint16_t* const* planes,
                           copenexrimf_compression compression, char* message, size_t message_capacity);

#ifdef __cplusplus
}
#endif
