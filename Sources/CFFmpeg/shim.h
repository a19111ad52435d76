#pragma once
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libavutil/display.h>

// Swift cannot import function-like macros: re-export the ones we need.
static inline int cffmpeg_averror(int e) { return AVERROR(e); }
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int cffmpeg_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t cffmpeg_nopts(void) { return AV_NOPTS_VALUE; }
