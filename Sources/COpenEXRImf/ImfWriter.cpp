// The Imf (OpenEXR C++) writer behind COpenEXRImf.h; every exception stops here.
#include "COpenEXRImf.h"

#include <ImfChannelList.h>
#include <ImfCompression.h>
#include <ImfFrameBuffer.h>
#include <ImfHeader.h>
#include <ImfName.h>
#include <ImfOutputFile.h>
#include <ImfStdIO.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>

namespace {

void copyMessage(const char* text, char* message, size_t capacity) {
    if (message == nullptr || capacity == 0) return;
    std::strncpy(message, text, capacity - 1);
    message[capacity - 1] = '\0';
}

void write(const char* path, int32_t width, int32_t height, int32_t channelCount, const char* const* names,
           const uint16_t* const* planes, copenexrimf_compression compression) {
    if (width <= 0 || height <= 0 || channelCount <= 0) throw std::invalid_argument("an image needs pixels and channels");
    Imf::Header header(width, height);  // windows (0 0) - (w-1 h-1), increasing y, aspect 1, as OpenEXRCore's
    switch (compression) {
        case COPENEXRIMF_DWAA: header.compression() = Imf::DWAA_COMPRESSION; break;
        case COPENEXRIMF_DWAB: header.compression() = Imf::DWAB_COMPRESSION; break;
        default: throw std::invalid_argument("unknown compression " + std::to_string(int(compression)));
    }
    Imf::FrameBuffer frame;
    const size_t rowBytes = 2 * size_t(width);
    for (int32_t k = 0; k < channelCount; k++) {
        // Imf::Name silently cuts longer names to MAX_LENGTH; OpenEXRCore refuses them, so do the same.
        if (std::strlen(names[k]) > size_t(Imf::Name::MAX_LENGTH)) {
            throw std::invalid_argument("channel name '" + std::string(names[k]) + "' is longer than "
                                        + std::to_string(Imf::Name::MAX_LENGTH) + " bytes");
        }
        if (header.channels().findChannel(names[k]) != nullptr) {
            throw std::invalid_argument("channel name '" + std::string(names[k]) + "' is given twice");
        }
        header.channels().insert(names[k], Imf::Channel(Imf::HALF, 1, 1, false));
        // Imf reads from the slice but takes a char*.
        frame.insert(names[k], Imf::Slice(Imf::HALF, reinterpret_cast<char*>(const_cast<uint16_t*>(planes[k])), 2, rowBytes));
    }
    // The stream is ours: ~OutputFile writes the chunk offset table and swallows any error doing
    // so, which leaves the failbit set here.
    std::ofstream out(path, std::ios_base::binary | std::ios_base::trunc);
    if (!out) throw std::runtime_error(std::string("cannot open ") + path + ": " + std::strerror(errno));
    {
        Imf::StdOFStream stream(out, path);
        Imf::OutputFile file(stream, header);
        file.setFrameBuffer(frame);
        file.writePixels(height);
    }
    out.close();
    if (out.fail()) throw std::runtime_error(std::string("writing ") + path + " failed (the chunk offset table or the close)");
}

}  // namespace

extern "C" int copenexrimf_write_half(const char* path, int32_t width, int32_t height, int32_t channel_count,
                                      const char* const* names, const uint16_t* const* planes,
                                      copenexrimf_compression compression, char* message, size_t message_capacity) {
    try {
        write(path, width, height, channel_count, names, planes, compression);
        return 0;
    } catch (const std::exception& e) {
        copyMessage(e.what(), message, message_capacity);
    } catch (...) {
        copyMessage("an exception that is not a std::exception", message, message_capacity);
    }
    return -1;
}
